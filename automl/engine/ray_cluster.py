"""The Ray cluster a search runs on: start or join it, and what it can hold (a trial's CPUs and
GPUs, how many trials at once)."""

from __future__ import annotations

import logging
from typing import Any

from automl.config import ResourceConfig
from automl.errors import AutoMLError

# A Ray instance this process starts has its workers import torch before they are handed a
# trial (Ray's `preload_python_modules`), so no trial actor waits the seconds torch takes to import.
LOCAL_RAY_SYSTEM_CONFIG = {"preload_python_modules": ["torch"]}


def ensure_ray(resources: ResourceConfig, verbose: bool = False) -> bool:
    """Start or join Ray; returns True when this call started it (and so should shut it down)."""
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": verbose,
        "logging_level": logging.INFO if verbose else logging.WARNING,
    }
    try:
        # "local" starts a fresh instance: with None, Ray would join whatever `ray start`
        # cluster this machine last ran (or hang on one that has since stopped).
        if not resources.address:
            kwargs["_system_config"] = LOCAL_RAY_SYSTEM_CONFIG
        ray.init(address=resources.address or "local", **kwargs)
    except ConnectionError as exc:
        raise AutoMLError(
            f"cannot reach a Ray cluster at {resources.address}: {exc}",
            "start the cluster (`ray start --head`) or check --address",
        ) from None
    return True


def check_resources(resources: ResourceConfig) -> None:
    """Refuse a per-trial request the cluster can never grant (Ray would wait forever)."""
    import ray

    available = ray.cluster_resources()
    for key, wanted, flag in (("CPU", resources.cpus_per_trial, "--cpus-per-trial"), ("GPU", resources.gpus_per_trial, "--gpus-per-trial")):
        have = available.get(key, 0.0)
        if wanted > have:
            raise AutoMLError(
                f"each trial asks for {wanted:g} {key}(s) but the Ray cluster has {have:g}",
                f"lower {flag}, or join a cluster that has them with --address",
            )


def trial_slots(resources: ResourceConfig) -> int:
    """How many trials the Ray cluster can run at once with each trial's CPUs and GPUs."""
    import ray

    available = ray.cluster_resources()
    slots = int(available.get("CPU", 1.0) // resources.cpus_per_trial) if resources.cpus_per_trial else 1
    if resources.gpus_per_trial:
        slots = min(slots, int(available.get("GPU", 0.0) // resources.gpus_per_trial))
    return max(1, slots)
