"""Choose the portfolio (``search_spaces/portfolio.yaml``): score candidate configurations on
development datasets, pick them greedily, write the file.

The development sets are NOT the quality benchmark's (digits, breast_cancer, wine, diabetes and
its two synthetic sets, ``bench/quality.py``): iris and scikit-learn generators with their own
seeds and shapes (``DEV_SETS``), all offline. Each candidate (``TABLE_CANDIDATES``) is completed
against the default space of its task (``automl.portfolio.complete_entry``, so what is scored
is what a search runs), trained through the platform's own loop on the platform's own
70/15/15 split (``bench.families.train_and_test``, the space's 30 epochs), and scored on the
test split of that development set (accuracy or R²).

Greedy selection, as in the portfolios of Auto-sklearn 2.0 and AutoGluon: scores are scaled per
dataset to [0, 1] (1: the best candidate there); the first pick is the best mean, each next pick
the one that raises most the mean over datasets of the best scaled score among those picked.
A linear model is always in the portfolio, second (if the greedy picks leave it out, it replaces
the last pick): it costs seconds, and no table then ends worse than a regularized linear fit,
even in a search of two trials. Sequence and image entries are
not selected here: they are the published defaults of FCN, ResNet and InceptionTime
(``plugins/timeseries.py``) and of the image ResNet / CNN measured in bench/RESULTS.md.

    python -m bench.portfolio [--size 4] [--seeds 0] [--epochs 30] [--write]

Prints the score table and the picks; ``--write`` rewrites ``search_spaces/portfolio.yaml``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ADAMW = {"name": "adamw", "lr": 1.0e-3, "weight_decay": 1.0e-4, "schedule": "cosine", "warmup": 0.0}

# Candidates for tables, in the nested form of a trial config (the loss is the task's, below).
TABLE_CANDIDATES = {
    "linear_adamw": {"architecture": {"name": "linear"}, "optimizer": {**ADAMW, "lr": 1.0e-2, "weight_decay": 1.0e-2}},
    "linear_l2": {"architecture": {"name": "linear"}, "optimizer": {**ADAMW, "lr": 1.0e-2},
                  "regularizers": {"l2": {"strength": 1.0e-4}}},
    "mlp_2x128": {"architecture": {"name": "mlp", "depth": 2, "width": 128, "activation": "relu", "normalization": "none"},
                  "optimizer": ADAMW, "regularizers": {"dropout": {"p": 0.1}}},
    "mlp_3x256": {"architecture": {"name": "mlp", "depth": 3, "width": 256, "activation": "relu", "normalization": "batch"},
                  "optimizer": {**ADAMW, "lr": 3.0e-3}, "regularizers": {"dropout": {"p": 0.2}}},
    "mlp_2x256_gelu_layer": {"architecture": {"name": "mlp", "depth": 2, "width": 256, "activation": "gelu",
                                              "normalization": "layer"},
                             "optimizer": {**ADAMW, "weight_decay": 1.0e-2}, "regularizers": {"dropout": {"p": 0.1}}},
    "realmlp": {"architecture": {"name": "realmlp", "depth": 3, "width": 256, "embedding": "pbld", "embedding_dim": 4,
                                 "activation": "auto"}, "optimizer": {**ADAMW, "lr": 2.0e-3}},
    "tabm": {"architecture": {"name": "tabm", "k": 32, "depth": 3, "width": 256, "adapters": "all", "embedding": "none"},
             "optimizer": {**ADAMW, "lr": 2.0e-3}},
    "tabm_mini_2x256": {"architecture": {"name": "tabm", "k": 32, "depth": 2, "width": 256, "adapters": "mini",
                                         "embedding": "none"}, "optimizer": {**ADAMW, "lr": 2.0e-3}},
    "ft_transformer": {"architecture": {"name": "ft_transformer", "layers": 2, "heads": 4, "dropout": 0.1, "model_width": 32},
                       "optimizer": ADAMW},
}
LOSSES = {"classification": {"name": "cross_entropy", "label_smoothing": 0.0}, "regression": {"name": "mse"}}
LINEAR = ("linear_adamw", "linear_l2")

# Not selected: published defaults (see the module docstring).
SEQUENCE_ENTRIES = [
    {"name": "fcn", "batch_size": 32, "architecture": {"name": "fcn", "filters": 128},
     "optimizer": {"name": "adam", "lr": 1.0e-3, "beta1": 0.9, "schedule": "constant", "warmup": 0.0}},
    {"name": "resnet1d", "batch_size": 32, "architecture": {"name": "resnet1d", "filters": 64, "blocks": 3},
     "optimizer": {"name": "adam", "lr": 1.0e-3, "beta1": 0.9, "schedule": "constant", "warmup": 0.0}},
    {"name": "inception_time", "batch_size": 32,
     "architecture": {"name": "inception_time", "filters": 32, "depth": 6, "kernel_size": 40},
     "optimizer": {"name": "adam", "lr": 1.0e-3, "beta1": 0.9, "schedule": "constant", "warmup": 0.0}},
]
IMAGE_OPTIMIZER = {"name": "adamw", "lr": 2.1e-3, "weight_decay": 1.1e-4, "schedule": "one_cycle", "warmup": 0.0}
IMAGE_ENTRIES = [
    {"name": "resnet", "batch_size": 32, "architecture": {"name": "resnet", "stages": 3, "blocks": 1, "channels": 32},
     "loss": {"name": "cross_entropy", "label_smoothing": 0.1}, "optimizer": IMAGE_OPTIMIZER,
     "regularizers": {"image_augment": {"shift": 1, "flip_p": 0.0}}},
    {"name": "cnn2d_residual", "batch_size": 32,
     "architecture": {"name": "cnn2d", "blocks": 3, "channels": 32, "kernel_size": 3, "pooling": "max", "residual": True,
                      "normalization": "batch", "activation": "relu", "global_pool": "avg"},
     "loss": {"name": "cross_entropy", "label_smoothing": 0.1}, "optimizer": {**IMAGE_OPTIMIZER, "schedule": "cosine"},
     "regularizers": {"image_augment": {"shift": 1, "flip_p": 0.0}}},
]

# Development sets: none of them is a quality-benchmark set (bench.quality.DATASETS).
DEV_SETS = {
    "classification": ("iris", "clf_600x12_binary", "clf_800x30_4class", "moons_noise", "quantiles_3class"),
    "regression": ("friedman1", "friedman2", "friedman3", "reg_400x20_sparse", "sparse_uncorrelated"),
}


def dev_frame(name: str):
    """A development set as a DataFrame with a ``target`` column."""
    import pandas as pd
    from sklearn import datasets

    if name == "iris":
        X, y = datasets.load_iris(return_X_y=True)
    elif name == "clf_600x12_binary":
        X, y = datasets.make_classification(600, 12, n_informative=6, n_redundant=2, random_state=11)
    elif name == "clf_800x30_4class":
        X, y = datasets.make_classification(800, 30, n_informative=10, n_redundant=5, n_classes=4, flip_y=0.05, random_state=12)
    elif name == "moons_noise":
        X, y = datasets.make_moons(500, noise=0.3, random_state=13)
        X = np.hstack([X, np.random.default_rng(13).normal(size=(len(X), 6))])
    elif name == "quantiles_3class":
        X, y = datasets.make_gaussian_quantiles(n_samples=500, n_features=6, n_classes=3, random_state=14)
    elif name == "friedman1":
        X, y = datasets.make_friedman1(500, noise=1.0, random_state=21)
    elif name == "friedman2":
        X, y = datasets.make_friedman2(500, noise=10.0, random_state=22)
    elif name == "friedman3":
        X, y = datasets.make_friedman3(500, noise=0.05, random_state=23)
    elif name == "reg_400x20_sparse":
        X, y = datasets.make_regression(400, 20, n_informative=8, noise=15.0, random_state=24)
    elif name == "sparse_uncorrelated":
        X, y = datasets.make_sparse_uncorrelated(500, 10, random_state=25)
    else:
        raise ValueError(f"unknown development set {name!r}")
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["target"] = y
    return frame


def candidate_entry(name: str, group: str) -> dict:
    """A table candidate as a portfolio entry for ``group`` (classification or regression)."""
    return {"name": name, "batch_size": 64, "loss": LOSSES[group], **TABLE_CANDIDATES[name]}


def score_candidates(group: str, seeds: list[int], epochs: int) -> dict[str, dict[str, float]]:
    """``{candidate: {dataset: test score, mean over seeds}}`` for one task group."""
    import torch

    from automl.components import FAMILIES
    from automl.config import DataConfig
    from automl.data import prepare_data
    from automl.registry import load_registry
    from automl.portfolio import complete_entry
    from automl.space import build_search_space, load_space_file
    from automl.training.records import Components
    from bench.families import train_and_test

    torch.set_num_threads(1)  # as in a trial
    registry = load_registry()
    components = Components({family: {c.name: c.spec for c in registry.list(family)} for family in FAMILIES})
    spec, source = load_space_file("default")
    scores: dict[str, dict[str, list[float]]] = {name: {} for name in TABLE_CANDIDATES}
    for dataset in DEV_SETS[group]:
        frame = dev_frame(dataset)
        for seed in seeds:
            task = "regression" if group == "regression" else None
            prepared = prepare_data(frame, DataConfig(validation="holdout", target="target", task=task, seed=seed))
            space = build_search_space(registry, spec, prepared.task, prepared.input_kind, source)
            for name in TABLE_CANDIDATES:
                config = complete_entry(candidate_entry(name, group), space, seed)
                config["epochs"] = epochs
                outcome = train_and_test(prepared, config, components)
                scores[name].setdefault(dataset, []).append(outcome["test"])
                print(json.dumps({"group": group, "dataset": dataset, "seed": seed, "candidate": name,
                                  "test": round(outcome["test"], 4), "wall_s": round(outcome["wall_s"], 1)}), flush=True)
    return {name: {d: float(np.mean(v)) for d, v in by_set.items()} for name, by_set in scores.items()}


def greedy_portfolio(scores: dict[str, dict[str, float]], size: int, required: tuple[str, ...] = LINEAR) -> list[str]:
    """Greedy picks: first the best mean scaled score, then the best complement; one of
    ``required`` (the best of them) is always in."""
    names = list(scores)
    datasets = list(next(iter(scores.values())))
    table = np.array([[scores[n][d] for d in datasets] for n in names])
    low, high = table.min(axis=0), table.max(axis=0)
    scaled = (table - low) / np.where(high > low, high - low, 1.0)
    picked: list[int] = []
    best = np.zeros(len(datasets))
    while len(picked) < min(size, len(names)):
        # Ties (every set already covered) go to the better mean.
        gains = [np.maximum(best, scaled[i]).mean() + 1e-6 * scaled[i].mean() if i not in picked else -1.0
                 for i in range(len(names))]
        choice = int(np.argmax(gains))
        picked.append(choice)
        best = np.maximum(best, scaled[choice])
    chosen = [names[i] for i in picked]
    linear = next((n for n in chosen if n in required), None)
    if linear is None:
        linear = max(required, key=lambda n: scaled[names.index(n)].mean())
        chosen[-1] = linear
    # The linear fit is cheap and the floor of every table: second, so that even a search of
    # two trials runs it.
    chosen.remove(linear)
    chosen.insert(min(1, len(chosen)), linear)
    return chosen


def score_table(scores: dict[str, dict[str, float]], chosen: list[str]) -> str:
    """Markdown: the candidates' test scores per development set, the picks marked."""
    datasets = list(next(iter(scores.values())))
    lines = ["| candidate | " + " | ".join(datasets) + " | mean | pick |", "| --- |" + " --- |" * (len(datasets) + 2)]
    for name, by_set in scores.items():
        pick = str(chosen.index(name) + 1) if name in chosen else ""
        lines.append(f"| {name} | " + " | ".join(f"{by_set[d]:.4f}" for d in datasets) + f" | {np.mean(list(by_set.values())):.4f} | {pick} |")
    return "\n".join(lines)


