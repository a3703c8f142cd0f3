"""Clustering and generation against their scikit-learn baselines (issue 19, point 4).

Clustering: ``AutoML(task="cluster")`` with the default space (autoencoders, the ``features``
and ``pca`` views) on a labelled set (``CLUSTER_SETS``), its label set aside; the saved model's cluster ids of
every row are scored by the adjusted Rand index (ARI) against the labels. Baselines: KMeans,
k in 2..8 chosen by the silhouette, the same ARI of every row's cluster id: on the
standardized features of every row (``kmeans``: it fits on the test rows too), and on the
platform's own split (``kmeans_same_rows``: fitted on the platform's prepared train+val rows,
then every row's prepared features assigned to its clusters, as the platform's model does).
Each run also reports the score of its clustering of every row (``score_every_row``): the
label-free measure the cluster task ranks by (``clustering_score`` in ``ranking_space``, the
prepared features clipped), on the same rows for the platform and ``kmeans_same_rows``.

Generation: ``AutoML(task="generate")`` with ``--space generate``; its test metric is the
classifier two-sample AUC of ``automl/tasks/generate.py`` (``two_sample_test``) between its
test rows and as many generated rows. Baseline: scikit-learn's GaussianMixture (full
covariances, 1..5 components chosen by BIC) fitted on the same prepared train+val rows of
the same split, sampled, snapped to the same column space and scored by the same test on the
same test rows. 0.5 is indistinguishable; the gap ``|AUC - 0.5|`` is what both minimize.

The cluster task's ranking rules (a cluster of under 1 % of the rows is outliers, each column
clipped to its [1 %, 99 %] quantiles, held-out rows alone scored from 200 of them) were found on
iris, wine and digits. ``breast_cancer`` (its diagnosis set aside) and ``blobs`` played no part
in them: ``blobs`` is a family of Gaussian blobs of unequal sizes and spreads, stretched along
random directions, one draw per seed, with its parameters fixed in ``BLOBS`` before it was
first run.

    python -m bench.unsupervised [--cluster-sets iris wine digits] [--generate-sets wine iris]
                                 [--seeds 0 1 2] [--cluster-trials 8] [--cluster-epochs N] [--generate-trials 6]
                                 [--generate-epochs N] [--generate-architectures mixture_vae ...] [--smoke]

(or ``python -m bench --only unsupervised``, which writes its tables into bench/RESULTS.md).
Prints a JSON line per run and Markdown tables (mean ± std over seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np


CLUSTER_SETS = ("iris", "wine", "digits", "breast_cancer", "blobs")
GENERATE_SETS = ("wine", "iris", "breast_cancer")

# The blobs family, fixed before its benchmark run: 1,500 rows in 5 blobs of unequal sizes and
# standard deviations in 8 dimensions (under 10 numbered columns, so read as a table), then
# stretched by a random rotation and axis scales 3 to 0.3, so no blob is round in the features.
# 225 validation rows: the rule that scores held-out rows alone from 200 of them applies.
# Centres in ±3, not ±8: at ±8 KMeans alone separated the blobs almost perfectly, a set no ranking
# rule could matter on; at ±3 the blobs overlap and choosing k by the silhouette is not trivial.
BLOBS = {"sizes": (600, 400, 250, 150, 100), "stds": (0.6, 1.0, 1.5, 2.0, 2.5), "features": 8, "center_box": (-3.0, 3.0),
         "axis_scales": (3.0, 0.3)}


def labelled(name: str, seed: int = 0):
    """A labelled set as a frame with its label in column ``label``: a built-in scikit-learn set,
    or ``blobs``, the family's draw for ``seed``."""
    import pandas as pd
    from sklearn import datasets

    if name == "blobs":
        X, labels = datasets.make_blobs(n_samples=list(BLOBS["sizes"]), n_features=BLOBS["features"],
                                        cluster_std=list(BLOBS["stds"]), center_box=BLOBS["center_box"], random_state=seed)
        rng = np.random.default_rng(seed)
        rotation, _ = np.linalg.qr(rng.normal(size=(BLOBS["features"], BLOBS["features"])))
        X = X @ rotation @ np.diag(np.geomspace(*BLOBS["axis_scales"], BLOBS["features"]))
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(BLOBS["features"])])
        frame["label"] = labels
        return frame, labels
    loaded = {"iris": datasets.load_iris, "wine": datasets.load_wine, "digits": datasets.load_digits,
              "breast_cancer": datasets.load_breast_cancer}[name](as_frame=True)
    frame = loaded.frame.rename(columns={"target": "label"})
    return frame, frame["label"].to_numpy()


