"""Platform overhead per trial: N short trials through automl (Ray Tune, FIFO, 1 CPU each)
against the same configurations trained for the same epochs in a plain PyTorch loop in one
process. Prints wall(platform) / (serial raw time / parallel slots); the target is <= 1.3.

    python -m bench.overhead [--trials 8] [--seconds 1.0] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

SPACE = """
epochs: {epochs}
batch_size: 64
architectures:
  include: [mlp]
  mlp: {{depth: 2, width: {{choice: [64, 128]}}, activation: relu, normalization: none}}
losses:
  cross_entropy: {{label_smoothing: 0.0}}
optimizers:
  include: [adam]
  adam: {{lr: {{loguniform: [1.0e-3, 1.0e-2]}}, beta1: 0.9, schedule: constant, warmup: 0.0}}
regularizers:
  include: []
"""


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


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.0, help="training seconds per trial (about)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to keep the code from rotting")
    args = parser.parse_args(argv)
    if args.smoke:
        args.trials, args.seconds = 2, 0.2

    import torch

    from automl.config import DataConfig, ResourceConfig, SearchConfig
    from automl.data import prepare_data
    from automl.engine import run_trials
    from automl.plugins import load_registry
    from automl.space import build_search_space
    from automl.trial import Components, TrainingSet
    import yaml

    from bench.common import machine, ray_running

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
    epochs = max(1, round(args.seconds / epoch_seconds(prepared, components, probe)))
    space = build_search_space(registry, yaml.safe_load(SPACE.format(epochs=epochs)), prepared.task, prepared.input_kind)
    data = TrainingSet(prepared.task, prepared.input_shape, prepared.output_size,
                       prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val)
    slots = min(os.cpu_count() or 1, args.trials)
    with ray_running(num_cpus=slots), tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        records = run_trials(data, space, components, SearchConfig(num_trials=args.trials, scheduler="fifo"),
                             ResourceConfig(cpus_per_trial=1), Path(run_dir))
        platform_wall = time.perf_counter() - started
    configs = [r.config for r in records]
    serial = raw_serial_seconds(prepared, components, configs)
    ratio = platform_wall / (serial / slots)
    figures = {
        "machine": machine(), "trials": args.trials, "epochs_per_trial": epochs, "parallel_slots": slots,
        "platform_wall_s": round(platform_wall, 2), "raw_serial_s": round(serial, 2),
        "raw_per_trial_s": round(serial / args.trials, 2), "ratio": round(ratio, 3), "target": 1.3,
    }
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
