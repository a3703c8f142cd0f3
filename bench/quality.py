"""Search quality under a fixed wall budget: the platform against scikit-learn baselines and a
plain Ray Tune random search over a plain PyTorch MLP, on identical train / val / test rows.

For each dataset and seed, the platform's data layer (``automl.data.prepare_data``, the same
DataConfig and seed the API uses) splits and preprocesses the data once; every contender sees
those rows and features:

- ``automl``: ``AutoML(space=default|image, time_budget_s=B, seed=s).fit(...)``, the whole flow
  (search, refit of the best on train+val, one test evaluation);
- scikit-learn with default parameters, fitted on train+val, scored once on test:
  SVC / SVR in a StandardScaler pipeline, HistGradientBoosting, LogisticRegression / Ridge in
  a StandardScaler pipeline (LogisticRegression with max_iter=1000, so it converges);
- ``plain_tune_mlp``: ``tune.Tuner`` random search (FIFO, Ray's defaults, the same budget B,
  1 CPU per trial) over a hand-written PyTorch MLP, best trial and epoch by validation,
  retrained on train+val for that many epochs, tested once.

Reports accuracy (classification) or R² and RMSE (regression), mean ± std over seeds, and wall
seconds per contender.

    python -m bench.quality [--budget 20] [--seeds 0 1 2] [--datasets wine diabetes] [--smoke]
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

DATASETS = ("digits", "breast_cancer", "wine", "diabetes", "synthetic_classification", "synthetic_regression")
SYNTHETIC_ROWS, SYNTHETIC_FEATURES = 5000, 40
PLAIN_EPOCHS = 30  # the default space's epoch count, so both searches train trials equally long


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


def prepare(dataset: Dataset, seed: int):
    """The split and preprocessing the platform itself makes for this dataset and seed."""
    from automl.config import DataConfig
    from automl.data import prepare_data

    return prepare_data(dataset.source, DataConfig(target=dataset.target, seed=seed, image_shape=dataset.image_shape))


def test_metrics(prepared, outputs: np.ndarray) -> dict:
    """Accuracy, or R² and RMSE in the target's units, exactly as the platform scores its model."""
    from automl.metrics import score

    if prepared.task in ("binary", "multiclass"):
        predicted = outputs if outputs.ndim == 1 else outputs.argmax(axis=1)
        return {"accuracy": float((predicted == prepared.y_test).mean())}
    scale = float(prepared.target_encoder.std_)
    metrics = score(prepared.task, np.asarray(outputs, dtype=np.float32).reshape(-1, 1), prepared.y_test, scale)
    return {"r2": metrics["r2"], "rmse": metrics["rmse"]}


def flat(X: np.ndarray) -> np.ndarray:
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


def run_baselines(dataset: str, seed: int, prepared) -> list[Outcome]:
    X_fit = np.concatenate([flat(prepared.X_train), flat(prepared.X_val)])
    y_fit = np.concatenate([prepared.y_train, prepared.y_val]).ravel()
    outcomes = []
    for name, model in sklearn_baselines(prepared).items():
        started = time.perf_counter()
        model.fit(X_fit, y_fit)
        predicted = model.predict(flat(prepared.X_test))
        wall = time.perf_counter() - started
        outcomes.append(Outcome(dataset, prepared.task, seed, name, test_metrics(prepared, predicted), wall))
    return outcomes


def run_platform(dataset: Dataset, seed: int, budget_s: float, prepared, max_trials: int | None = None) -> Outcome:
    """The whole platform flow through its Python API, as a user would call it (``max_trials``:
    that many trials without a budget instead, for the smoke test)."""
    from automl.api import AutoML
    from automl.errors import AutoMLError

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        automl = AutoML(target=dataset.target, space=dataset.space, image_shape=dataset.image_shape,
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
    expected = {"train": len(prepared.y_train), "val": len(prepared.y_val), "test": len(prepared.y_test)}
    if splits != expected:  # every contender must see the rows the platform saw
        raise RuntimeError(f"{dataset.name}: the platform split {splits}, the baselines {expected}")
    metrics = {k: float(result.test_metrics[k]) for k in test_metrics_keys(prepared.task)}
    best = result.leaderboard.iloc[0]
    return Outcome(dataset.name, prepared.task, seed, "automl", metrics, wall, trials=len(result.leaderboard),
                   detail={"best_architecture": str(best.get("architecture", "")), "refit_epochs": int(result.best["refit_epochs"])})


def test_metrics_keys(task: str) -> tuple[str, ...]:
    return ("accuracy",) if task in ("binary", "multiclass") else ("r2", "rmse")


# ---- the plain Ray Tune + PyTorch contender: no automl code below this line runs in its trials


def plain_mlp(inputs: int, outputs: int, width: int, depth: int, dropout: float):
    import torch.nn as nn

    layers, size = [], inputs
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.ReLU(), nn.Dropout(dropout)]
        size = width
    layers.append(nn.Linear(size, outputs))
    return nn.Sequential(*layers)