def kmeans_by_silhouette(X: np.ndarray, seed: int):
    """``(fitted KMeans, its silhouette)`` for the k in 2..8 whose clustering of ``X`` has the best silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    fits = {k: KMeans(n_clusters=k, n_init=4, random_state=seed).fit(X) for k in range(2, 9)}
    scores = {k: silhouette_score(X, fit.labels_) for k, fit in fits.items()}
    k = max(scores, key=scores.get)
    return fits[k], float(scores[k])


def kmeans_baseline(frame, labels, seed: int) -> dict:
    """KMeans on standardized features, k in 2..8 by silhouette; ARI against the labels."""
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(frame.drop(columns="label").to_numpy(dtype=float))
    fit, silhouette = kmeans_by_silhouette(X, seed)
    return {"ari": float(adjusted_rand_score(labels, fit.labels_)), "k": fit.n_clusters, "silhouette": silhouette}


def same_split(name: str, task: str, seed: int):
    """The platform's prepared split of a built-in set: the rows and preprocessing its search uses."""
    from automl.config import DataConfig
    from automl.data import prepare_data

    return prepare_data(labelled(name, seed)[0], DataConfig(target="label", task=task, seed=seed))


def kmeans_same_rows(name: str, seed: int, prepared) -> dict:
    """KMeans, k in 2..8 by silhouette, fitted on the platform's prepared train+val rows of the
    same split; ARI of every row's assigned cluster against the labels."""
    from sklearn.metrics import adjusted_rand_score

    frame, labels = labelled(name, seed)
    X = np.concatenate([prepared.X_train, prepared.X_val]).reshape(-1, int(np.prod(prepared.input_shape))).astype(np.float64)
    fit, silhouette = kmeans_by_silhouette(X, seed)
    every_row = prepared_rows(prepared, frame)
    assigned = fit.predict(every_row)
    return {"ari": float(adjusted_rand_score(labels, assigned)), "k": fit.n_clusters, "silhouette": silhouette,
            "score_every_row": every_row_score(every_row, assigned)}


def every_row_score(rows: np.ndarray, assigned: np.ndarray) -> float:
    """The cluster task's ranking measure of a clustering of every row."""
    from automl.tasks.cluster import clustering_score, ranking_space

    return clustering_score(ranking_space(rows), assigned)


def prepared_rows(prepared, frame) -> np.ndarray:
    """Every row of ``frame`` (its label set aside) in the prepared feature space, flattened."""
    return prepared.features.transform(frame.drop(columns="label")).reshape(len(frame), -1).astype(np.float64)


def cluster_space(out: str, epochs: int | None) -> str | None:
    """``search_spaces/default.yaml`` with its epochs narrowed when asked (else None: the default)."""
    from bench.common import narrowed_space

    return narrowed_space(out, "default", {"epochs": epochs}) if epochs else None


def cluster_run(name: str, seed: int, trials: int, out: str, prepared, space: str | None = None) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from automl import AutoML

    frame, labels = labelled(name, seed)
    started = time.perf_counter()
    narrowed = {"space": space} if space else {}  # else the default space, chosen as a user's search chooses it
    result = AutoML(task="cluster", target="label", num_trials=trials, seed=seed, output=os.path.join(out, f"c-{name}-{seed}"),
                    report=False, max_concurrent=1, **narrowed).fit(frame)
    predicted = result.predict(frame.drop(columns="label"))
    board = result.leaderboard
    return {
        "ari": float(adjusted_rand_score(labels, predicted)), "k": int(result.test_metrics["n_clusters"]),
        "score_every_row": every_row_score(prepared_rows(prepared, frame), predicted),
        "architecture": str(board.loc[0, "architecture"]), "seconds": round(time.perf_counter() - started, 1),
        "best_by_architecture": board.groupby("architecture")["val_silhouette"].max().round(3).to_dict(),
    }