HEADER = """\
# The portfolio: configurations every search tries first, before its searcher explores
# (automl/portfolio.py reads it; docs/search.md "The portfolio first"). Per input kind and
# task (classification = binary and multiclass): trial configs in the nested form trials read;
# what an entry leaves out takes the resolved space's canonical value, and an entry the space
# cannot run (a component it excludes or lacks, a value outside its domain) is dropped.
#
# Written by `{command}` on {date} ({machine}).
# Tables: chosen greedily on development datasets that the quality benchmark never reports on
{dev_sets}
# (see bench/RESULTS.md "Portfolio"); the linear fit is placed second. Sequences: the published defaults of FCN,
# ResNet (Wang et al. 2017) and InceptionTime (Ismail Fawaz et al. 2020). Images: the ResNet
# and the residual CNN measured on digits in bench/RESULTS.md "Model families".
"""


def write_portfolio(path: Path, tables: dict[str, list[str]], header: str) -> None:
    """The portfolio file: the chosen table entries per task group, then sequences and images."""
    import yaml

    data = {
        "tabular": {group: [candidate_entry(name, group) for name in names] for group, names in tables.items()},
        "sequence": {
            "classification": [{**e, "loss": LOSSES["classification"]} for e in SEQUENCE_ENTRIES],
            "regression": [{**e, "loss": LOSSES["regression"]} for e in SEQUENCE_ENTRIES],
        },
        "image": {"classification": IMAGE_ENTRIES},
    }
    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):  # every entry spelled out, no &id001 anchors
            return True

    path.write_text(header + yaml.dump(data, Dumper=Dumper, sort_keys=False, default_flow_style=None, width=110))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4, help="entries per task group for tables")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=30, help="epochs per candidate (default.yaml's 30)")
    parser.add_argument("--groups", nargs="+", default=list(DEV_SETS), choices=list(DEV_SETS))
    parser.add_argument("--write", action="store_true", help="rewrite search_spaces/portfolio.yaml")
    args = parser.parse_args(argv)

    from bench.common import machine

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{started}; {machine()}", flush=True)
    tables = {}
    for group in args.groups:
        scores = score_candidates(group, args.seeds, args.epochs)
        tables[group] = greedy_portfolio(scores, args.size)
        print(f"\n**{group}** (test accuracy or R² on each development set; pick = greedy order)\n")
        print(score_table(scores, tables[group]), flush=True)
    if args.write:
        command = "python -m bench.portfolio " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
        dev_sets = "\n".join(f"#   {group}: {', '.join(sets)}" for group, sets in DEV_SETS.items())
        header = HEADER.format(command=command.strip(), date=started, machine=machine(), dev_sets=dev_sets)
        write_portfolio(ROOT / "search_spaces" / "portfolio.yaml", tables, header)
        print(f"wrote {ROOT / 'search_spaces' / 'portfolio.yaml'}")
    print(f"finished {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


if __name__ == "__main__":
    main()
