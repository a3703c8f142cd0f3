"""Clustering and generation against their scikit-learn baselines (issue 19, point 4).

Clustering: ``AutoML(task="cluster")`` with the default space (autoencoders, the ``features``
and ``pca`` views) on a labelled set, its label set aside; the saved model's cluster ids of
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

    python -m bench.unsupervised [--cluster-sets iris wine digits] [--generate-sets wine iris]
                                 [--seeds 0 1 2] [--cluster-trials 8] [--generate-trials 6]
                                 [--generate-epochs N] [--generate-architectures mixture_vae ...]

Prints a JSON line per run and Markdown tables (mean ± std over seeds) for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np


def labelled(name: str):
    """A built-in labelled set as a frame with its label in column ``label``."""
    from sklearn import datasets

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

    return prepare_data(labelled(name)[0], DataConfig(target="label", task=task, seed=seed))


def kmeans_same_rows(name: str, seed: int, prepared) -> dict:
    """KMeans, k in 2..8 by silhouette, fitted on the platform's prepared train+val rows of the
    same split; ARI of every row's assigned cluster against the labels."""
    from sklearn.metrics import adjusted_rand_score

    frame, labels = labelled(name)
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


def cluster_run(name: str, seed: int, trials: int, out: str, prepared) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from automl import AutoML

    frame, labels = labelled(name)
    started = time.perf_counter()
    result = AutoML(task="cluster", target="label", num_trials=trials, seed=seed, output=os.path.join(out, f"c-{name}-{seed}"),
                    report=False, max_concurrent=1).fit(frame)
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
    import yaml

    from automl.space import find_space_file

    space = yaml.safe_load(find_space_file("generate").read_text())
    if epochs:
        space["epochs"] = epochs
    if architectures:
        space["architectures"] = {"include": architectures}
    path = os.path.join(out, "generate_space.yaml")
    with open(path, "w") as file:
        yaml.safe_dump(space, file)
    return path


def generate_run(name: str, seed: int, trials: int, out: str, space: str) -> dict:
    from automl import AutoML

    frame, _ = labelled(name)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster-sets", nargs="*", default=["iris", "wine", "digits"])
    parser.add_argument("--generate-sets", nargs="*", default=["wine", "iris"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--cluster-trials", type=int, default=8)
    parser.add_argument("--generate-trials", type=int, default=6)
    parser.add_argument("--generate-epochs", type=int, help="epochs of the generate space (default: generate.yaml's)")
    parser.add_argument("--generate-architectures", nargs="*", help="narrow the generate space to these architectures")
    args = parser.parse_args()

    from bench.common import machine, ray_running

    print(f"machine: {machine()}; load {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    rows: dict[tuple, list] = {}
    with ray_running(num_cpus=1), tempfile.TemporaryDirectory() as out:
        for name in args.cluster_sets:
            for seed in args.seeds:
                prepared = same_split(name, "cluster", seed)
                run = {"set": name, "seed": seed, "platform": cluster_run(name, seed, args.cluster_trials, out, prepared),
                       "kmeans": kmeans_baseline(*labelled(name), seed), "kmeans_same_rows": kmeans_same_rows(name, seed, prepared)}
                print(json.dumps({"cluster": run}), flush=True)
                rows.setdefault(("cluster", name), []).append(run)
        space = generate_space(out, args.generate_epochs, args.generate_architectures)
        for name in args.generate_sets:
            for seed in args.seeds:
                run = {"set": name, "seed": seed, "platform": generate_run(name, seed, args.generate_trials, out, space),
                       "gaussian_mixture": mixture_baseline(name, seed)}
                print(json.dumps({"generate": run}), flush=True)
                rows.setdefault(("generate", name), []).append(run)

    print("\n| set | platform ARI | KMeans ARI, same rows | KMeans ARI, every row | platform score "
          "| KMeans score, same rows | platform k | KMeans k, same rows | winning architectures |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (kind, name), runs in rows.items():
        if kind == "cluster":
            print(f"| {name} | {mean_std([r['platform']['ari'] for r in runs])} "
                  f"| {mean_std([r['kmeans_same_rows']['ari'] for r in runs])} | {mean_std([r['kmeans']['ari'] for r in runs])} "
                  f"| {mean_std([r['platform']['score_every_row'] for r in runs])} "
                  f"| {mean_std([r['kmeans_same_rows']['score_every_row'] for r in runs])} "
                  f"| {' '.join(str(r['platform']['k']) for r in runs)} "
                  f"| {' '.join(str(r['kmeans_same_rows']['k']) for r in runs)} "
                  f"| {', '.join(r['platform']['architecture'] for r in runs)} |")
    print("\n| set | platform AUC | GaussianMixture AUC | platform gap | GaussianMixture gap | winning architectures |")
    print("|---|---|---|---|---|---|")
    for (kind, name), runs in rows.items():
        if kind == "generate":
            p, g = [r["platform"] for r in runs], [r["gaussian_mixture"] for r in runs]
            print(f"| {name} | {mean_std([r['c2st_auc'] for r in p])} | {mean_std([r['c2st_auc'] for r in g])} "
                  f"| {mean_std([r['c2st_gap'] for r in p])} | {mean_std([r['c2st_gap'] for r in g])} "
                  f"| {', '.join(r['architecture'] for r in p)} |")


if __name__ == "__main__":
    main()