def mixture_baseline(name: str, seed: int) -> dict:
    """GaussianMixture (1..5 components by BIC) on the platform's prepared train+val rows."""
    from sklearn.mixture import GaussianMixture

    from automl.tasks.generate import held_out_rows, two_sample_test

    prepared = same_split(name, "generate", seed)
    X = np.concatenate([prepared.X_train, prepared.X_val]).astype(np.float64)
    fits = [GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=seed).fit(X) for k in range(1, 6)]
    best = min(fits, key=lambda fit: fit.bic(X))
    real = held_out_rows(prepared.X_test, seed)
    fake, _ = best.sample(len(real))
    fake = prepared.column_space.snap(fake[np.random.default_rng(seed).permutation(len(fake))].astype(np.float32))
    return {**two_sample_test(real, fake, seed), "components": best.n_components}


def generate_space(out: str, epochs: int | None, architectures: list[str] | None) -> str:
    """``search_spaces/generate.yaml``, with its epochs and architectures narrowed when asked."""
    from bench.common import narrowed_space

    changes = {"epochs": epochs} if epochs else {}
    if architectures:
        changes["architectures"] = {"include": architectures}
    return narrowed_space(out, "generate", changes)


def generate_run(name: str, seed: int, trials: int, out: str, space: str) -> dict:
    from automl import AutoML

    frame, _ = labelled(name, seed)
    started = time.perf_counter()
    result = AutoML(task="generate", target="label", space=space, num_trials=trials, seed=seed,
                    output=os.path.join(out, f"g-{name}-{seed}"), report=False, max_concurrent=1).fit(frame)
    board = result.leaderboard
    return {
        "c2st_auc": float(result.test_metrics["c2st_auc"]), "c2st_gap": float(result.test_metrics["c2st_gap"]),
        "architecture": str(board.loc[0, "architecture"]), "seconds": round(time.perf_counter() - started, 1),
        "best_by_architecture": board.groupby("architecture")["val_c2st_gap"].min().round(3).to_dict(),
    }


