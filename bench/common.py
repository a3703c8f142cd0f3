"""Shared helpers for the benchmarks: the machine's description and a Ray session."""

from __future__ import annotations

import logging
import os
import platform
import time
from contextlib import contextmanager


def machine() -> str:
    import torch

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()} cores, {memory_gib:.0f} GiB, {gpu}, Python {platform.python_version()}, torch {torch.__version__}"


@contextmanager
def ray_running(num_cpus: int | None = None):
    import ray

    if ray.is_initialized():  # inside the test suite's shared session
        yield
        return
    started = time.perf_counter()
    from automl.engine.ray_cluster import LOCAL_RAY_SYSTEM_CONFIG

    ray.init(
        address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
        logging_level=logging.WARNING, _system_config=LOCAL_RAY_SYSTEM_CONFIG,  # as a search starts it
    )
    print(f"ray.init: {time.perf_counter() - started:.1f} s (once per session, not counted below)")
    try:
        yield
    finally:
        ray.shutdown()


def narrowed_space(folder, name: str, changes: dict) -> str:
    """A copy of the shipped space ``search_spaces/NAME.yaml`` in ``folder`` with ``changes``
    to its top-level keys (fewer epochs for a smoke run, fewer architectures); its path."""
    from pathlib import Path

    import yaml

    from automl.space import find_space_file

    space = {**yaml.safe_load(find_space_file(name).read_text()), **changes}
    path = Path(folder) / f"{name}_narrowed.yaml"
    path.write_text(yaml.safe_dump(space))
    return str(path)


def small_mlp_space(batch_size: int) -> str:
    """A search space YAML over a 2-layer MLP (width 64 or 128, Adam's lr), with ``{epochs}`` left to fill."""
    return f"""
epochs: {{epochs}}
batch_size: {batch_size}
architectures:
  include: [mlp]
  mlp: {{{{depth: 2, width: {{{{choice: [64, 128]}}}}, activation: relu, normalization: none}}}}
losses:
  cross_entropy: {{{{label_smoothing: 0.0}}}}
optimizers:
  include: [adam]
  adam: {{{{lr: {{{{loguniform: [1.0e-3, 1.0e-2]}}}}, beta1: 0.9, schedule: constant, warmup: 0.0}}}}
regularizers:
  include: []
"""