def plain_train(config: dict, X, y, classification: bool, outputs: int, epochs: int, seed: int, evaluate=None):
    """Train the MLP with Adam; after each epoch yield ``evaluate(model)`` (or None)."""
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    model = plain_mlp(X.shape[1], outputs, config["width"], config["depth"], config["dropout"])
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    loss_fn = nn.CrossEntropyLoss() if classification else nn.MSELoss()
    X_t, y_t = torch.as_tensor(np.array(X)), torch.as_tensor(np.array(y))  # copies: Ray hands read-only arrays
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(X_t), generator=generator)
        for start in range(0, len(order), config["batch_size"]):
            rows = order[start : start + config["batch_size"]]
            optimizer.zero_grad()
            loss_fn(model(X_t[rows]), y_t[rows]).backward()
            optimizer.step()
        yield evaluate(model) if evaluate else None
    return model


def plain_predict(model, X) -> np.ndarray:
    import torch

    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(X)).numpy()


def plain_score(outputs: np.ndarray, y: np.ndarray, classification: bool) -> float:
    """Validation score, higher is better: accuracy, or minus the mean squared error."""
    if classification:
        return float((outputs.argmax(axis=1) == y).mean())
    return -float(((outputs.reshape(y.shape) - y) ** 2).mean())


def plain_trainable(config: dict, X_train, y_train, X_val, y_val, classification: bool, outputs: int) -> None:
    import torch
    from ray import tune

    torch.set_num_threads(1)
    evaluate = lambda model: plain_score(plain_predict(model, X_val), y_val, classification)  # noqa: E731
    for epoch, value in enumerate(plain_train(config, X_train, y_train, classification, outputs, PLAIN_EPOCHS,
                                              config["seed"], evaluate), start=1):
        tune.report({"val_score": value, "epoch": epoch})


def plain_space(seed: int) -> dict:
    from ray import tune

    return {
        "width": tune.choice([64, 128, 256, 512]),
        "depth": tune.choice([1, 2, 3]),
        "dropout": tune.uniform(0.0, 0.5),
        "lr": tune.loguniform(1e-4, 1e-2),
        "weight_decay": tune.loguniform(1e-6, 1e-2),
        "batch_size": tune.choice([32, 64, 128]),
        "seed": seed,
    }


def run_plain_tune(dataset: str, seed: int, budget_s: float, prepared, max_trials: int | None = None) -> Outcome:
    """A plain Ray Tune random search over the plain MLP, then refit on train+val and test once.

    Ray Tune's defaults throughout (no actor reuse: each trial starts a worker and imports torch).
    ``max_trials`` runs that many trials without a budget instead (the smoke test: a worker's start
    can take longer than a tiny budget).
    """
    import os

    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    classification = prepared.task in ("binary", "multiclass")
    X_train, X_val, X_test = (flat(x).astype(np.float32) for x in (prepared.X_train, prepared.X_val, prepared.X_test))
    shape_y = (lambda y: y.astype(np.int64)) if classification else (lambda y: y.astype(np.float32).reshape(-1, 1))
    y_train, y_val = shape_y(prepared.y_train), shape_y(prepared.y_val)
    outputs = prepared.output_size
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        tuner = tune.Tuner(
            tune.with_parameters(plain_trainable, X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
                                 classification=classification, outputs=outputs),
            param_space=plain_space(seed),
            tune_config=tune.TuneConfig(metric="val_score", mode="max", num_samples=max_trials or -1,
                                        time_budget_s=None if max_trials else budget_s,
                                        search_alg=BasicVariantGenerator(random_state=seed)),
            run_config=tune.RunConfig(storage_path=folder, name="plain", verbose=0),
        )
        results = tuner.fit()
        trials = sum(1 for r in results if r.metrics and "val_score" in r.metrics)
        if not trials:  # no trial finished an epoch within the budget: nothing to refit
            nan = {k: float("nan") for k in test_metrics_keys(prepared.task)}
            return Outcome(dataset, prepared.task, seed, "plain_tune_mlp", nan, time.perf_counter() - started, trials=0,
                           detail={"note": "no trial reported a validation score within the budget"})
        best = results.get_best_result(metric="val_score", mode="max", scope="all")
        history = best.metrics_dataframe
        epochs = int(history.loc[history["val_score"].idxmax(), "epoch"])
        config = best.config
        refit = plain_train(config, np.concatenate([X_train, X_val]), np.concatenate([y_train, y_val]),
                            classification, outputs, epochs, seed)
        model = _last_return(refit)
        metrics = test_metrics(prepared, plain_predict(model, X_test))
        wall = time.perf_counter() - started
    return Outcome(dataset, prepared.task, seed, "plain_tune_mlp", metrics, wall, trials=trials,
                   detail={"best_config": {k: v for k, v in config.items() if k != "seed"}, "refit_epochs": epochs})


