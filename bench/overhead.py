"""Platform overhead per trial: N short trials through automl (Ray Tune, FIFO, 1 CPU each)
against the same configurations trained for the same epochs in a plain PyTorch loop in one
process. Prints wall(platform) / (serial raw time / parallel slots); the target is <= 1.3.

More figures separate the platform's cost per trial from what a search pays once:

- the start-up: when the first trial began training (trial workers starting, importing torch
  and the first optimizer's ``torch._dynamo``), and the ratio of the wall after it;
- runs at the shortest trial length with more trials (``--more-trials``), same epochs: the
  start-up is paid once per search, so the ratio falls towards the per-trial cost as N grows;
- Ray Tune's own floor: the same number of trials as a bare Tune function that only sleeps for
  each configuration's plain-loop time and reports once, so no torch, no data, no automl code;
- the hardware's own figure: the same configurations in one plain-loop process per slot at once,
  no Ray, timed after each process has warmed up.

    python -m bench.overhead [--trials 8] [--more-trials 24 64] [--trial-seconds 1 10] [--smoke]
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


def plain_epochs(data, components, config: dict, epochs: int | None = None):
    """The plain loop: build ``config``'s model and return the generator that trains it on
    ``data`` (a ``TrainingSet``) for ``epochs`` (default: the config's), validating each epoch,
    on the CPU, as a trial does."""
    import torch

    from automl.training.building import build_model
    from automl.tasks import task_named
    from automl.training.loop import train_epochs, validation_metrics

    cpu = torch.device("cpu")
    model = build_model(config, components, data.input_shape, data.output_size, cpu, data.facts())
    evaluate = validation_metrics(task_named(data.task).score, data.X_val, data.y_val, model.loss, 1.0, cpu)
    return train_epochs(model, data.X_train, data.y_train, epochs or int(config["epochs"]), int(config["batch_size"]),
                        cpu, int(config.get("seed", 0)), evaluate)


def epoch_seconds(data, components, config) -> float:
    """Time one epoch of the plain loop (with its validation), after a first epoch that warms up,
    to size trials to about ``--seconds`` of training."""
    epochs = plain_epochs(data, components, config, 6)
    next(epochs)
    started = time.perf_counter()
    for _ in epochs:
        pass
    return (time.perf_counter() - started) / 5


def raw_seconds_per_trial(data, components, configs) -> list[float]:
    """The same configurations and epochs, one after another, with validation each epoch."""
    import torch

    torch.set_num_threads(1)  # what each trial gets on the platform (1 CPU per trial)
    seconds = []
    for config in configs:
        started = time.perf_counter()
        for _ in plain_epochs(data, components, config):
            pass
        seconds.append(time.perf_counter() - started)
    return seconds


def plain_parallel_seconds(data, component_names: dict, configs: list[dict], slots: int) -> float:
    """The same configurations in ``slots`` plain-loop processes at once, each taking the next
    configuration when it finishes one (as Ray Tune's FIFO hands trials out): the wall from the
    moment every process is warm (torch imported, a first model trained for an epoch) until the
    last one finishes. What the hardware gives for ``slots`` trainings at once, without Ray."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no fork of a process that runs Ray
    todo, finished = context.Queue(), context.Queue()
    for config in configs:
        todo.put(config)
    for _ in range(slots):
        todo.put(None)
    warm = context.Barrier(slots + 1)
    workers = [context.Process(target=_plain_worker, args=(data, component_names, todo, warm, finished))
               for _ in range(slots)]
    for worker in workers:
        worker.start()
    warm.wait(timeout=300)
    started = time.perf_counter()
    for _ in workers:
        finished.get(timeout=3600)
    wall = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return wall


def _plain_worker(data, component_names: dict, todo, warm, finished) -> None:
    import torch

    from automl.registry import load_registry
    from automl.training.records import Components

    torch.set_num_threads(1)
    registry = load_registry()
    components = Components({family: {name: registry.get(family, name).spec for name in names}
                             for family, names in component_names.items()})
    config = todo.get()
    for _ in plain_epochs(data, components, config, 1):  # warm: the first optimizer imports torch._dynamo
        pass
    warm.wait(timeout=300)
    while config is not None:
        for _ in plain_epochs(data, components, config):
            pass
        config = todo.get()
    finished.put(True)


def training_start_clock():
    """A Ray Tune callback that remembers when the first trial began training, on this process's
    ``time.perf_counter`` (the clock the platform wall is timed with): the arrival of a trial's
    first report less the training seconds it carries."""
    from ray import tune

    class FirstTraining(tune.Callback):
        def __init__(self) -> None:
            self.started_at = float("inf")

        def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
            if "train_time_s" in result:
                self.started_at = min(self.started_at, time.perf_counter() - float(result["train_time_s"]))

    return FirstTraining()


def tune_floor_seconds(seconds_per_trial: list[float], slots: int) -> float:
    """Wall of a bare Ray Tune run whose trials only sleep for the given times and report once."""
    from ray import tune

    from automl.engine.run import tune_settings

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
    from automl.engine.run import run_trials
    from automl.space import build_search_space
    from automl.training.records import TrainingSet

    from bench.common import ray_running

    data = TrainingSet(prepared.task, prepared.input_shape, prepared.output_size, prepared.X_train, prepared.y_train,
                       prepared.X_val, prepared.y_val, input_kind=prepared.input_kind)
    epochs = epochs or max(1, round(seconds / epoch_seconds(data, components, probe)))
    space = build_search_space(registry, yaml.safe_load(SPACE.format(epochs=epochs)), data.task, data.input_kind)
    slots = min(os.cpu_count() or 1, trials)
    with ray_running(num_cpus=slots), tempfile.TemporaryDirectory() as run_dir:
        first_training = training_start_clock()
        started = time.perf_counter()
        records = run_trials(data, space, components, SearchConfig(num_trials=trials, scheduler="fifo"),
                             ResourceConfig(cpus_per_trial=1), Path(run_dir), callbacks=[first_training])
        platform_wall = time.perf_counter() - started
        first_training_s = round(first_training.started_at - started, 2)
        configs = [r.config for r in sorted(records, key=lambda r: r.trial_id)]  # the order Tune started them
        per_trial = raw_seconds_per_trial(data, components, configs)
        floor_wall = tune_floor_seconds(per_trial, slots)
        parallel_wall = plain_parallel_seconds(data, {f: list(space.names(f)) for f in space.components}, configs, slots)
    serial = sum(per_trial)
    return {
        "trial_seconds": seconds, "trials": trials, "epochs_per_trial": epochs, "parallel_slots": slots,
        "platform_wall_s": round(platform_wall, 2), "raw_serial_s": round(serial, 2),
        "raw_per_trial_s": round(serial / trials, 2), "ratio": round(platform_wall / (serial / slots), 3), "target": 1.3,
        "first_training_s": first_training_s,
        "ratio_after_start_up": round((platform_wall - first_training_s) / (serial / slots), 3),
        "tune_floor_wall_s": round(floor_wall, 2), "tune_floor_ratio": round(floor_wall / (serial / slots), 3),
        "plain_parallel_wall_s": round(parallel_wall, 2), "plain_parallel_ratio": round(parallel_wall / (serial / slots), 3),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--more-trials", type=int, nargs="*", default=[24, 64],
                        help="more runs at the shortest trial length, same epochs, with these many trials")
    parser.add_argument("--trial-seconds", "--seconds", type=float, nargs="+", default=[1.0, 10.0],
                        help="training seconds per trial (about); one measurement per value")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to keep the code from rotting")
    args = parser.parse_args(argv)
    if args.smoke:
        args.trials, args.more_trials, args.trial_seconds = 2, [], [0.2]

    import torch

    from automl.config import DataConfig
    from automl.data import prepare_data
    from automl.registry import load_registry
    from automl.space import build_search_space
    from automl.training.records import Components
    import yaml

    from bench.common import machine

    torch.set_num_threads(1)
    prepared = prepare_data("digits", DataConfig(validation="holdout"))
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
    shortest = min(runs, key=lambda run: run["trial_seconds"])
    for trials in (n for n in args.more_trials if n > args.trials):
        runs.append(measure(prepared, registry, components, probe, trials, shortest["trial_seconds"],
                            shortest["epochs_per_trial"]))
    print(json.dumps(figures, indent=2))
    return figures


def to_markdown(figures: dict) -> str:
    """The overhead tables for RESULTS.md: the target's ratio, then where the wall goes; a row per run."""
    from bench.results import markdown_table

    def verdict(ratio: float) -> str:
        return f"{ratio} ({'met' if ratio <= 1.3 else 'not met'})"

    target = markdown_table(
        ["trial length (s, about)", "epochs per trial", "trials", "slots", "platform wall (s)", "plain loop serial (s)",
         "ideal: serial / slots (s)", "ratio (target <= 1.3)"],
        [[r["trial_seconds"], r["epochs_per_trial"], r["trials"], r["parallel_slots"], r["platform_wall_s"],
          r["raw_serial_s"], round(r["raw_serial_s"] / r["parallel_slots"], 2), verdict(r["ratio"])]
         for r in figures["runs"]])
    where = markdown_table(
        ["trial length (s, about)", "trials", "start-up: first trial training at (s)", "platform after start-up: ratio",
         "plain loop, one process per slot at once: wall (s), ratio", "bare Ray Tune, sleeping trials: wall (s), ratio"],
        [[r["trial_seconds"], r["trials"], r["first_training_s"], r["ratio_after_start_up"],
          f"{r['plain_parallel_wall_s']}, {r['plain_parallel_ratio']}", f"{r['tune_floor_wall_s']}, {r['tune_floor_ratio']}"]
         for r in figures["runs"]])
    return ("Digits, MLP, FIFO, random search, 1 CPU per trial; the same configurations and epochs, with validation "
            "each epoch, in a plain PyTorch loop in one process with 1 thread. `ray.init` is not counted; every ratio "
            "divides by the same ideal (plain serial seconds / slots).\n\n" + target +
            "\n\nWhere the wall goes. The start-up is the time from the start of the search until the first trial began "
            "training (measured on the same clock as the wall); the ratio after it counts only the rest of the wall. "
            "The plain loop in one process per slot runs the same configurations with no Ray, after each process has "
            "imported torch and trained a first epoch: what the hardware gives for that many trainings at once. Bare "
            "Ray Tune runs the same number of trials, each only sleeping for its configuration's plain-loop time: what "
            "Ray Tune itself costs, start-up included, with trials of unequal length that do not divide evenly over "
            "the slots.\n\n" + where)


if __name__ == "__main__":
    main()
