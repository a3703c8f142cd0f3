"""The budget unit on small data: 1-D CNNs on GunPoint (50 training series of 150 steps), with an
epoch of one pass over the rows (``min_steps_per_epoch: 1``, the unit before issue 18) against
the default unit (at least 32 optimizer steps per epoch).

On 50 series, cross-validated in 5 folds (40 rows per fold model), one pass is 1-3 batches: ASHA's
first rung judged a CNN after one to three gradient steps and a whole 40-epoch trial was at
most 120 steps. Each setting runs the same search at the same wall budget: the ``sequence``
space restricted to ``cnn1d`` (its portfolio entries, FCN / ResNet / InceptionTime, are then
dropped), ASHA, TPE, the same seed, the official test split scored once. Reported per setting:
the optimizer steps each trial trained (epochs run × steps per epoch of a fold model), the
trials' cross-validated accuracy, how many passed 0.75, and the final model's test accuracy.

    python -m bench.step_budget [--budget 120] [--seeds 0 1] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

UNITS = (1, 32)  # min_steps_per_epoch: one pass per epoch (before), the default
DATASET = "GunPoint"


def cnn_space(folder: Path, min_steps: int) -> Path:
    """``search_spaces/sequence.yaml`` with only ``cnn1d`` and the given budget unit."""
    import yaml

    from automl.space import load_space_file

    spec, _ = load_space_file("sequence")
    spec = {**spec, "min_steps_per_epoch": min_steps, "architectures": {"include": ["cnn1d"]}}
    path = folder / f"cnn1d_{min_steps}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def search(files, space: Path, seed: int, budget_s: float | None, trials: int | None, output: Path) -> dict:
    from automl.api import AutoML
    from automl.training.epochs import steps_per_epoch

    train, test, target = files
    started = time.perf_counter()
    result = AutoML(target=target, test_data=test, input_kind="sequence", space=str(space), num_trials=trials, time_budget_s=budget_s, seed=seed,
                    ensemble=0, wandb=False, report=False, output=output, overwrite=True).fit(train)
    wall = time.perf_counter() - started
    rows = result.data_report["split_rows"]["train"]
    records = {r["trial_id"]: r for r in map(json.loads, (result.run_dir / "trials.jsonl").read_text().splitlines())}
    board = result.leaderboard
    steps, scores = [], []
    for _, row in board.iterrows():
        record = records[row["trial_id"]]
        folds = int(record["metrics"].get("folds") or 1)  # each fold model fits on the other folds' rows
        fold_rows = rows - rows // folds if folds > 1 else rows
        config = record["config"]
        per_epoch = steps_per_epoch(fold_rows, int(config["batch_size"]), int(config.get("min_steps_per_epoch", 1)))
        steps.append(int(row["epochs_run"]) * per_epoch)
        scores.append(float(row["val_accuracy"]))
    return {"seed": seed, "trials": len(board), "steps": steps, "val_accuracy": scores, "wall_s": wall,
            "test_accuracy": float(result.test_metrics["accuracy"]), "refit_epochs": int(result.best["refit_epochs"])}


def run(seeds: list[int], budget_s: float | None, trials: int | None) -> dict:
    import logging

    from bench.common import ray_running
    from bench.sequence import load_splits, write_for_platform

    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    outcomes = []
    with ray_running(num_cpus=None), tempfile.TemporaryDirectory() as folder:
        (X_train, y_train), (X_test, y_test) = load_splits(DATASET)
        files = write_for_platform(DATASET, Path(folder), X_train, y_train, X_test, y_test)
        for seed in seeds:
            for unit in UNITS:
                outcome = {"min_steps_per_epoch": unit, **search(files, cnn_space(Path(folder), unit), seed, budget_s, trials,
                                                                  Path(folder) / f"run_{unit}_{seed}")}
                print(json.dumps(outcome), flush=True)
                outcomes.append(outcome)
    return {"dataset": DATASET, "budget_s": budget_s, "trials": trials, "seeds": seeds, "outcomes": outcomes}


def summarise(figures: dict) -> list[dict]:
    rows = []
    for unit in UNITS:
        group = [o for o in figures["outcomes"] if o["min_steps_per_epoch"] == unit]
        steps = [s for o in group for s in o["steps"]]
        scores = [v for o in group for v in o["val_accuracy"]]
        rows.append({
            "min_steps_per_epoch": unit, "trials": len(scores),
            "steps_median": float(np.median(steps)), "steps_max": int(max(steps)),
            "val_median": float(np.median(scores)), "val_best_mean": float(np.mean([max(o["val_accuracy"]) for o in group])),
            "share_above_075": float(np.mean([v > 0.75 for v in scores])),
            "test_mean": float(np.mean([o["test_accuracy"] for o in group])), "wall_s_mean": float(np.mean([o["wall_s"] for o in group])),
        })
    return rows


def to_markdown(figures: dict) -> str:
    from bench.results import markdown_table

    header = ["min_steps_per_epoch", "trials (all seeds)", "steps per trial (median / max)", "CV accuracy (median)",
              "best CV accuracy (mean over seeds)", "trials above 0.75", "test accuracy (mean)", "wall s"]
    body = [[str(r["min_steps_per_epoch"]), str(r["trials"]), f"{r['steps_median']:.0f} / {r['steps_max']}",
             f"{r['val_median']:.3f}", f"{r['val_best_mean']:.3f}", f"{r['share_above_075']:.0%}", f"{r['test_mean']:.3f}",
             f"{r['wall_s_mean']:.0f}"] for r in summarise(figures)]
    return "\n".join([
        f"{figures['dataset']} (official split), `cnn1d` only, "
        + (f"{figures['trials']} trials per search" if figures["trials"] else f"{figures['budget_s']:g} s of search")
        + f", ASHA, seeds {figures['seeds']}:",
        "", markdown_table(header, body)])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=120.0, help="search seconds per setting and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--smoke", action="store_true", help="1 trial per search instead of a budget, one seed")
    args = parser.parse_args(argv)
    trials = None
    if args.smoke:
        trials, args.budget, args.seeds = 1, None, [0]
    figures = run(args.seeds, args.budget, trials)
    print(to_markdown(figures))
    return figures


if __name__ == "__main__":
    main()