def mean_std(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def per_seed(values, signed: bool = False) -> str:
    return " ".join(f"{v:+.3f}" if signed else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in values)


def to_markdown(figures: dict) -> str:
    """The clustering and generation tables (mean ± std (ddof=1) over seeds, and per seed)."""
    from bench.results import markdown_table

    size = (f"Smoke size: {figures['cluster_trials']} cluster and {figures['generate_trials']} generate trial(s) per search"
            if figures["smoke"] else
            f"{figures['cluster_trials']} trials per cluster search, {figures['generate_trials']} per generate search")
    lines = [f"{size}, one at a time (Ray with 1 CPU); seeds {figures['seeds']}; spaces: cluster {figures['cluster_space']}, "
             f"generate {figures['generate_space']}. Searches are bound by trial count, not time: load changes only the "
             "seconds.", ""]
    clusters = [(name, runs) for (kind, name), runs in figures["runs"].items() if kind == "cluster"]
    if clusters:
        lines += ["**Clustering**: ARI of every row's cluster against the set's labels. KMeans (k in 2..8 by silhouette) "
                  "fitted on the platform's own train+val rows (\"same rows\") and on every row. \"score\" is the cluster "
                  "task's ranking measure of each clustering of every row.", ""]
        body = []
        for name, runs in clusters:
            platform, same_rows = [r["platform"] for r in runs], [r["kmeans_same_rows"] for r in runs]
            body.append([name, mean_std([p["ari"] for p in platform]), mean_std([k["ari"] for k in same_rows]),
                         mean_std([r["kmeans"]["ari"] for r in runs]), mean_std([p["score_every_row"] for p in platform]),
                         mean_std([k["score_every_row"] for k in same_rows]), per_seed([p["k"] for p in platform]),
                         per_seed([k["k"] for k in same_rows]), ", ".join(p["architecture"] for p in platform),
                         per_seed([p["ari"] - k["ari"] for p, k in zip(platform, same_rows)], signed=True),
                         f"{np.mean([p['seconds'] for p in platform]):.0f}"])
        lines += [markdown_table(["set", "platform ARI", "KMeans ARI, same rows", "KMeans ARI, every row", "platform score",
                                  "KMeans score, same rows", "platform k", "KMeans k, same rows", "chosen per seed",
                                  "platform − KMeans ARI (same rows) per seed", "search s"], body), ""]
    generated = [(name, runs) for (kind, name), runs in figures["runs"].items() if kind == "generate"]
    if generated:
        lines += ["**Generation**: the random-forest two-sample AUC between each seed's test rows and as many generated rows, "
                  "and its gap |AUC − 0.5| (lower is better), for the platform and a GaussianMixture (1..5 components by BIC) "
                  "fitted on the same prepared train+val rows.", ""]
        body = []
        for name, runs in generated:
            platform, mixture = [r["platform"] for r in runs], [r["gaussian_mixture"] for r in runs]
            body.append([name, mean_std([p["c2st_auc"] for p in platform]), mean_std([g["c2st_auc"] for g in mixture]),
                         mean_std([p["c2st_gap"] for p in platform]), mean_std([g["c2st_gap"] for g in mixture]),
                         per_seed([g["components"] for g in mixture]), ", ".join(p["architecture"] for p in platform),
                         per_seed([p["c2st_gap"] - g["c2st_gap"] for p, g in zip(platform, mixture)], signed=True),
                         f"{np.mean([p['seconds'] for p in platform]):.0f}"])
        lines += [markdown_table(["set", "platform AUC", "GaussianMixture AUC", "platform gap", "GaussianMixture gap",
                                  "GMM components (BIC)", "chosen per seed", "platform − GMM gap per seed", "search s"], body), ""]
    return "\n".join(lines).rstrip()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluster-sets", nargs="*", default=["iris", "wine", "digits"], choices=CLUSTER_SETS)
    parser.add_argument("--generate-sets", nargs="*", default=["wine", "iris"], choices=GENERATE_SETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--cluster-trials", type=int, default=8)
    parser.add_argument("--cluster-epochs", type=int, help="epochs of the cluster search's space (default: default.yaml's)")
    parser.add_argument("--generate-trials", type=int, default=6)
    parser.add_argument("--generate-epochs", type=int, help="epochs of the generate space (default: generate.yaml's)")
    parser.add_argument("--generate-architectures", nargs="*", help="narrow the generate space to these architectures")
    parser.add_argument("--smoke", action="store_true", help="blobs and iris, one seed, 1 trial of 1 epoch per search")
    args = parser.parse_args(argv)
    if args.smoke:
        args.cluster_sets, args.generate_sets, args.seeds = ["blobs"], ["iris"], [0]
        args.cluster_trials = args.generate_trials = args.cluster_epochs = args.generate_epochs = 1

    from bench.common import machine, ray_running

    print(f"machine: {machine()}; load {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    rows: dict[tuple, list] = {}
    with ray_running(num_cpus=1), tempfile.TemporaryDirectory() as out:
        clustering_space = cluster_space(out, args.cluster_epochs)
        for name in args.cluster_sets:
            for seed in args.seeds:
                prepared = same_split(name, "cluster", seed)
                run = {"set": name, "seed": seed,
                       "platform": cluster_run(name, seed, args.cluster_trials, out, prepared, clustering_space),
                       "kmeans": kmeans_baseline(*labelled(name, seed), seed),
                       "kmeans_same_rows": kmeans_same_rows(name, seed, prepared)}
                print(json.dumps({"cluster": run}), flush=True)
                rows.setdefault(("cluster", name), []).append(run)
        space = generate_space(out, args.generate_epochs, args.generate_architectures)
        for name in args.generate_sets:
            for seed in args.seeds:
                run = {"set": name, "seed": seed, "platform": generate_run(name, seed, args.generate_trials, out, space),
                       "gaussian_mixture": mixture_baseline(name, seed)}
                print(json.dumps({"generate": run}), flush=True)
                rows.setdefault(("generate", name), []).append(run)
    narrowed = [f"{args.generate_epochs} epochs" if args.generate_epochs else "",
                f"architectures {', '.join(args.generate_architectures)}" if args.generate_architectures else ""]
    figures = {"machine": machine(), "seeds": args.seeds, "smoke": args.smoke, "cluster_trials": args.cluster_trials,
               "generate_trials": args.generate_trials, "runs": rows,
               "cluster_space": f"default.yaml narrowed to {args.cluster_epochs} epochs" if args.cluster_epochs else "default.yaml",
               "generate_space": "generate.yaml" + (f" narrowed to {' and '.join(n for n in narrowed if n)}"
                                                    if any(narrowed) else " as shipped")}
    print(to_markdown(figures))
    return figures


if __name__ == "__main__":
    main()
