"""GPU: samples per second per trial, concurrent trials with fractional GPUs, bf16 against fp32.

Skipped, with a message, where ``torch.cuda.is_available()`` is false. On a GPU machine, on a
synthetic 200k × 64 classification table and a wide MLP (batch 1024), through the platform's
engine (``run_trials``, FIFO):

- precision: one trial on a whole GPU, ``precision`` fp32 and bf16 (bfloat16 autocast);
- concurrency: ``gpus_per_trial`` 1, 0.5 and 0.25, as many trials as fit on one GPU at once;
  samples/s per trial and in total;
- GPU utilization and memory while each search runs, sampled by ``nvidia-smi`` every 200 ms.

Samples/s per trial = training rows × epochs / the trial's ``train_time_s`` (which includes
the per-epoch validation pass).

    python -m bench.gpu [--rows 200000] [--epochs 3] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

NOT_MEASURED = "not measured: no GPU was lent (torch.cuda.is_available() is false on this machine)"
SPACE = """
epochs: {epochs}
batch_size: 1024
architectures:
  include: [mlp]
  mlp: {{depth: 3, width: 1024, activation: relu, normalization: none}}
losses:
  cross_entropy: {{label_smoothing: 0.0}}
optimizers:
  include: [adam]
  adam: {{lr: 1.0e-3, beta1: 0.9, schedule: constant, warmup: 0.0}}
regularizers:
  include: []
"""


@contextmanager
def gpu_utilization(interval_ms: int = 200):
    """Samples ``nvidia-smi``'s utilization (%) and memory used (MiB) of GPU 0 while the block
    runs; yields a dict that holds ``utilization_mean``, ``utilization_max`` and
    ``memory_max_mib`` afterwards (empty when ``nvidia-smi`` is missing or printed nothing)."""
    figures: dict = {}
    command = shutil.which("nvidia-smi")
    if command is None:
        yield figures
        return
    sampler = subprocess.Popen(
        [command, "--id=0", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits", f"-lms={interval_ms}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield figures
    finally:
        sampler.terminate()
        output, _ = sampler.communicate(timeout=10)
        figures.update(parse_utilization(output))


def parse_utilization(output: str) -> dict:
    """``nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits`` lines → figures."""
    samples = []
    for line in output.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) == 2 and all(f.replace(".", "", 1).isdigit() for f in fields):
            samples.append((float(fields[0]), float(fields[1])))
    if not samples:
        return {}
    utilization = [u for u, _ in samples]
    return {"utilization_mean": round(sum(utilization) / len(utilization), 1), "utilization_max": max(utilization),
            "memory_max_mib": max(m for _, m in samples), "utilization_samples": len(samples)}


def search(data, space, components, trials: int, gpus_per_trial: float, precision: str) -> dict:
    """Run ``trials`` trials at once on the GPU; samples/s per trial and in total."""
    from automl.config import ResourceConfig, SearchConfig
    from automl.engine.run import run_trials

    with tempfile.TemporaryDirectory() as run_dir, gpu_utilization() as utilization:
        started = time.perf_counter()
        records = run_trials(data, space, components, SearchConfig(num_trials=trials, scheduler="fifo"),
                             ResourceConfig(cpus_per_trial=1, gpus_per_trial=gpus_per_trial, precision=precision), Path(run_dir))
        wall = time.perf_counter() - started
    rows = len(data.y_train)
    per_trial = [rows * len(r.history) / r.history[-1]["train_time_s"] for r in records if r.history]
    devices = sorted({str(r.metrics.get("device")) for r in records})
    return {"gpus_per_trial": gpus_per_trial, "precision": precision, "trials": trials, "trial_devices": devices,
            "wall_s": round(wall, 2), "samples_per_s_per_trial": round(float(np.mean(per_trial)), 0) if per_trial else float("nan"),
            "samples_per_s_total": round(rows * sum(len(r.history) for r in records) / wall, 0),
            "gpu_utilization": utilization}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows, args.epochs = 4000, 1

    import torch

    from bench.common import machine

    if not torch.cuda.is_available():
        print(NOT_MEASURED)
        return {"machine": machine(), "skipped": NOT_MEASURED}

    import pandas as pd
    import yaml
    from sklearn.datasets import make_classification

    from automl.config import DataConfig
    from automl.data import prepare_data
    from automl.registry import load_registry
    from automl.space import build_search_space
    from automl.training.records import Components, TrainingSet
    from bench.common import ray_running

    X, y = make_classification(n_samples=args.rows, n_features=64, n_informative=32, n_classes=4, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(target=y)
    prepared = prepare_data(frame, DataConfig(validation="holdout", target="target"))
    registry = load_registry()
    space = build_search_space(registry, yaml.safe_load(SPACE.format(epochs=args.epochs)), prepared.task, prepared.input_kind)
    components = Components({f: {n: registry.get(f, n).spec for n in space.names(f)} for f in space.components})
    data = TrainingSet(prepared.task, prepared.input_shape, prepared.output_size,
                       prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val)
    runs = []
    with ray_running():
        for precision in ("fp32", "bf16"):
            runs.append(search(data, space, components, 1, 1.0, precision))
        for fraction in (0.5, 0.25):
            runs.append(search(data, space, components, round(1 / fraction), fraction, "fp32"))
    figures = {"machine": machine(), "gpu": torch.cuda.get_device_name(0), "rows": args.rows,
               "train_rows": len(prepared.y_train), "epochs": args.epochs, "runs": runs}
    print(json.dumps(figures, indent=2))
    return figures


def to_markdown(figures: dict) -> str:
    """This benchmark's table for RESULTS.md."""
    from bench.results import markdown_table

    if "skipped" in figures:
        return f"**{figures['skipped']}.** `python -m bench.gpu` measures this section on a machine with CUDA."
    def utilization(run: dict) -> list:
        sampled = run.get("gpu_utilization") or {}
        if not sampled:
            return ["not sampled (no nvidia-smi output)", ""]
        return [f"{sampled['utilization_mean']} / {sampled['utilization_max']}", sampled["memory_max_mib"]]

    header = ["GPUs per trial", "precision", "concurrent trials", "trial devices", "wall s", "samples/s per trial",
              "samples/s total", "GPU utilization % (mean / max)", "GPU memory max MiB"]
    rows = [[r["gpus_per_trial"], r["precision"], r["trials"], ", ".join(r["trial_devices"]), r["wall_s"],
             r["samples_per_s_per_trial"], r["samples_per_s_total"], *utilization(r)] for r in figures["runs"]]
    return (f"{figures['gpu']}; synthetic {figures['rows']} × 64 classification ({figures['train_rows']} training rows), "
            f"MLP 3 × 1024, batch 1024, {figures['epochs']} epochs, FIFO, 1 CPU per trial.\n\n" + markdown_table(header, rows))


if __name__ == "__main__":
    main()
