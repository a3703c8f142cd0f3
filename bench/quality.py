"""Search quality under a fixed wall budget: the platform against scikit-learn baselines, a peer
AutoML (FLAML) and a plain Ray Tune random search over a plain PyTorch MLP, on identical
train / val / test rows.

For each dataset and seed, the platform's data layer (``automl.data.prepare_data``, the same
DataConfig and seed the API uses) splits and preprocesses the data once; every contender sees
those rows and features:

- ``automl``: ``AutoML(space=default|image, time_budget_s=B, seed=s).fit(...)``, the whole flow
  with the platform's defaults (on these small tables: 5-fold cross-validated trials over
  train ∪ val, the portfolio first, TPE, an out-of-fold ensemble, the bag of fold models as
  final model; one test evaluation). Its ``optimism`` is how much better the winner scored on
  validation (out of fold) than on test, in the ranking metric: validation − test accuracy,
  or test − validation RMSE for regression;
- ``flaml``: ``flaml.AutoML().fit(train ∪ val, task, metric=accuracy|r2, time_budget=B, seed=s)``
  with FLAML's defaults otherwise (its estimators, its own choice of hold-out or CV, and its
  retrain of the best on all the rows it was given), scored once on test;
- scikit-learn with default parameters, fitted on train+val, scored once on test:
  SVC / SVR in a StandardScaler pipeline, HistGradientBoosting, LogisticRegression / Ridge in
  a StandardScaler pipeline (LogisticRegression with max_iter=1000, so it converges);
- ``plain_tune_mlp``: ``tune.Tuner`` random search (FIFO, Ray's defaults, the same budget B,
  1 CPU per trial) over a hand-written PyTorch MLP, best trial and epoch by validation,
  retrained on train+val for that many epochs, tested once.

Reports accuracy (classification) or R² and RMSE (regression), mean ± std over seeds, and wall
seconds per contender.

Digits twice, like for like: ``digits`` searches its 64 pixel columns as 1×8×8 images with the
``image`` space, ``digits_tabular`` the same columns as a table with the default space, as a
user who gives only the data gets it. Both use the same split of each seed (it depends on the
labels and the seed alone) and the same baselines on the same 64 columns. The image space and
the image portfolio were chosen on digits itself (``bench/digits_cnn.py``, ``bench/families.py``),
so ``digits`` is not a figure on unseen data; the tabular portfolio was chosen on other sets
(``bench/portfolio.py``).

    python -m bench.quality [--budget 120] [--seeds 0 1 2 3 4] [--datasets wine diabetes]
                            [--contenders automl flaml sklearn plain_tune] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATASETS = ("digits", "digits_tabular", "breast_cancer", "wine", "diabetes", "synthetic_classification",
            "synthetic_regression")
# Said beside a dataset's rows wherever its figures are shown.
DATASET_NOTES = {
    "digits": "searched as 1×8×8 images with the `image` space. The image space and the image portfolio were chosen on "
              "digits itself (`bench/digits_cnn.py`, `bench/families.py`): this is not a figure on unseen data.",
    "digits_tabular": "the same 64 pixel columns, split and baselines as `digits`, searched as a table with the default "
                      "space (its portfolio chosen on other sets, `bench/portfolio.py`), as a user who gives only the "
                      "data gets it.",
}
SYNTHETIC_ROWS, SYNTHETIC_FEATURES = 5000, 40


@dataclass(frozen=True)
class Dataset:
    """A benchmark dataset: what to pass to ``fit`` and the options a user would choose for it."""

    name: str
    source: object
    target: str | None = None
    space: str = "default"
    image_shape: tuple[int, ...] | None = None


def load_dataset(name: str) -> Dataset:
    """The bundled sets by name; the synthetic ones generated with a fixed seed (the split varies)."""
    if name == "digits":
        return Dataset(name, "digits", space="image", image_shape=(1, 8, 8))
    if name == "digits_tabular":
        return Dataset(name, "digits")
    if name in ("breast_cancer", "wine", "diabetes"):
        return Dataset(name, name)
    import pandas as pd
    from sklearn.datasets import make_classification, make_regression

    if name == "synthetic_classification":
        X, y = make_classification(n_samples=SYNTHETIC_ROWS, n_features=SYNTHETIC_FEATURES, n_informative=20,
                                   n_redundant=10, n_classes=3, n_clusters_per_class=2, flip_y=0.02, random_state=0)
    elif name == "synthetic_regression":
        X, y = make_regression(n_samples=SYNTHETIC_ROWS, n_features=SYNTHETIC_FEATURES, n_informative=20,
                               noise=20.0, random_state=0)
    else:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["target"] = y
    return Dataset(name, frame, target="target")


@dataclass
class Outcome:
    """One contender's test figures on one dataset and seed."""

    dataset: str
    task: str
    seed: int
    contender: str
    metrics: dict
    wall_s: float
    trials: int | None = None
    detail: dict = field(default_factory=dict)


