"""Platform overhead per trial: N short trials through automl (Ray Tune, FIFO, 1 CPU each)
against the same configurations trained for the same epochs in a plain PyTorch loop in one
process. Prints wall(platform) / (serial raw time / parallel slots); the target is <= 1.3.

More figures separate the platform's cost per trial from what a search pays once:

- the start-up: when the first trial began training (trial workers starting, importing torch
  and the first optimizer's ``torch._dynamo``), and the ratio of the wall after it;
- a run at the shortest trial length with more trials (``--more-trials``), same epochs;
- Ray Tune's own floor: the same number of trials as a bare Tune function that only sleeps for
  each configuration's plain-loop time and reports once, so no torch, no data, no automl code.

    python -m bench.overhead [--trials 8] [--more-trials 24] [--trial-seconds 1 10] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench.common import small_mlp_space

SPACE = small_mlp_space(batch_size=64)  # "{epochs}" is filled in per run


def epoch_seconds(prepared, components, config) -> float:
    """Time one epoch of the plain loop, to size trials to about ``--seconds`` of training."""
    import torch

    from automl.trial import build_model, train_epochs

    model = build_model(config, components, prepared.input_shape, prepared.output_size, torch.device("cpu"))
    started = time.perf_counter()
    for _ in train_epochs(model, prepared.X_train, prepared.y_train, 3, 64, torch.device("cpu"), 0):
        pass
    return (time.perf_counter() - started) / 3


def raw_seconds_per_trial(prepared, components, configs) -> list[float]:
    """The same configurations and epochs, one after another, with validation each epoch."""
    import torch

    from automl.trial import DataFacts, build_model, train_epochs, validation_metrics

    facts = DataFacts.of(prepared.task, prepared.input_kind, prepared.output_size, prepared.y_train)
    torch.set_num_threads(1)  # what each trial gets on the platform (1 CPU per trial)
    seconds = []
    for config in configs:
        started = time.perf_counter()
        model = build_model(config, components, prepared.input_shape, prepared.output_size, torch.device("cpu"), facts)
        evaluate = validation_metrics(prepared.task, prepared.X_val, prepared.y_val, model.loss, 1.0, torch.device("cpu"))
        for _ in train_epochs(model, prepared.X_train, prepared.y_train, int(config["epochs"]), int(config["batch_size"]),
                              torch.device("cpu"), int(config["seed"]), evaluate):
            pass
        seconds.append(time.perf_counter() - started)
    return seconds


def training_start_s(run_dir: Path) -> float:
    """Seconds from the start of the search until the first trial began training (from its log)."""
    from automl.resume import SEARCH_LOG_FILE

    entries = [json.loads(line) for line in (run_dir / SEARCH_LOG_FILE).read_text().splitlines() if line.strip()]
    starts = [e["wall_s"] - e["result"]["train_time_s"] for e in entries
              if e.get("event") == "result" and "train_time_s" in e["result"]]
    return round(min(starts), 2) if starts else float("nan")


def tune_floor_seconds(seconds_per_trial: list[float], slots: int) -> float:
    """Wall of a bare Ray Tune run whose trials only sleep for the given times and report once."""
    from ray import tune

    from automl.engine import tune_settings

    def sleeper(config):
        time.sleep(config["seconds"])
        tune.report({"done_s": config["seconds"]})

    with tempfile.TemporaryDirectory() as storage, tune_settings():
        tuner = tune.Tuner(
            tune.with_resources(sleeper, {"cpu": 1}),
            param_space={"seconds": tune.grid_search(seconds_per_trial)},
            tune_config=tune.TuneConfig(reuse_actors=True, max_concurrent_trials=slots),
            run_config=tune.RunConfig(storage_path=storage, name="floor", verbose=0),
        )
        started = time.perf_counter()
        tuner.fit()
        return time.perf_counter() - started


def measure(prepared, registry, components, probe: dict, trials: int, seconds: float, epochs: int | None = None) -> dict:
    """One overhead measurement: ``trials`` trials sized to about ``seconds`` of training each
    (or of ``epochs`` epochs each, to compare with an earlier measurement)."""
    import yaml

    from automl.config import ResourceConfig, SearchConfig
    from automl.engine import run_trials
    from automl.space import build_search_space
    from automl.trial import TrainingSet

    from bench.common import ray_running

    epochs = epochs or max(1, round(seconds / epoch_seconds(prepared, components, probe)))
    space = build_search_space(registry, yaml.safe_load(SPACE.format(epochs=epochs)), prepared.task, prepared.input_kind)
    data = TrainingSet(prepared.task, prepared.input_shape, prepared.output_size,
                       prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val)
    slots = min(os.cpu_count() or 1, trials)
    with ray_running(num_cpus=slots), tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        records = run_trials(data, space, components, SearchConfig(num_trials=trials, scheduler="fifo"),
                             ResourceConfig(cpus_per_trial=1), Path(run_dir))
        platform_wall = time.perf_counter() - started
        first_training_s = training_start_s(Path(run_dir))
        per_trial = raw_seconds_per_trial(prepared, components, [r.config for r in records])
        floor_wall = tune_floor_seconds(per_trial, slots)
    serial = sum(per_trial)
    return {
        "trial_seconds": seconds, "trials": trials, "epochs_per_trial": epochs, "parallel_slots": slots,
        "platform_wall_s": round(platform_wall, 2), "raw_serial_s": round(serial, 2),
        "raw_per_trial_s": round(serial / trials, 2), "ratio": round(platform_wall / (serial / slots), 3), "target": 1.3,
        "first_training_s": first_training_s,
        "ratio_after_start_up": round((platform_wall - first_training_s) / (serial / slots), 3),
        "tune_floor_wall_s": round(floor_wall, 2), "tune_floor_ratio": round(floor_wall / (serial / slots), 3),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--more-trials", type=int, default=24,
                        help="a second run at the shortest trial length with this many trials (0: none)")
    parser.add_argument("--trial-seconds", "--seconds", type=float, nargs="+", default=[1.0, 10.0],
                        help="training seconds per trial (about); one measurement per value")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to keep the code from rotting")
    args = parser.parse_args(argv)
    if args.smoke:
        args.trials, args.more_trials, args.trial_seconds = 2, 4, [0.2, 0.4]

    import torch

    from automl.config import DataConfig
    from automl.data import prepare_data
    from automl.plugins import load_registry
    from automl.space import build_search_space
    from automl.trial import Components
    import yaml

    from bench.common import machine

    torch.set_num_threads(1)
    prepared = prepare_data("digits", DataConfig())
    registry = load_registry()
    probe_spec = yaml.safe_load(SPACE.format(epochs=3))
    space = build_search_space(registry, probe_spec, prepared.task, prepared.input_kind)
    components = Components({f: {n: registry.get(f, n).spec for n in space.names(f)} for f in space.components})
    probe = {"seed": 0, "epochs": 3, "batch_size": 64,
             "architecture": {"name": "mlp", "depth": 2, "width": 128, "activation": "relu", "normalization": "none"},
             "loss": {"name": "cross_entropy", "label_smoothing": 0.0}, "optimizer": {"name": "adam", "lr": 3e-3, "beta1": 0.9},
             "regularizers": {}}
    runs = [measure(prepared, registry, components, probe, args.trials, seconds) for seconds in args.trial_seconds]
    figures = {"machine": machine(), "trials": args.trials, "runs": runs}
    if args.more_trials > args.trials:
        shortest = min(runs, key=lambda run: run["trial_seconds"])
        runs.append(measure(prepared, registry, components, probe, args.more_trials, shortest["trial_seconds"],
                            shortest["epochs_per_trial"]))
    print(json.dumps(figures, indent=2))
    return figures


def to_markdown(figures: dict) -> str:
    """The overhead table for RESULTS.md, one row per run."""
    from bench.results import markdown_table

    def verdict(ratio: float) -> str:
        return f"{ratio} ({'met' if ratio <= 1.3 else 'not met'})"

    header = ["trial length (s, about)", "epochs per trial", "trials", "slots", "platform wall (s)",
              "plain loop serial (s)", "ideal: serial / slots (s)", "ratio (target <= 1.3)",
              "start-up: first trial training at (s)", "ratio of the wall after start-up",
              "bare Ray Tune, sleeping trials: wall (s), ratio"]
    rows = [[r["trial_seconds"], r["epochs_per_trial"], r["trials"], r["parallel_slots"], r["platform_wall_s"],
             r["raw_serial_s"], round(r["raw_serial_s"] / r["parallel_slots"], 2), verdict(r["ratio"]),
             r["first_training_s"], r["ratio_after_start_up"], f"{r['tune_floor_wall_s']}, {r['tune_floor_ratio']}"]
            for r in figures["runs"]]
    return ("Digits, MLP, FIFO, random search, 1 CPU per trial; the same configurations and epochs, with validation "
            "each epoch, in a plain PyTorch loop in one process with 1 thread. `ray.init` is not counted. The start-up "
            "is the time until the first trial began training. The last column runs the same number of trials in "
            "bare Ray Tune, each only sleeping for its configuration's plain-loop time: what Ray Tune itself costs on "
            "this machine, including trials of unequal length that do not divide evenly over the slots.\n\n"
            + markdown_table(header, rows))


if __name__ == "__main__":
    main()
