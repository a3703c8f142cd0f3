"""Model families at a small fixed budget: each family's default configuration trained through the
platform's own training loop on the platform's own split, against mlp and scikit-learn.

For each dataset and seed, ``automl.data.prepare_data`` splits (70/15/15) and preprocesses once;
every contender sees those rows and features. A network contender is one fixed configuration
(below), built with ``automl.training.building.build_model`` and trained with ``train_epochs`` for
``--epochs`` epochs with a cosine learning-rate decay, and the final model is scored on the test
rows (also reported: the test score of the epoch with the best validation score; validation sets
of 27-86 rows tie often, so that choice is noisy). No search: this isolates what a family brings
at equal epochs, which is what a short search sees first. scikit-learn's Ridge / LogisticRegression in a
StandardScaler pipeline (refitted on train+val) is the linear reference.

    python -m bench.families [--datasets breast_cancer wine diabetes synthetic_regression digits]
                             [--seeds 0 1 2] [--epochs 40]

Prints one Markdown table (mean ± std over seeds) for bench/RESULTS.md, and a JSON line per run.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time

import numpy as np

TABLE_SETS = ("breast_cancer", "wine", "diabetes", "synthetic_regression")

# One configuration per family: its plugin's defaults where the paper gives them, the same
# optimizer family for all (AdamW, cosine schedule) so only the architecture differs.
ADAMW = {"name": "adamw", "lr": 1e-3, "weight_decay": 1e-4, "schedule": "cosine", "warmup": 0.0}
TABLE_CONTENDERS = {
    "mlp": {"architecture": {"name": "mlp", "depth": 2, "width": 128, "activation": "relu", "normalization": "none"}},
    "linear": {"architecture": {"name": "linear"}, "optimizer": {**ADAMW, "lr": 1e-2}},
    # RealMLP's tuned defaults include label smoothing 0.1 for classification.
    "realmlp": {"architecture": {"name": "realmlp"}, "optimizer": {**ADAMW, "lr": 2e-3},
                "classification_loss": {"name": "cross_entropy", "label_smoothing": 0.1}},
    "tabm": {"architecture": {"name": "tabm", "k": 32, "depth": 3, "width": 256, "adapters": "all"}, "optimizer": {**ADAMW, "lr": 2e-3}},
    "tabm_averaged": {"architecture": {"name": "tabm", "k": 32, "depth": 3, "width": 256, "adapters": "all",
                                       "member_training": "averaged"}, "optimizer": {**ADAMW, "lr": 2e-3}},
    "tabm_plr": {"architecture": {"name": "tabm", "k": 32, "depth": 3, "width": 256, "adapters": "all", "embedding": "plr"},
                 "optimizer": {**ADAMW, "lr": 2e-3}},
}
IMAGE_OPTIMIZER = {"name": "adamw", "lr": 2.1e-3, "weight_decay": 1.1e-4, "schedule": "cosine", "warmup": 0.0}
IMAGE_REGULARIZERS = {"image_augment": {"enabled": True, "shift": 1, "flip_p": 0.0}}
IMAGE_CONTENDERS = {
    "mlp": {"architecture": {"name": "mlp", "depth": 2, "width": 256, "activation": "relu", "normalization": "none"}},
    # The best cnn2d of the image-space search recorded in bench/RESULTS.md (digits, 0.9889 test).
    "cnn2d": {"architecture": {"name": "cnn2d", "blocks": 3, "channels": 32, "kernel_size": 3, "pooling": "max",
                               "residual": True, "normalization": "batch", "activation": "relu", "global_pool": "avg"}},
    "resnet": {"architecture": {"name": "resnet", "stages": 3, "blocks": 1, "channels": 32}},
    "resnet_one_cycle": {"architecture": {"name": "resnet", "stages": 3, "blocks": 1, "channels": 32},
                         "optimizer": {**IMAGE_OPTIMIZER, "schedule": "one_cycle"}},
}


def contender_config(task: str, image: bool, overrides: dict, epochs: int, seed: int) -> dict:
    """The full trial config of one contender."""
    classification = task in ("binary", "multiclass")
    loss = {"name": "cross_entropy", "label_smoothing": 0.1 if image else 0.0} if classification else {"name": "mse"}
    if classification and "classification_loss" in overrides:
        loss = overrides["classification_loss"]
    return {
        "seed": seed, "epochs": epochs, "batch_size": 32 if image else 64,
        "architecture": overrides["architecture"], "loss": loss,
        "optimizer": overrides.get("optimizer", IMAGE_OPTIMIZER if image else ADAMW),
        "regularizers": IMAGE_REGULARIZERS if image else {},
    }


def train_and_test(prepared, config: dict, components) -> dict:
    """Train ``config`` on the train split, keep the best validation epoch, score it once on test."""
    import torch

    from automl.metrics import DIRECTIONS
    from automl.tasks import task_named
    from automl.training.building import build_model
    from automl.training.loop import predict_outputs, train_epochs
    from automl.training.records import DataFacts

    device = torch.device("cpu")
    task = prepared.task
    scale = float(getattr(prepared.target_encoder, "std_", 1.0))
    metric = task_named(task).default_metric
    mode = DIRECTIONS[metric]
    facts = DataFacts.of(task, prepared.input_kind, prepared.output_size, prepared.y_train)
    model = build_model(config, components, prepared.X_train.shape[1:], prepared.output_size, device, facts)
    best = {"value": None, "epoch": 0, "state": None}
    epochs_done = [0]

    def evaluate(network):
        epochs_done[0] += 1
        value = task_named(task).score(predict_outputs(network, prepared.X_val, device), prepared.y_val, scale)[metric]
        if best["value"] is None or (value > best["value"] if mode == "max" else value < best["value"]):
            best.update(value=value, epoch=epochs_done[0], state=copy.deepcopy(network.state_dict()))
        return {"val": value}

    started = time.perf_counter()
    for _ in train_epochs(model, prepared.X_train, prepared.y_train, config["epochs"], config["batch_size"], device,
                          config["seed"], evaluate):
        pass
    wall = time.perf_counter() - started
    key = "accuracy" if task in ("binary", "multiclass") else "r2"
    last = task_named(task).score(predict_outputs(model.network, prepared.X_test, device), prepared.y_test, scale)[key]
    model.network.load_state_dict(best["state"])
    at_best = task_named(task).score(predict_outputs(model.network, prepared.X_test, device), prepared.y_test, scale)[key]
    return {"test": last, "test_best_val_epoch": at_best, "val": best["value"], "best_epoch": best["epoch"],
            "wall_s": wall, "parameters": sum(p.numel() for p in model.network.parameters())}


def linear_reference(prepared) -> tuple[str, float]:
    """scikit-learn's Ridge or LogisticRegression (defaults, StandardScaler), fitted on train+val."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bench.quality import flat, test_metrics

    X = np.concatenate([flat(prepared.X_train), flat(prepared.X_val)])
    y = np.concatenate([prepared.y_train, prepared.y_val]).ravel()
    if prepared.task in ("binary", "multiclass"):
        name, model = "sklearn_logistic_regression", make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    else:
        name, model = "sklearn_ridge", make_pipeline(StandardScaler(), Ridge())
    metrics = test_metrics(prepared, model.fit(X, y).predict(flat(prepared.X_test)))
    return name, metrics.get("accuracy", metrics.get("r2"))