def prepare(dataset: Dataset, seed: int, validation: str = "holdout"):
    """The split and preprocessing the platform itself makes for this dataset and seed, with a
    hold-out validation split for the contenders (the test rows are the same with folds);
    ``validation="auto"``: the platform's own validation (its folds on small tables)."""
    from automl.config import DataConfig
    from automl.data import prepare_data

    config = DataConfig(validation=validation, target=dataset.target, seed=seed, image_shape=dataset.image_shape)
    return prepare_data(dataset.source, config)


def test_metrics(prepared, outputs: np.ndarray, truth: np.ndarray | None = None) -> dict:
    """Accuracy, or R² and RMSE in the target's units, exactly as the platform scores its model
    (against the test split's targets, or ``truth``)."""
    from automl.tasks import task_named

    truth = prepared.y_test if truth is None else truth
    if prepared.task in ("binary", "multiclass"):
        predicted = outputs if outputs.ndim == 1 else outputs.argmax(axis=1)
        return {"accuracy": float((predicted == truth).mean())}
    scale = float(prepared.target_encoder.std_)
    metrics = task_named(prepared.task).score(np.asarray(outputs, dtype=np.float32).reshape(-1, 1), truth, scale)
    return {"r2": metrics["r2"], "rmse": metrics["rmse"]}


def validation_scores(model, selection) -> dict:
    """What the platform's validation would have said of a baseline: ``validation``, its
    out-of-fold score on the platform's own folds (each fold's preprocessing fitted on its fit
    rows), or its score on the hold-out validation split where the platform holds one out, in
    the metric the search ranks by (accuracy, or RMSE for regression); with folds also
    ``bag_test``, the test score of its K fold models' averaged outputs (the platform's final
    model with folds is such a bag: this says what fitting on 4/5 of the rows costs the baseline)."""
    from sklearn.base import clone

    classification = selection.task in ("binary", "multiclass")
    metric = "accuracy" if classification else "rmse"

    def outputs(fitted, X):
        if not classification:
            return fitted.predict(X)
        if not hasattr(fitted, "decision_function"):
            return fitted.predict_proba(X)
        scores = fitted.decision_function(X)
        return np.stack([-scores, scores], axis=1) if scores.ndim == 1 else scores

    if not selection.folds:
        fitted = clone(model).fit(flat(selection.X_train), selection.y_train.ravel())
        return {"validation": test_metrics(selection, outputs(fitted, flat(selection.X_val)), selection.y_val)[metric]}
    out_of_fold = np.empty((len(selection.y_train), selection.output_size if classification else 1))
    bag = 0.0
    for fold in selection.folds:
        rows = fold.variant(None)
        fitted = clone(model).fit(flat(rows.X_train), selection.y_train[fold.train].ravel())
        out_of_fold[fold.val] = outputs(fitted, flat(rows.X_val)).reshape(len(fold.val), -1)
        bag = bag + outputs(fitted, flat(rows.X_test)) / len(selection.folds)
    return {"validation": test_metrics(selection, out_of_fold, selection.y_train)[metric],
            "bag_test": test_metrics(selection, bag)[metric]}


def flat(X: np.ndarray) -> np.ndarray:
    """Rows as flat feature vectors (digits' 1×8×8 images as 64 columns)."""
    return X.reshape(len(X), -1)


