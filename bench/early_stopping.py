"""Early stopping: ASHA and HyperBand against FIFO on the same space, seed and trial count.

For each scheduler: the best validation accuracy, the epochs of training it spent, and the
fraction of FIFO's compute (epochs) it needed to first reach FIFO's best validation score
(epochs are ordered by when they finished, across concurrent trials).

    python -m bench.early_stopping [--trials 16] [--epochs 15] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

SPACE = """
epochs: {epochs}
batch_size: {{choice: [32, 64, 128]}}
architectures:
  include: [mlp]
  mlp: {{depth: {{choice: [1, 2, 3]}}, width: {{choice: [32, 64, 128, 256]}}, normalization: none}}
optimizers:
  include: [adam, sgd]
  adam: {{lr: {{loguniform: [1.0e-5, 3.0e-2]}}}}
  sgd: {{lr: {{loguniform: [1.0e-4, 1.0e-1]}}}}
regularizers:
  include: [dropout]
"""


def epochs_to_reach(timeline: list[dict], target: float) -> int | None:
    """Epochs spent (in the order they were reported, over all trials) until a score >= target."""
    events = sorted((row["wall_s"], row["value"]) for row in timeline if row["value"] is not None)
    for spent, (_, score) in enumerate(events, start=1):
        if score >= target:
            return spent
    return None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    # Smoke size: one trial at a time, so each search starts one trial process instead of two.
    at_once = None
    if args.smoke:
        args.trials, args.epochs, at_once = 3, 3, 1

    import yaml

    from automl.config import DataConfig, ResourceConfig, SearchConfig
    from automl.data import prepare_data
    from automl.engine.run import run_trials
    from automl.registry import load_registry
    from automl.space import build_search_space
    from automl.run_directory import RunDirectory
    from automl.tracking.timeline import SearchTimeline
    from automl.training.records import Components, TrainingSet
    from bench.common import machine, ray_running

    prepared = prepare_data("digits", DataConfig(validation="holdout", seed=args.seed))
    registry = load_registry()
    space = build_search_space(registry, yaml.safe_load(SPACE.format(epochs=args.epochs)), prepared.task, prepared.input_kind)
    components = Components({f: {n: registry.get(f, n).spec for n in space.names(f)} for f in space.components})
    data = TrainingSet(prepared.task, prepared.input_shape, prepared.output_size,
                       prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val)
    results = {}
    with ray_running():
        for scheduler in ("fifo", "asha", "hyperband"):
            with tempfile.TemporaryDirectory() as run_dir:
                records = run_trials(data, space, components,
                                     SearchConfig(num_trials=args.trials, scheduler=scheduler, seed=args.seed, max_concurrent=at_once),
                                     ResourceConfig(cpus_per_trial=1), Path(run_dir),
                                     callbacks=[SearchTimeline(Path(run_dir), "val_accuracy")])
                results[scheduler] = records, RunDirectory(run_dir).read_timeline()
    fifo_records, _ = results["fifo"]
    fifo_best = max(r.metrics.get("best_val_accuracy", 0) for r in fifo_records)
    fifo_epochs = sum(len(r.history) for r in fifo_records)
    figures = {"machine": machine(), "trials": args.trials, "max_epochs": args.epochs, "seed": args.seed,
               "fifo_best_val_accuracy": round(fifo_best, 4), "fifo_epochs": fifo_epochs}
    for scheduler in ("asha", "hyperband"):
        records, timeline = results[scheduler]
        reached = epochs_to_reach(timeline, fifo_best)
        figures[scheduler] = {
            "best_val_accuracy": round(max(r.metrics.get("best_val_accuracy", 0) for r in records), 4),
            "epochs": sum(len(r.history) for r in records),
            "fraction_of_fifo_compute_to_reach_fifo_best": round(reached / fifo_epochs, 3) if reached else None,
        }
    print(json.dumps(figures, indent=2))
    return figures


def to_markdown(figures: dict) -> str:
    """The scheduler table for RESULTS.md."""
    from bench.results import markdown_table

    rows = [["FIFO", figures["fifo_best_val_accuracy"], figures["fifo_epochs"], "1 (reference)"]]
    for scheduler, label in (("asha", "ASHA (grace 1, reduction 3)"), ("hyperband", "asynchronous HyperBand (brackets with grace 1, 3, ..., reduction 3)")):
        row = figures[scheduler]
        reached = row["fraction_of_fifo_compute_to_reach_fifo_best"]
        rows.append([label, row["best_val_accuracy"], row["epochs"], "not reached" if reached is None else reached])
    return (f"Digits, MLP (depth, width, optimizer, lr, batch, dropout searched), {figures['trials']} trials of at most "
            f"{figures['max_epochs']} epochs, seed {figures['seed']}, the same sampled configurations for every scheduler. "
            "Epoch counts, not times: machine load does not change them.\n\n"
            + markdown_table(["scheduler", "best val accuracy", "epochs trained", "fraction of FIFO's compute to first reach FIFO's best"], rows))


if __name__ == "__main__":
    main()