def run(datasets: list[str], seeds: list[int], epochs: int, image_epochs: int,
        only: list[str] | None = None) -> list[dict]:
    """Every contender on every dataset and seed; one dict per run."""
    import torch

    from automl.components import FAMILIES
    from automl.registry import load_registry
    from automl.training.records import Components
    from bench.quality import load_dataset, prepare

    torch.set_num_threads(1)  # as in a trial; the machine is shared
    registry = load_registry()
    components = Components({family: {c.name: c.spec for c in registry.list(family)} for family in FAMILIES})
    rows = []
    for name in datasets:
        dataset = load_dataset(name)
        image = dataset.image_shape is not None
        contenders = IMAGE_CONTENDERS if image else TABLE_CONTENDERS
        for seed in seeds:
            prepared = prepare(dataset, seed)
            reference, value = linear_reference(prepared)
            rows.append({"dataset": name, "seed": seed, "contender": reference, "test": value})
            print(json.dumps(rows[-1]), flush=True)
            for contender, overrides in contenders.items():
                if only and contender not in only:
                    continue
                config = contender_config(prepared.task, image, overrides, image_epochs if image else epochs, seed)
                rows.append({"dataset": name, "seed": seed, "contender": contender,
                             **train_and_test(prepared, config, components)})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def summary_table(rows: list[dict]) -> str:
    """Markdown: dataset, contender, test metrics mean ± std, best epoch, train seconds, parameters."""
    from bench.results import mean_std

    lines = ["| dataset | contender | test, last epoch (accuracy or R²) | test, best val epoch | best val epoch | train s | parameters |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for dataset, contender in dict.fromkeys((r["dataset"], r["contender"]) for r in rows):
        group = [r for r in rows if r["dataset"] == dataset and r["contender"] == contender]
        mean, std = mean_std([r["test"] for r in group])
        cells = [dataset, contender, f"{mean:.4f} ± {std:.4f}"]
        if "wall_s" in group[0]:
            cells += ["{:.4f} ± {:.4f}".format(*mean_std([r["test_best_val_epoch"] for r in group]))]
            cells += [f"{np.mean([r['best_epoch'] for r in group]):.1f}", f"{np.mean([r['wall_s'] for r in group]):.1f}",
                      f"{group[0]['parameters']:,}"]
        else:
            cells += ["", "", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    return f"{platform.node()}: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=[*TABLE_SETS, "digits"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=40, help="epochs for tables")
    parser.add_argument("--image-epochs", type=int, default=20, help="epochs for digits as images (image.yaml's)")
    parser.add_argument("--contenders", nargs="+", default=None, help="a subset of the contender names")
    args = parser.parse_args(argv)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine()}", flush=True)
    rows = run(args.datasets, args.seeds, args.epochs, args.image_epochs, args.contenders)
    print(summary_table(rows))
    print(f"finished {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine()}")


if __name__ == "__main__":
    main()