def sklearn_baselines(prepared) -> dict:
    """Default-parameter scikit-learn models for the task, by contender name."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    if prepared.task in ("binary", "multiclass"):
        return {
            "svc": make_pipeline(StandardScaler(), SVC()),
            "hist_gradient_boosting": HistGradientBoostingClassifier(random_state=0),
            "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        }
    return {
        "svr": make_pipeline(StandardScaler(), SVR()),
        "hist_gradient_boosting": HistGradientBoostingRegressor(random_state=0),
        "ridge": make_pipeline(StandardScaler(), Ridge()),
    }


def run_baselines(dataset: str, seed: int, prepared, selection) -> list[Outcome]:
    """Fit each baseline on train+val, score it once on test; its ``validation`` detail is what
    the platform's own validation (``selection``: its folds or hold-out) says of it."""
    X_fit = np.concatenate([flat(prepared.X_train), flat(prepared.X_val)])
    y_fit = np.concatenate([prepared.y_train, prepared.y_val]).ravel()
    outcomes = []
    for name, model in sklearn_baselines(prepared).items():
        started = time.perf_counter()
        model.fit(X_fit, y_fit)
        predicted = model.predict(flat(prepared.X_test))
        wall = time.perf_counter() - started
        outcomes.append(Outcome(dataset, prepared.task, seed, name, test_metrics(prepared, predicted), wall,
                                detail=validation_scores(model, selection)))
    return outcomes


def run_platform(dataset: Dataset, seed: int, budget_s: float, prepared, max_trials: int | None = None) -> Outcome:
    """The whole platform flow through its Python API, as a user would call it (``max_trials``:
    that many trials without a budget instead, of the space cut to 2 epochs of one pass, for the
    smoke test)."""
    from automl.api import AutoML
    from automl.errors import AutoMLError
    from bench.common import narrowed_space

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        space = narrowed_space(folder, dataset.space, {"epochs": 2, "min_steps_per_epoch": 1}) if max_trials else dataset.space
        automl = AutoML(target=dataset.target, space=space, image_shape=dataset.image_shape,
                        time_budget_s=None if max_trials else budget_s, num_trials=max_trials, seed=seed, wandb=False,
                        output=Path(folder) / "run", overwrite=True)
        try:
            result = automl.fit(dataset.source)
        except AutoMLError as error:  # e.g. no trial finished an epoch within the budget: record it, go on
            nan = {k: float("nan") for k in test_metrics_keys(prepared.task)}
            return Outcome(dataset.name, prepared.task, seed, "automl", nan, time.perf_counter() - started, trials=0,
                           detail={"note": str(error)})
        wall = time.perf_counter() - started
    splits = result.data_report.get("split_rows")
    seen = {"train ∪ val": splits["train"] + splits["val"], "test": splits["test"]}
    expected = {"train ∪ val": len(prepared.y_train) + len(prepared.y_val), "test": len(prepared.y_test)}
    if seen != expected:  # every contender must see the rows the platform saw (folds divide train ∪ val)
        raise RuntimeError(f"{dataset.name}: the platform split {splits}, the baselines {expected}")
    metrics = {k: float(result.test_metrics[k]) for k in test_metrics_keys(prepared.task)}
    # Optimism: how much better the winner looked on validation than it is on test, in the
    # ranking metric (accuracy: validation − test; RMSE, lower is better: test − validation).
    validation = float(result.best[f"val_{result.metric}"])
    tested = float(result.test_metrics.get(result.metric, float("nan")))
    optimism = validation - tested if result.metric == "accuracy" else tested - validation
    best = result.leaderboard.iloc[0]
    return Outcome(dataset.name, prepared.task, seed, "automl", metrics, wall, trials=len(result.leaderboard),
                   detail={"best_architecture": str(best.get("architecture", "")), "refit_epochs": int(result.best["refit_epochs"]),
                           "validation": validation, "optimism": optimism, "optimism_metric": result.metric,
                           "folds": splits["val"] == 0})


def test_metrics_keys(task: str) -> tuple[str, ...]:
    """The test metrics reported for a task."""
    return ("accuracy",) if task in ("binary", "multiclass") else ("r2", "rmse")


def flaml_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("flaml") is not None


