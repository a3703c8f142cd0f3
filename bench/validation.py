"""Cross-validation's two measured choices: the row count up to which ``--validation auto``
cross-validates, and the final model with folds (bag of fold models or refit).

``cost``: the training seconds of one trial of a fixed MLP (10 epochs) with ``--validation
holdout`` and ``cv:5`` on synthetic tables of growing size, and their ratio.

``final``: on each dataset and seed, one search with ``cv:5`` (quick space, FIFO, N trials,
no ensemble) whose best trial becomes both final models: the bag of its fold models (as the
search saved them) and a refit on all training rows for the winning epoch count; both scored
on the same test split. Prints test accuracy or R² of each.

    python -m bench.validation cost [--rows 500 2000 8000]
    python -m bench.validation final [--datasets breast_cancer wine diabetes] [--seeds 0 1] [--trials 4]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def trial_cost(rows: list[int], epochs: int = 10) -> list[dict]:
    """Seconds to train one trial's models for ``epochs`` epochs (an MLP of depth 2, width 128,
    batch 64, with per-epoch validation) with a hold-out and with 5 folds, on synthetic tables
    of ``rows`` training rows; in this process, without Ray (its per-trial overhead is the same
    either way)."""
    import time

    import pandas as pd
    import torch
    from sklearn.datasets import make_classification

    from automl.components import FAMILIES
    from automl.config import DataConfig
    from automl.data import prepare_data
    from automl.plugins import load_registry
    from automl.tasks import task_named
    from automl.trial import Components, TrainingSet, build_model, train_epochs, with_folds

    registry = load_registry()
    components = Components.of(registry, {family: [c.key for c in registry.list(family)] for family in FAMILIES})
    config = {"seed": 0, "epochs": epochs, "batch_size": 64, "loss": {"name": "cross_entropy", "label_smoothing": 0.0},
              "architecture": {"name": "mlp", "depth": 2, "width": 128, "activation": "relu", "normalization": "none"},
              "optimizer": {"name": "adam", "lr": 0.003, "beta1": 0.9}, "regularizers": {}}
    torch.set_num_threads(1)
    out = []
    for n in rows:
        X, y = make_classification(n_samples=int(n / 0.85), n_features=20, n_informative=10, random_state=0)
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(20)]).assign(y=y)
        seconds = {}
        for validation in ("holdout", "cv:5"):
            prepared = prepare_data(frame, DataConfig(target="y", validation=validation))
            data = with_folds(TrainingSet(prepared.task, prepared.input_shape, prepared.output_size, prepared.X_train,
                                          prepared.y_train, prepared.X_val, prepared.y_val), prepared)
            task = task_named(prepared.task, registry)
            started = time.perf_counter()
            for s in data.fold_sets():
                model = build_model(config, components, s.input_shape, s.output_size, "cpu")
                evaluate = task.evaluator(model, s, s.X_train, s.X_val, "cpu", 0)
                for _ in train_epochs(model, s.X_train, s.y_train, epochs, 64, "cpu", 0, evaluate):
                    pass
            seconds[validation] = round(time.perf_counter() - started, 2)
        out.append({"train_rows": n, **seconds, "ratio": round(seconds["cv:5"] / seconds["holdout"], 2)})
        print(json.dumps(out[-1]), flush=True)
    return out


def final_models(datasets: list[str], seeds: list[int], trials: int) -> list[dict]:
    from automl import AutoML
    from automl.api import load_records
    from automl.components import FAMILIES
    from automl.config import DataConfig
    from automl.data import prepare_data
    from automl.plugins import load_registry
    from automl.refit import refit_and_test
    from automl.trial import Components

    registry = load_registry()
    components = Components.of(registry, {family: [c.key for c in registry.list(family)] for family in FAMILIES})
    out = []
    for name in datasets:
        for seed in seeds:
            with tempfile.TemporaryDirectory() as folder:
                run = Path(folder) / "run"
                result = AutoML(target="target", space="quick", num_trials=trials, scheduler="fifo", ensemble=0,
                                validation="cv:5", final_model="bag", seed=seed, output=run, wandb=False, report=False).fit(name)
                best = next(r for r in load_records(run) if r.trial_id == result.best["trial_id"])
                prepared = prepare_data(name, DataConfig(target="target", seed=seed, validation="cv:5"))
                refit = refit_and_test(best, prepared, components, Path(folder) / "refit", final_model="refit")
                key = "r2" if prepared.task == "regression" else "accuracy"
                row = {"dataset": name, "seed": seed, "metric": key, "val": float(result.leaderboard.loc[0, f"val_{result.metric}"]),
                       "bag": result.test_metrics[key], "refit": refit.test_metrics[key]}
                out.append(row)
                print(json.dumps(row), flush=True)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    cost = commands.add_parser("cost")
    cost.add_argument("--rows", type=int, nargs="+", default=[500, 2000, 8000])
    final = commands.add_parser("final")
    final.add_argument("--datasets", nargs="+", default=["breast_cancer", "wine", "diabetes"])
    final.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    final.add_argument("--trials", type=int, default=4)
    args = parser.parse_args(argv)
    if args.command == "cost":
        trial_cost(args.rows)
    else:
        import ray

        ray.init(address="local", include_dashboard=False, log_to_driver=False)  # one Ray for every search
        final_models(args.datasets, args.seeds, args.trials)


if __name__ == "__main__":
    main()
