"""Cross-validation's two measured choices: the row count up to which ``--validation auto``
cross-validates, and the final model with folds (bag of fold models or refit).

``cost``: the training seconds of one trial of a fixed MLP (10 epochs) with ``--validation
holdout`` and ``cv:5`` on synthetic tables of growing size, and their ratio.

``final``: on each dataset and seed, one search with ``cv:5`` (quick space, FIFO, N trials,
no ensemble) whose best trial becomes both final models: the bag of its fold models (as the
search saved them) and a refit on all training rows for the winning epoch count; both scored
on the same test split. Prints test accuracy or R² of each.

``vmap``: how a trial should train its K fold models, one after another or together
(``torch.func.vmap`` over the K models' stacked parameters, one Adam over the stack, which is K
independent Adams since Adam is elementwise): seconds for K=5 fold MLPs (depth 2, width 128,
batch 64, 10 epochs, one thread, as a trial gets one CPU) each way, on the same fold rows and
initial weights; the two ways' final weights are compared, so both train the same models.

    python -m bench.validation cost [--rows 500 2000 8000]
    python -m bench.validation vmap [--rows 500 2000] [--width 128]
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
    from automl.registry import load_registry
    from automl.tasks import task_named
    from automl.training.building import build_model
    from automl.training.loop import train_epochs
    from automl.training.records import Components, TrainingSet

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
            data = TrainingSet.of(prepared)
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


def fold_training_seconds(rows: list[int], width: int = 128, folds: int = 5, epochs: int = 10, batch: int = 64) -> list[dict]:
    """Seconds to train ``folds`` MLPs (one per fold's fit rows) one after another and together
    under ``torch.func.vmap``, and the largest difference between their final weights."""
    import copy
    import time

    import torch
    from torch import nn
    from torch.func import functional_call, stack_module_state, vmap

    torch.set_num_threads(1)
    features, classes = 20, 2
    out = []
    for n in rows:
        fit_rows = n - n // folds  # each fold model fits on (K-1)/K of the training rows
        generator = torch.Generator().manual_seed(0)
        X = torch.randn(folds, fit_rows, features, generator=generator)
        y = (X[..., :3].sum(-1) > 0).long()
        order = torch.stack([torch.randperm(fit_rows, generator=generator) for _ in range(epochs)])  # shared shuffles

        def mlp():
            return nn.Sequential(nn.Linear(features, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                 nn.Linear(width, classes))

        torch.optim.Adam(mlp().parameters()).step()  # torch's first optimizer imports torch._dynamo: not timed
        torch.manual_seed(0)
        models = [mlp() for _ in range(folds)]
        initial = [copy.deepcopy(m.state_dict()) for m in models]
        loss_fn = nn.CrossEntropyLoss()

        started = time.perf_counter()
        for k, model in enumerate(models):
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            for epoch in range(epochs):
                for start in range(0, fit_rows, batch):
                    index = order[epoch, start:start + batch]
                    optimizer.zero_grad()
                    loss_fn(model(X[k, index]), y[k, index]).backward()
                    optimizer.step()
        one_after_another = time.perf_counter() - started

        together = [mlp() for _ in range(folds)]
        for model, state in zip(together, initial):
            model.load_state_dict(state)
        params, buffers = stack_module_state(together)
        params = {name: p.detach().requires_grad_() for name, p in params.items()}
        base = copy.deepcopy(together[0]).to("meta")

        def one_model(p, b, xb, yb):
            return loss_fn(functional_call(base, (p, b), (xb,)), yb)

        # Each model's loss is a mean over its own batch; summing them keeps every model's gradient its own.
        batched_loss = vmap(one_model)
        started = time.perf_counter()
        optimizer = torch.optim.Adam(params.values(), lr=1e-3)
        for epoch in range(epochs):
            for start in range(0, fit_rows, batch):
                index = order[epoch, start:start + batch]
                optimizer.zero_grad()
                batched_loss(params, buffers, X[:, index], y[:, index]).sum().backward()
                optimizer.step()
        vmapped = time.perf_counter() - started

        with torch.no_grad():
            difference = max(float((params[name][k] - dict(models[k].named_parameters())[name]).abs().max())
                             for name in params for k in range(folds))
            moved = min(float((params[name][k] - initial[k][name]).abs().max()) for name in params for k in range(folds))
        row = {"train_rows": n, "fit_rows_per_fold": fit_rows, "width": width, "one_after_another_s": round(one_after_another, 2),
               "vmap_s": round(vmapped, 2), "speed-up": round(one_after_another / vmapped, 2),
               "max_weight_difference": float(f"{difference:.2g}"), "min_weight_change_in_training": float(f"{moved:.2g}")}
        out.append(row)
        print(json.dumps(row), flush=True)
    return out


def final_models(datasets: list[str], seeds: list[int], trials: int) -> list[dict]:
    from automl import AutoML
    from automl.api import load_records
    from automl.components import FAMILIES
    from automl.config import DataConfig
    from automl.data import prepare_data
    from automl.registry import load_registry
    from automl.refit import refit_and_test
    from automl.training.records import Components

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
    together = commands.add_parser("vmap")
    together.add_argument("--rows", type=int, nargs="+", default=[500, 2000])
    together.add_argument("--width", type=int, default=128)
    final = commands.add_parser("final")
    final.add_argument("--datasets", nargs="+", default=["breast_cancer", "wine", "diabetes"])
    final.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    final.add_argument("--trials", type=int, default=4)
    args = parser.parse_args(argv)
    if args.command == "cost":
        trial_cost(args.rows)
    elif args.command == "vmap":
        fold_training_seconds(args.rows, args.width)
    else:
        import ray

        ray.init(address="local", include_dashboard=False, log_to_driver=False)  # one Ray for every search
        final_models(args.datasets, args.seeds, args.trials)


if __name__ == "__main__":
    main()