def run_flaml(dataset: str, seed: int, budget_s: float, prepared, max_trials: int | None = None) -> Outcome:
    """FLAML's AutoML with its defaults on train ∪ val (it chooses hold-out or CV itself and
    retrains its best on every row given), the same wall budget, scored once on test."""
    from flaml import AutoML as FLAML

    classification = prepared.task in ("binary", "multiclass")
    X_fit = np.concatenate([flat(prepared.X_train), flat(prepared.X_val)])
    y_fit = np.concatenate([prepared.y_train, prepared.y_val]).ravel()
    started = time.perf_counter()
    automl = FLAML()
    limits = {"max_iter": max_trials} if max_trials else {"time_budget": budget_s}
    automl.fit(X_fit, y_fit, task="classification" if classification else "regression",
               metric="accuracy" if classification else "r2", seed=seed, verbose=0, **limits)
    predicted = automl.predict(flat(prepared.X_test))
    wall = time.perf_counter() - started
    return Outcome(dataset, prepared.task, seed, "flaml", test_metrics(prepared, predicted), wall,
                   trials=len(automl.config_history), detail={"best_estimator": str(automl.best_estimator)})


def run_plain_tune(dataset: str, seed: int, budget_s: float, prepared, max_trials: int | None = None) -> Outcome:
    """The plain Ray Tune search over a plain MLP (``bench.plain_tune``) on the prepared rows."""
    from bench.plain_tune import search_and_refit

    classification = prepared.task in ("binary", "multiclass")
    X_train, X_val, X_test = (flat(x).astype(np.float32) for x in (prepared.X_train, prepared.X_val, prepared.X_test))
    shape_y = (lambda y: y.astype(np.int64)) if classification else (lambda y: y.astype(np.float32).reshape(-1, 1))
    started = time.perf_counter()
    outputs, trials, detail = search_and_refit(X_train, shape_y(prepared.y_train), X_val, shape_y(prepared.y_val), X_test,
                                               classification, prepared.output_size, budget_s, seed, max_trials)
    wall = time.perf_counter() - started
    if outputs is None:
        metrics = {k: float("nan") for k in test_metrics_keys(prepared.task)}
    else:
        metrics = test_metrics(prepared, outputs)
    return Outcome(dataset, prepared.task, seed, "plain_tune_mlp", metrics, wall, trials=trials, detail=detail)


# ---- running and summarising


CONTENDERS = ("automl", "flaml", "sklearn", "plain_tune")


def run(datasets: list[str], seeds: list[int], budget_s: float, max_trials: int | None = None,
        contenders: tuple[str, ...] = CONTENDERS) -> list[Outcome]:
    """Every contender on every dataset and seed, in one Ray session."""
    import logging

    from bench.common import ray_running

    # Tune lists every queued trial the budget never started (hundreds per search): noise here.
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    outcomes: list[Outcome] = []
    with ray_running(num_cpus=None):
        for name in datasets:
            dataset = load_dataset(name)
            for seed in seeds:
                prepared = prepare(dataset, seed)
                done = len(outcomes)
                if "sklearn" in contenders:
                    outcomes += run_baselines(name, seed, prepared, prepare(dataset, seed, validation="auto"))
                if "flaml" in contenders:
                    outcomes.append(run_flaml(name, seed, budget_s, prepared, max_trials))
                if "plain_tune" in contenders:
                    outcomes.append(run_plain_tune(name, seed, budget_s, prepared, max_trials))
                if "automl" in contenders:
                    outcomes.append(run_platform(dataset, seed, budget_s, prepared, max_trials))
                for outcome in outcomes[done:]:
                    print(f"{name} seed {seed} {outcome.contender}: {outcome.metrics} ({outcome.wall_s:.1f} s) {outcome.detail}",
                          flush=True)
    return outcomes


CONTENDER_ORDER = ("automl", "flaml", "plain_tune_mlp", "svc", "svr", "hist_gradient_boosting", "logistic_regression", "ridge")


