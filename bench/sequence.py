"""Time-series classification: the platform against aeon's MiniRocket at the same wall budget,
and against the published InceptionTime accuracies, on the sets aeon ships (no download).

Each dataset keeps its official train/test split. The platform gets what a user would give it:

- a univariate set as a wide CSV (one row per series, columns ``t0 … t{T-1}``, a ``label``
  column), with no ``--input-kind``: the data layer must detect the layout itself, and the
  default space then follows the input kind (``search_spaces/sequence.yaml``);
- a multivariate set as an ``.npz`` of ``(N, T, F)`` arrays;
- the official test split as ``test_data`` (``--test-data``); the platform validates on the
  official training rows as it would on any file of that size (``--validation auto``: K-fold
  cross-validation on these small sets, out-of-fold scores rank the trials).

``AutoML(time_budget_s=B, seed=s).fit(...)`` runs the whole flow (search, refit, one test
evaluation); its wall time includes data preparation and refit, not ``ray.init``.

``minirocket``: ``aeon.classification.convolution_based.MiniRocketClassifier`` (Dempster et al.
2021; 10,000 kernels and a ridge classifier, aeon's defaults) fitted on the official training
rows and scored once on the test rows, with ``random_state=s``; its wall time is well inside the
same budget ``B``. A first fit on 8 rows per dataset, not counted, lets numba compile first.

``inception_time (published)``: test accuracy of InceptionTime (an ensemble of five Inception
networks, 1500 epochs each) as published by its authors (H. Ismail Fawaz et al., DMKD 2020;
the per-dataset results files of the hfawaz/InceptionTime repository: UCR 2018 archive and
the UEA multivariate archive).

JapaneseVowels' series have 7 to 29 steps; both contenders get them padded to 29 steps (the
longest of both splits) by repeating each series' last value (aeon's MiniRocket and our arrays need one length).

``--smoke`` runs the same code on two tiny sets the bench makes (``SMOKE_SETS``: a univariate
one as a wide CSV, a multivariate one as ``.npz``), one trial of ``sequence.yaml`` cut to 2 epochs
of one pass each, so the test suite needs neither aeon nor minutes; MiniRocket runs on them only
where aeon is installed.

    python -m bench.sequence [--budget 120] [--seeds 0 1 2] [--datasets GunPoint BasicMotions] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.quality import Outcome

TSC_NETWORKS = ("fcn", "resnet1d", "inception_time")
DATASETS = ("GunPoint", "BasicMotions", "JapaneseVowels", "ItalyPowerDemand", "ArrowHead")
# Test accuracy published for InceptionTime (hfawaz/InceptionTime: results-InceptionTime-128.csv
# for the UCR 2018 sets, results-mts.csv for the UEA multivariate sets).
PUBLISHED_INCEPTION_TIME = {
    "BasicMotions": 1.0000, "JapaneseVowels": 0.9919, "GunPoint": 1.0000, "ArrowHead": 0.8457,
    "ItalyPowerDemand": 0.9650, "OSULeaf": 0.9421,
}


# The smoke sets: (training series, test series, steps, channels, classes).
SMOKE_SETS = {"SmokeUnivariate": (40, 20, 24, 1, 2), "SmokeMultivariate": (30, 15, 16, 3, 3)}


def aeon_installed() -> bool:
    """Whether aeon's MiniRocket can be imported (a bare ``aeon`` folder, e.g. numba's cache
    left by an uninstall, is not enough)."""
    try:
        import aeon.classification.convolution_based  # noqa: F401
    except ImportError:
        return False
    return True


def smoke_splits(name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """A tiny train and test split of noisy sine waves, one frequency per class (fixed seed)."""
    train_rows, test_rows, steps, channels, classes = SMOKE_SETS[name]
    rng = np.random.default_rng(0)
    out = []
    for rows in (train_rows, test_rows):
        labels = np.arange(rows) % classes
        phase = rng.uniform(0, 2 * np.pi, (rows, 1, channels))
        t = np.arange(steps).reshape(1, -1, 1)
        X = np.sin(2 * np.pi * (labels.reshape(-1, 1, 1) + 1) * t / steps + phase) + rng.normal(0, 0.1, (rows, steps, channels))
        out.append((X.astype(np.float32), np.array([f"class{label}" for label in labels])))
    return out


def load_splits(name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The official train and test splits of an aeon-bundled set as ``(N, T, F)`` float32 and
    string labels; series of unequal length are padded with their last value to the longest
    of both splits. A smoke set is made here instead."""
    if name in SMOKE_SETS:
        return smoke_splits(name)
    from aeon.datasets import load_classification

    splits = [load_classification(name, split=split) for split in ("train", "test")]
    length = max(x.shape[-1] for X, _ in splits for x in X)
    out = []
    for X, y in splits:
        if isinstance(X, list) or X.shape[-1] < length:
            X = np.stack([np.pad(x, ((0, 0), (0, length - x.shape[-1])), mode="edge") for x in X])
        out.append((np.asarray(X, dtype=np.float32).transpose(0, 2, 1), np.asarray(y).astype(str)))
    return out


