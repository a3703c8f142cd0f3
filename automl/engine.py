"""The engine: runs the trials of a search space on Ray Tune and collects one record per trial."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl.config import ResourceConfig, SearchConfig
from automl.errors import AutoMLError
from automl.metrics import ranking_metric
from automl.space import SearchSpace
from automl.trial import Components, TrainingSet, train_trial

DEFAULT_NUM_TRIALS = 20


@dataclass
class TrialRecord:
    """A finished (or failed, or stopped) trial: its config, last reported metrics and status."""

    trial_id: str
    config: dict
    metrics: dict
    status: str
    error: str = ""
    history: list[dict] = field(default_factory=list)


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
        ray.init(address=resources.address or "local", **kwargs)
    except ConnectionError as exc:
        raise AutoMLError(
            f"cannot reach a Ray cluster at {resources.address}: {exc}",
            "start the cluster (`ray start --head`) or check --address",
        ) from None
    return True


def make_scheduler(name: str, max_epochs: int):
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    if name == "asha":
        return ASHAScheduler(time_attr="training_iteration", max_t=max(max_epochs, 1), grace_period=1, reduction_factor=3)
    if name == "fifo":
        return FIFOScheduler()
    raise AutoMLError(f"unknown scheduler '{name}'", "use one of: asha, fifo")


def make_searcher(name: str, seed: int, max_concurrent: int | None):
    from ray.tune.search.basic_variant import BasicVariantGenerator

    if name == "random":
        return BasicVariantGenerator(random_state=seed, max_concurrent=max_concurrent or 0)
    raise AutoMLError(f"unknown searcher '{name}'", "use one of: random")


def run_trials(
    data: TrainingSet,
    space: SearchSpace,
    components: Components,
    search: SearchConfig,
    resources: ResourceConfig,
    run_dir: Path,
    verbose: bool = False,
) -> list[TrialRecord]:
    """Run the search on Ray Tune and return one record per trial."""
    from ray import tune

    metric, mode = ranking_metric(data.task)
    num_trials = search.num_trials or (-1 if search.time_budget_s else DEFAULT_NUM_TRIALS)
    # Bound to the trainable once: Ray puts `data` in the object store a single time.
    trainable = tune.with_parameters(train_trial, data=data, components=components)
    trainable = tune.with_resources(trainable, {"cpu": resources.cpus_per_trial, "gpu": resources.gpus_per_trial})
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    tuner = tune.Tuner(
        trainable,
        param_space=space.to_tune(search.seed),
        tune_config=tune.TuneConfig(
            metric=f"val_{metric}",
            mode=mode,
            scheduler=make_scheduler(search.scheduler, space.max_epochs()),
            search_alg=make_searcher(search.searcher, search.seed, search.max_concurrent),
            num_samples=num_trials,
            time_budget_s=search.time_budget_s,
            reuse_actors=True,
            trial_dirname_creator=lambda trial: trial.trial_id,
        ),
        run_config=tune.RunConfig(
            name="trials",
            storage_path=str(run_dir.resolve()),
            verbose=1 if verbose else 0,
            failure_config=tune.FailureConfig(max_failures=0),
        ),
    )
    results = tuner.fit()
    return [_record(result, space.max_epochs()) for result in results]


def _record(result, max_epochs: int) -> TrialRecord:
    metrics = dict(result.metrics or {})
    config = dict(result.config or metrics.get("config") or {})
    trial_id = metrics.get("trial_id") or Path(result.path).name
    history = []
    if result.metrics_dataframe is not None and len(result.metrics_dataframe):
        keep = [c for c in result.metrics_dataframe.columns if c.startswith(("val_", "train_", "epoch", "best_"))]
        history = result.metrics_dataframe[keep].to_dict("records")
    if result.error is not None:
        status, error = "error", f"{type(result.error).__name__}: {result.error}".splitlines()[0]
    elif not metrics.get("epoch"):
        status, error = "no result", ""
    elif metrics.get("stop_reason"):
        status, error = f"early stopping: {metrics['stop_reason']}", ""
    elif metrics["epoch"] < int(config.get("epochs", max_epochs)):
        status, error = "stopped early", ""
    else:
        status, error = "completed", ""
    return TrialRecord(trial_id, config, metrics, status, error, history)