def summarise(outcomes: list[Outcome]) -> list[dict]:
    """One row per dataset and contender: mean and std over seeds of each metric and of wall time."""
    from bench.results import mean_std

    rows = []
    keys = sorted({(o.dataset, o.contender) for o in outcomes},
                  key=lambda k: (DATASETS.index(k[0]) if k[0] in DATASETS else 99, CONTENDER_ORDER.index(k[1])))
    for dataset, contender in keys:
        group = [o for o in outcomes if o.dataset == dataset and o.contender == contender]
        row = {"dataset": dataset, "task": group[0].task, "contender": contender, "seeds": len(group)}
        for metric in group[0].metrics:
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean_std([o.metrics[metric] for o in group])
        row["wall_s_mean"], row["wall_s_std"] = mean_std([o.wall_s for o in group])
        trials = [o.trials for o in group if o.trials is not None]
        row["trials_mean"] = mean_std(trials)[0] if trials else None
        optimism = [o.detail["optimism"] for o in group if "optimism" in o.detail]
        row["optimism_mean"], row["optimism_std"] = mean_std(optimism) if optimism else (None, None)
        rows.append(row)
    return rows


def platform_losses(summary: list[dict]) -> list[str]:
    """A sentence per dataset where a contender's mean beats the platform's mean on the main metric."""
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in summary):
        rows = [r for r in summary if r["dataset"] == dataset]
        metric = "accuracy_mean" if "accuracy_mean" in rows[0] else "r2_mean"
        platform = next((r for r in rows if r["contender"] == "automl"), None)
        if platform is None:
            continue
        if math.isnan(platform[metric]):
            lines.append(f"- {dataset}: the platform has no test score on at least one seed "
                         "(no trial finished an epoch within the budget; see the per-seed notes).")
            continue
        better = [r for r in rows if r["contender"] != "automl" and r[metric] > platform[metric]]
        if better:
            names = ", ".join(f"{r['contender']} {r[metric]:.4f}" for r in sorted(better, key=lambda r: -r[metric]))
            lines.append(f"- {dataset}: the platform ({metric[:-5]} {platform[metric]:.4f}) loses to {names}.")
    return lines


def selection_rows(figures: dict) -> list[list[str]]:
    """Per seed, for each baseline whose mean beats the platform's: the platform's winner and the
    baseline as the platform's validation saw them (out of fold, or hold-out) and on test, in the
    ranking metric (accuracy, or RMSE for regression), which of the two each preferred, and the
    test score of the baseline's own bag of fold models."""
    outcomes = figures["outcomes"]
    summary = figures["summary"]
    rows = []
    for dataset in dict.fromkeys(r["dataset"] for r in summary):
        means = {r["contender"]: r for r in summary if r["dataset"] == dataset}
        if "automl" not in means:
            continue
        regression = "rmse_mean" in means["automl"]
        main = "r2_mean" if regression else "accuracy_mean"
        metric = "rmse" if regression else "accuracy"
        beaten_by = [c for c, r in means.items() if r[main] > means["automl"][main]]
        for seed in figures["seeds"]:
            by_contender = {o["contender"]: o for o in outcomes if o["dataset"] == dataset and o["seed"] == seed}
            platform = by_contender.get("automl")
            for contender in beaten_by:
                baseline = by_contender.get(contender)
                if platform is None or baseline is None or "validation" not in baseline["detail"]:
                    continue
                scores = {"validation": (platform["detail"].get("validation", float("nan")), baseline["detail"]["validation"]),
                          "test": (platform["metrics"][metric], baseline["metrics"][metric])}
                prefers = {}
                for stage, (ours, theirs) in scores.items():
                    if regression:
                        ours, theirs = -ours, -theirs
                    prefers[stage] = "tie" if math.isclose(ours, theirs, abs_tol=1e-9) else ("automl" if ours > theirs else contender)
                bag = baseline["detail"].get("bag_test")
                rows.append([dataset, seed, metric, contender, *(f"{v:.4f}" for v in scores["validation"]), prefers["validation"],
                             *(f"{v:.4f}" for v in scores["test"]), prefers["test"], "" if bag is None else f"{bag:.4f}"])
    return rows