def write_for_platform(name: str, folder: Path, X_train, y_train, X_test, y_test) -> tuple[str, str, str | None]:
    """The files a user would pass: wide CSVs for univariate sets, ``.npz`` arrays otherwise."""
    import pandas as pd

    if X_train.shape[2] == 1:
        paths = []
        for split, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
            frame = pd.DataFrame(X[:, :, 0], columns=[f"t{i}" for i in range(X.shape[1])])
            frame["label"] = y
            path = folder / f"{name}_{split}.csv"
            frame.to_csv(path, index=False)
            paths.append(str(path))
        return paths[0], paths[1], "label"
    for split, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        np.savez(folder / f"{name}_{split}.npz", X=X, y=y)
    return str(folder / f"{name}_train.npz"), str(folder / f"{name}_test.npz"), None


def smoke_space(folder: Path) -> str:
    """``search_spaces/sequence.yaml`` cut to 2 epochs of one pass each, for the smoke run."""
    from bench.common import narrowed_space

    return narrowed_space(folder, "sequence", {"epochs": 2, "min_steps_per_epoch": 1})


def run_platform(name: str, seed: int, budget_s: float, files, max_trials: int | None = None,
                 space: str | None = None) -> Outcome:
    """The whole flow through the Python API, with no input kind given and the default space
    (or ``space``)."""
    from automl.api import AutoML
    from automl.errors import AutoMLError

    train, test, target = files
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        narrowed = {"space": space} if space else {}  # else the default space, which follows the input kind
        automl = AutoML(target=target, test_data=test, time_budget_s=None if max_trials else budget_s,
                        num_trials=max_trials, seed=seed, wandb=False, report=False, output=Path(folder) / "run",
                        overwrite=True, **narrowed)
        try:
            result = automl.fit(train)
        except AutoMLError as error:
            return Outcome(name, "multiclass", seed, "automl", {"accuracy": float("nan")}, time.perf_counter() - started, 0,
                           {"note": str(error)})
        wall = time.perf_counter() - started
    board = result.leaderboard
    best, report = board.iloc[0], result.data_report
    tsc = board[board["architecture"].isin(TSC_NETWORKS)]
    return Outcome(name, result.data_report["task"], seed, "automl", {"accuracy": float(result.test_metrics["accuracy"])}, wall,
                   len(board), {
        "best_architecture": str(best.get("architecture", "")), "refit_epochs": int(result.best["refit_epochs"]),
        "final_model": str(result.best.get("final_model", "")),
        "input_kind": report["input_kind"], "input_view": report.get("input_view", ""),
        # What the search could see and spend: why a miss is a miss.
        # With folds every training row is scored out of fold; with a hold-out, the validation rows.
        "ranking_rows": int(report["split_rows"]["val"] or report["split_rows"]["train"]),
        "validation": report["split_method"], "best_val_accuracy": float(best["val_accuracy"]),
        "epochs_total": int(board["epochs_run"].sum()), "tsc_trials": len(tsc),
        "tsc_epochs_max": int(tsc["epochs_run"].max()) if len(tsc) else 0,
    })


def warm_up_minirocket(X_train, y_train) -> float:
    """Seconds of a first MiniRocket fit on a few rows: numba compiles its kernels once per
    process and input kind (uni- or multivariate), which is not part of fitting a dataset."""
    from aeon.classification.convolution_based import MiniRocketClassifier

    few = np.argsort(y_train, kind="stable")[np.linspace(0, len(y_train) - 1, 8).astype(int)]  # several classes
    started = time.perf_counter()
    MiniRocketClassifier(n_kernels=84, random_state=0).fit(X_train[few].transpose(0, 2, 1), y_train[few])
    return time.perf_counter() - started


def run_minirocket(name: str, seed: int, X_train, y_train, X_test, y_test) -> Outcome:
    from aeon.classification.convolution_based import MiniRocketClassifier

    started = time.perf_counter()
    model = MiniRocketClassifier(random_state=seed)
    model.fit(X_train.transpose(0, 2, 1), y_train)  # aeon takes (N, channels, T)
    accuracy = float((model.predict(X_test.transpose(0, 2, 1)) == y_test).mean())
    return Outcome(name, "multiclass" if len(set(y_train)) > 2 else "binary", seed, "minirocket", {"accuracy": accuracy},
                   time.perf_counter() - started)