def _last_return(generator):
    """Run a generator to its end and return its ``return`` value."""
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


# ---- running and summarising


def run(datasets: list[str], seeds: list[int], budget_s: float, max_trials: int | None = None) -> list[Outcome]:
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
                outcomes += run_baselines(name, seed, prepared)
                outcomes.append(run_plain_tune(name, seed, budget_s, prepared, max_trials))
                outcomes.append(run_platform(dataset, seed, budget_s, prepared, max_trials))
                for outcome in outcomes[-5:]:
                    print(f"{name} seed {seed} {outcome.contender}: {outcome.metrics} ({outcome.wall_s:.1f} s)", flush=True)
    return outcomes


CONTENDER_ORDER = ("automl", "plain_tune_mlp", "svc", "svr", "hist_gradient_boosting", "logistic_regression", "ridge")


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


def to_markdown(figures: dict) -> str:
    from bench.results import markdown_table

    searches = (f"Smoke size: each search ran {figures['max_trials']} trial(s) without a time budget"
                if figures.get("max_trials") else
                f"Budget: {figures['budget_s']:g} s of search per dataset and seed for both searches (automl and plain Ray Tune)")
    lines = [
        f"{searches}; seeds {figures['seeds']}; mean ± std (ddof=1) over seeds; wall time includes refit and test "
        "(and, for automl, its data preparation), not `ray.init`.",
        "",
    ]
    for task, metrics in (("classification", ("accuracy",)), ("regression", ("r2", "rmse"))):
        rows = [r for r in figures["summary"] if (r["task"] in ("binary", "multiclass")) == (task == "classification")]
        if not rows:
            continue
        header = ["dataset", "contender", *[f"test {m}" for m in metrics], "wall s", "trials"]
        body = [[r["dataset"], r["contender"], *[f"{r[m + '_mean']:.4f} ± {r[m + '_std']:.4f}" for m in metrics],
                 f"{r['wall_s_mean']:.1f} ± {r['wall_s_std']:.1f}", "" if r["trials_mean"] is None else f"{r['trials_mean']:.1f}"]
                for r in rows]
        lines += [f"**{task.capitalize()}**", "", markdown_table(header, body), ""]
    losses = platform_losses(figures["summary"])
    lines += ["Where the platform loses (mean over seeds on accuracy or R²):", ""]
    lines += losses or ["- nowhere: on every dataset, no contender's mean is above the platform's."]
    notes = [f"{o['dataset']}/{o['seed']}/{o['contender']}: {o['detail']['note']}" for o in figures["outcomes"] if "note" in o["detail"]]
    if notes:
        lines += ["", "Searches without a result: " + "; ".join(notes) + "."]
    lines += ["", "Per seed: " + "; ".join(
        f"{o['dataset']}/{o['seed']}/{o['contender']} {json.dumps(o['metrics'])}" for o in figures["outcomes"]
        if o["contender"] in ("automl", "plain_tune_mlp")) + " (searches only)."]
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=20.0, help="search seconds per dataset and seed, for both searches")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--smoke", action="store_true", help="two small datasets, one seed, 1 trial per search")
    args = parser.parse_args(argv)
    if args.smoke:
        args.datasets, args.seeds = ["wine", "diabetes"], [0]
    # Smoke size: 1 trial per search instead of a budget, as a worker's start can outlast a tiny budget.
    max_trials = 1 if args.smoke else None

    from bench.common import machine

    outcomes = run(args.datasets, args.seeds, args.budget, max_trials)
    summary = summarise(outcomes)
    figures = {
        "machine": machine(), "budget_s": args.budget, "seeds": args.seeds, "datasets": args.datasets,
        "max_trials": max_trials, "outcomes": [o.__dict__ for o in outcomes], "summary": summary,
    }
    print(to_markdown(figures))
    return figures


if __name__ == "__main__":
    main()
