"""Platform overhead per trial: N short trials through automl (Ray Tune, FIFO, 1 CPU each)
against the same configurations trained for the same epochs in a plain PyTorch loop in one
process. Prints wall(platform) / (serial raw time / parallel slots); the target is <= 1.3.

    python -m bench.overhead [--trials 8] [--trial-seconds 1 10] [--smoke]
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


def raw_serial_seconds(prepared, components, configs) -> float:
    """The same configurations and epochs, one after another, with validation each epoch."""
    import torch

    from automl.trial import DataFacts, build_model, train_epochs, validation_metrics

    facts = DataFacts.of(prepared.task, prepared.input_kind, prepared.output_size, prepared.y_train)
    torch.set_num_threads(1)  # what each trial gets on the platform (1 CPU per trial)
    started = time.perf_counter()
    for config in configs:
        model = build_model(config, components, prepared.input_shape, prepared.output_size, torch.device("cpu"), facts)
        evaluate = validation_metrics(prepared.task, prepared.X_val, prepared.y_val, model.loss, 1.0, torch.device("cpu"))
        for _ in train_epochs(model, prepared.X_train, prepared.y_train, int(config["epochs"]), int(config["batch_size"]),
                              torch.device("cpu"), int(config["seed"]), evaluate):
            pass
    return time.perf_counter() - started


def measure(prepared, registry, components, probe: dict, trials: int, seconds: float) -> dict:
    """One overhead measurement: ``trials`` trials sized to about ``seconds`` of training each."""
    import yaml

    from automl.config import ResourceConfig, SearchConfig
    from automl.engine import run_trials
    from automl.space import build_search_space
    from automl.trial import TrainingSet

    from bench.common import ray_running

    epochs = max(1, round(seconds / epoch_seconds(prepared, components, probe)))
    space = build_search_space(registry, yaml.safe_load(SPACE.format(epochs=epochs)), prepared.task, prepared.input_kind)
    data = TrainingSet(prepared.task, prepared.input_shape, prepared.output_size,
                       prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val)
    slots = min(os.cpu_count() or 1, trials)
    with ray_running(num_cpus=slots), tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        records = run_trials(data, space, components, SearchConfig(num_trials=trials, scheduler="fifo"),
                             ResourceConfig(cpus_per_trial=1), Path(run_dir))
        platform_wall = time.perf_counter() - started
    serial = raw_serial_seconds(prepared, components, [r.config for r in records])
    return {
        "trial_seconds": seconds, "trials": trials, "epochs_per_trial": epochs, "parallel_slots": slots,
        "platform_wall_s": round(platform_wall, 2), "raw_serial_s": round(serial, 2),
        "raw_per_trial_s": round(serial / trials, 2), "ratio": round(platform_wall / (serial / slots), 3), "target": 1.3,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--trial-seconds", "--seconds", type=float, nargs="+", default=[1.0, 10.0],
                        help="training seconds per trial (about); one measurement per value")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to keep the code from rotting")
    args = parser.parse_args(argv)
    if args.smoke:
        args.trials, args.trial_seconds = 2, [0.2, 0.4]

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
    print(json.dumps(figures, indent=2))
    return figures


def to_markdown(figures: dict) -> str:
    """The overhead table for RESULTS.md, one row per trial length."""
    from bench.results import markdown_table

    header = ["trial length (s, about)", "epochs per trial", "trials", "slots", "platform wall (s)",
              "plain loop serial (s)", "ideal: serial / slots (s)", "ratio (target <= 1.3)"]
    rows = [[r["trial_seconds"], r["epochs_per_trial"], r["trials"], r["parallel_slots"], r["platform_wall_s"],
             r["raw_serial_s"], round(r["raw_serial_s"] / r["parallel_slots"], 2),
             f"{r['ratio']} ({'met' if r['ratio'] <= r['target'] else 'not met'})"] for r in figures["runs"]]
    return ("Digits, MLP, FIFO, random search, 1 CPU per trial; the same configurations and epochs, with validation "
            "each epoch, in a plain PyTorch loop in one process with 1 thread. `ray.init` is not counted.\n\n"
            + markdown_table(header, rows))


if __name__ == "__main__":
    main()