def run(datasets: list[str], seeds: list[int], budget_s: float, max_trials: int | None = None,
        smoke: bool = False) -> list[Outcome]:
    import logging

    from bench.common import ray_running

    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    outcomes: list[Outcome] = []
    minirocket = aeon_installed()
    with ray_running(num_cpus=None), tempfile.TemporaryDirectory() as folder:
        space = smoke_space(Path(folder)) if smoke else None
        for name in datasets:
            (X_train, y_train), (X_test, y_test) = load_splits(name)
            print(f"{name}: train {X_train.shape}, test {X_test.shape}, {len(set(y_train))} classes", flush=True)
            files = write_for_platform(name, Path(folder), X_train, y_train, X_test, y_test)
            if minirocket:
                print(f"{name}: MiniRocket warm-up (numba compilation, not counted) {warm_up_minirocket(X_train, y_train):.1f} s",
                      flush=True)
            for seed in seeds:
                done = len(outcomes)
                if minirocket:
                    outcomes.append(run_minirocket(name, seed, X_train, y_train, X_test, y_test))
                outcomes.append(run_platform(name, seed, budget_s, files, max_trials, space))
                for outcome in outcomes[done:]:
                    print(f"{name} seed {seed} {outcome.contender}: {outcome.metrics['accuracy']:.4f} ({outcome.wall_s:.1f} s) "
                          f"{outcome.detail}", flush=True)
    return outcomes


def summarise(outcomes: list[Outcome]) -> list[dict]:
    """One row per dataset: each contender's mean ± std over seeds, the published figure, the gap."""
    from bench.results import mean_std

    rows = []
    for name in dict.fromkeys(o.dataset for o in outcomes):
        row = {"dataset": name, "inception_time_published": PUBLISHED_INCEPTION_TIME.get(name)}
        for contender in ("automl", "minirocket"):
            group = [o for o in outcomes if o.dataset == name and o.contender == contender]
            if not group:  # MiniRocket without aeon
                row[f"{contender}_mean"] = row[f"{contender}_std"] = row[f"{contender}_wall_s"] = float("nan")
                continue
            row[f"{contender}_mean"], row[f"{contender}_std"] = mean_std([o.metrics["accuracy"] for o in group])
            row[f"{contender}_wall_s"] = mean_std([o.wall_s for o in group])[0]
        platform = [o for o in outcomes if o.dataset == name and o.contender == "automl"]
        row["automl_trials"] = mean_std([o.trials or 0 for o in platform])[0]
        row["automl_best"] = ", ".join(sorted({o.detail.get("best_architecture", "?") for o in platform}))
        references = [r for r in (row["minirocket_mean"], row["inception_time_published"]) if r is not None and r == r]
        reference = max(references) if references else float("nan")
        row["target"] = reference - 0.02
        row["gap"] = row["automl_mean"] - reference
        rows.append(row)
    return rows