def to_markdown(figures: dict) -> str:
    """The quality tables and the list of datasets where the platform loses, for RESULTS.md."""
    from bench.results import markdown_table

    searches = (f"Smoke size: each search ran {figures['max_trials']} trial(s) without a time budget (the platform's of "
                "its space cut to 2 epochs)"
                if figures.get("max_trials") else
                f"Budget: {figures['budget_s']:g} s of search per dataset and seed for every search (automl, FLAML, plain Ray Tune)")
    lines = [
        f"{searches}; seeds {figures['seeds']}; mean ± std (ddof=1) over seeds; wall time includes refit and test "
        "(and, for automl, its data preparation), not `ray.init`.",
        "",
    ]
    for task, metrics in (("classification", ("accuracy",)), ("regression", ("r2", "rmse"))):
        rows = [r for r in figures["summary"] if (r["task"] in ("binary", "multiclass")) == (task == "classification")]
        if not rows:
            continue
        header = ["dataset", "contender", *[f"test {m}" for m in metrics], "optimism" if task == "classification" else "optimism (RMSE)", "wall s", "trials"]
        body = [[r["dataset"], r["contender"], *[f"{r[m + '_mean']:.4f} ± {r[m + '_std']:.4f}" for m in metrics],
                 "" if r.get("optimism_mean") is None else f"{r['optimism_mean']:+.4f} ± {r['optimism_std']:.4f}",
                 f"{r['wall_s_mean']:.1f} ± {r['wall_s_std']:.1f}", "" if r["trials_mean"] is None else f"{r['trials_mean']:.1f}"]
                for r in rows]
        lines += [f"**{task.capitalize()}**", "", markdown_table(header, body), ""]
    about = [f"- {name}: {DATASET_NOTES[name]}" for name in dict.fromkeys(r["dataset"] for r in figures["summary"])
             if name in DATASET_NOTES]
    if about:
        lines += [*about, ""]
    losses = platform_losses(figures["summary"])
    lines += ["Where the platform loses (mean over seeds on accuracy or R²):", ""]
    lines += losses or ["- nowhere: on every dataset, no contender's mean is above the platform's."]
    selection = selection_rows(figures)
    if selection:
        lines += ["", "What the platform's validation saw, per seed, of each scikit-learn default that beats it on the mean: "
                  "the platform's winner (trial or ensemble) and the baseline scored on the platform's own folds "
                  "(out of fold; the hold-out split where it holds one out), then on test, in the metric the search ranks by; "
                  "last, the test score of the baseline's own K fold models averaged (the kind of final model the platform "
                  "hands back with folds).",
                  "", markdown_table(["dataset", "seed", "metric", "baseline", "automl validation", "baseline validation",
                                      "validation prefers", "automl test", "baseline test", "test prefers",
                                      "baseline fold bag test"], selection)]
    notes = [f"{o['dataset']}/{o['seed']}/{o['contender']}: {o['detail']['note']}" for o in figures["outcomes"] if "note" in o["detail"]]
    if notes:
        lines += ["", "Searches without a result: " + "; ".join(notes) + "."]
    lines += ["", "Per seed: " + "; ".join(
        f"{o['dataset']}/{o['seed']}/{o['contender']} {json.dumps(o['metrics'])}" for o in figures["outcomes"]
        if o["contender"] in ("automl", "flaml", "plain_tune_mlp")) + " (searches only)."]
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=120.0, help="search seconds per dataset and seed, for every search")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument("--smoke", action="store_true", help="two small datasets, one seed, 1 trial per search")
    args = parser.parse_args(argv)
    if args.smoke:
        args.datasets, args.seeds = ["wine", "diabetes"], [0]
    # Smoke size: 1 trial per search instead of a budget, as a worker's start can outlast a tiny budget.
    max_trials = 1 if args.smoke else None

    from bench.common import machine

    if "flaml" in args.contenders and not flaml_installed():
        print("flaml: not measured: FLAML is not installed (pip install -e '.[bench]')", flush=True)
        args.contenders = [c for c in args.contenders if c != "flaml"]
    outcomes = run(args.datasets, args.seeds, args.budget, max_trials, tuple(args.contenders))
    summary = summarise(outcomes)
    figures = {
        "machine": machine(), "budget_s": args.budget, "seeds": args.seeds, "datasets": args.datasets,
        "contenders": args.contenders, "max_trials": max_trials, "outcomes": [o.__dict__ for o in outcomes], "summary": summary,
    }
    print(to_markdown(figures))
    return figures


if __name__ == "__main__":
    main()