def to_markdown(figures: dict) -> str:
    from bench.results import markdown_table

    if "missing" in figures:
        return f"**not measured: {figures['missing']}.**"

    searches = (f"Smoke size: each search ran {figures['max_trials']} trial(s) of `sequence.yaml` cut to 2 epochs, without "
                "a time budget; tiny sets the bench makes" if figures.get("max_trials") else
                f"Budget: {figures['budget_s']:g} s of search per dataset and seed; official train/test splits of the sets "
                "aeon ships")
    lines = [
        f"{searches}; seeds {figures['seeds']}; mean ± std "
        "(ddof=1) over seeds. automl: default space, no `--input-kind` (univariate sets as wide CSVs, "
        "multivariate as .npz), wall time with data preparation, refit and test. MiniRocket: aeon's defaults. "
        "InceptionTime: its authors' published test accuracy. Target: within 2 points of the better of "
        "MiniRocket and InceptionTime.",
        "",
    ]
    header = ["dataset", "automl", "automl wall s", "trials", "best architectures", "minirocket", "minirocket wall s",
              "InceptionTime (published)", "automl − best reference", "target met"]
    body = []
    for r in figures["summary"]:
        published = r["inception_time_published"]
        measured = r["minirocket_mean"] == r["minirocket_mean"]  # NaN: not run
        body.append([
            r["dataset"], f"{r['automl_mean']:.4f} ± {r['automl_std']:.4f}", f"{r['automl_wall_s']:.1f}",
            f"{r['automl_trials']:.1f}", r["automl_best"],
            f"{r['minirocket_mean']:.4f} ± {r['minirocket_std']:.4f}" if measured else "not measured",
            f"{r['minirocket_wall_s']:.1f}" if measured else "", "" if published is None else f"{published:.4f}",
            "" if r["gap"] != r["gap"] else f"{r['gap']:+.4f}",
            "n/a" if r["target"] != r["target"] else ("yes" if r["automl_mean"] >= r["target"] else "no"),
        ])
    lines += [markdown_table(header, body), ""]
    if not any(o["contender"] == "minirocket" for o in figures["outcomes"]):
        lines += ["MiniRocket: not measured: aeon is not installed (`pip install -e '.[bench]'` installs it).", ""]
    searched = [o for o in figures["outcomes"] if o["contender"] == "automl" and "ranking_rows" in o["detail"]]
    if searched:
        lines += ["What each search had (mean over seeds): the rows whose (out-of-fold or validation) scores rank "
                  "the trials, trials, epochs trained by all trials together, trials of FCN/ResNet/InceptionTime and "
                  "the most epochs one of them ran, the best trial's validation accuracy and the epochs of its final "
                  "model (the best epoch of a bag of fold models, or the epochs of a refit).", ""]
        diagnostics = []
        for name in dict.fromkeys(o["dataset"] for o in searched):
            group = [o["detail"] for o in searched if o["dataset"] == name]
            mean = lambda key: sum(d[key] for d in group) / len(group)  # noqa: E731
            diagnostics.append([name, f"{mean('ranking_rows'):.0f}", f"{sum(o['trials'] for o in searched if o['dataset'] == name) / len(group):.1f}",
                                f"{mean('epochs_total'):.0f}", f"{mean('tsc_trials'):.1f}", f"{mean('tsc_epochs_max'):.1f}",
                                f"{mean('best_val_accuracy'):.3f}", f"{mean('refit_epochs'):.1f}"])
        lines += [markdown_table(["dataset", "ranking rows", "trials", "epochs, all trials", "FCN/ResNet/Inception trials",
                                  "their most epochs", "best val accuracy", "final model epochs"], diagnostics), ""]
    validated = sorted({f"{o['dataset']}: {o['detail']['validation']}" for o in searched if o["detail"].get("validation")})
    if validated:
        lines += ["How each search split its rows: " + "; ".join(validated) + ".", ""]
    views = sorted({f"{o['dataset']}: {o['detail']['input_view']}" for o in figures["outcomes"]
                    if o["contender"] == "automl" and o["detail"].get("input_view")})
    if views:
        lines += ["How the platform read each file: " + "; ".join(views) + ".", ""]
    notes = [f"{o['dataset']}/{o['seed']}: {o['detail']['note']}" for o in figures["outcomes"] if "note" in o["detail"]]
    if notes:
        lines += ["Searches without a result: " + "; ".join(notes) + ".", ""]
    lines += ["Per seed: " + "; ".join(
        f"{o['dataset']}/{o['seed']}/{o['contender']} {o['metrics']['accuracy']:.4f}"
        + (f" ({o['detail'].get('best_architecture', '')}, {o['trials']} trials; final model: "
           f"{o['detail'].get('final_model') or 'refit'})" if o["contender"] == "automl" else "")
        for o in figures["outcomes"]) + "."]
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # 120 s, the quality bench's and the demo's budget: at 60 s cross-validated CNN trials on one
    # CPU each finish a few epochs (GunPoint 0.840 at 60 s, 0.9933 at 120 s; bench/RESULTS.md).
    parser.add_argument("--budget", type=float, default=120.0, help="search seconds per dataset and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(PUBLISHED_INCEPTION_TIME))
    parser.add_argument("--smoke", action="store_true", help="two tiny sets the bench makes, one seed, 1 short trial per search")
    args = parser.parse_args(argv)
    if args.smoke:
        args.datasets, args.seeds = list(SMOKE_SETS), [0]
    elif not aeon_installed():  # `make bench` installs the bench extra; a bare `python -m bench` may lack it
        figures = {"missing": "aeon is not installed: `pip install -e '.[bench]'` (or `make bench`) installs it"}
        print(figures["missing"])
        return figures
    max_trials = 1 if args.smoke else None

    from bench.common import machine

    outcomes = run(args.datasets, args.seeds, args.budget, max_trials, smoke=args.smoke)
    figures = {"machine": machine(), "budget_s": args.budget, "seeds": args.seeds, "datasets": args.datasets,
               "max_trials": max_trials, "outcomes": [o.__dict__ for o in outcomes], "summary": summarise(outcomes)}
    print(to_markdown(figures))
    print(json.dumps({"summary": figures["summary"]}, default=str))
    return figures


if __name__ == "__main__":
    main()
