"""The engine: runs the trials of a search space on Ray Tune and collects one record per trial."""

from __future__ import annotations

import itertools
import logging
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl.config import ResourceConfig, SearchConfig
from automl.errors import AutoMLError
from automl.options import CHECKPOINTING_SCHEDULERS, SCHEDULERS, SEARCHERS
from automl.portfolio import Portfolio, resolve_portfolio
from automl.space import SearchSpace, domain_bounds
from automl.tasks import Task, task_named
from automl.training.failures import failure_of
from automl.training.records import Components, TrainingSet
from automl.training.reporting import EARLIER_EPOCHS_KEY, ReportPlan
from automl.training.trainable import train_trial

DEFAULT_NUM_TRIALS = 20

# A Ray instance this process starts has its workers import torch before they are handed a
# trial (Ray's `preload_python_modules`), so no trial actor waits the seconds torch takes to import.
LOCAL_RAY_SYSTEM_CONFIG = {"preload_python_modules": ["torch"]}


@dataclass
class TrialRecord:
    """A finished (or failed, or stopped) trial: its config, last reported metrics and status.

    A failed trial's ``status`` is one of ``automl.training.failures.FAILED_STATUSES`` and ``error`` its reason.
    """

    trial_id: str
    config: dict
    metrics: dict
    status: str
    error: str = ""
    history: list[dict] = field(default_factory=list)
    checkpoint: str = ""  # the latest checkpoint's folder (with --ensemble it holds the best val outputs)

    @property
    def failed(self) -> bool:
        """Whether the trial failed (raised, diverged, ran out of memory, lost its worker): it has no score."""
        return bool(self.error)


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


def check_search_space(search: SearchConfig, space: SearchSpace) -> None:
    """Refuse, before a run directory exists, a scheduler the resolved space cannot serve."""
    if search.scheduler == "pbt":
        pbt_mutations(space)


ASHA_GRACE_EPOCHS = 1
REDUCTION_FACTOR = 3


def asha_rungs(max_epochs: int) -> list[int]:
    """The epochs where ASHA decides: the grace period times powers of the reduction factor, up to ``max_epochs``."""
    rungs, rung = [], ASHA_GRACE_EPOCHS
    while rung <= max(max_epochs, 1):
        rungs.append(rung)
        rung *= REDUCTION_FACTOR
    return rungs


def hyperband_brackets(max_epochs: int) -> int:
    """HyperBand's brackets for trials of up to ``max_epochs``: one per rung below ``max_epochs``
    (each bracket's grace period), and at least one."""
    return max(1, sum(rung < max_epochs for rung in asha_rungs(max_epochs)))


def make_scheduler(name: str, space: SearchSpace, seed: int):
    """A Ray Tune trial scheduler; epochs (the reported ``epoch``) are the budget dimension.

    ``hyperband`` is asynchronous HyperBand (Li et al., 2020): ASHA's successive halving in
    several brackets, each with a longer grace period, so that slow starters get a chance. Like
    ASHA it never pauses a trial (Ray Tune's synchronous HyperBandScheduler pauses each trial at
    its milestone until the bracket catches up; under two busy test workers such a search was
    still in Tune's loop after 9 minutes).
    """
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, PopulationBasedTraining

    max_epochs = max(space.max_epochs(), 1)
    if name == "asha":
        return ASHAScheduler(time_attr="epoch", max_t=max_epochs, grace_period=ASHA_GRACE_EPOCHS, reduction_factor=REDUCTION_FACTOR)
    if name == "fifo":
        return FIFOScheduler()
    if name == "hyperband":
        return ASHAScheduler(time_attr="epoch", max_t=max_epochs, grace_period=ASHA_GRACE_EPOCHS,
                             reduction_factor=REDUCTION_FACTOR, brackets=hyperband_brackets(max_epochs))
    if name == "pbt":
        return PopulationBasedTraining(
            time_attr="epoch",
            perturbation_interval=max(1, max_epochs // 4),
            hyperparam_mutations=pbt_mutations(space),
            quantile_fraction=0.25,
            # Synchronous: every trial reaches each perturbation point before the weakest exploit
            # the strongest, so short or staggered trials are compared too.
            synch=True,
        )
    raise AutoMLError(f"unknown scheduler '{name}'", f"use one of: {', '.join(SCHEDULERS)}")


def report_plan(scheduler: str, space: SearchSpace) -> ReportPlan:
    """The epochs at which trials must report as they end: where ``scheduler`` decides.

    ASHA and HyperBand decide at their rungs (grace period times powers of the reduction factor;
    each HyperBand bracket's rungs are some of these); FIFO never; PBT clones trials at any
    epoch, so it gets every epoch.
    """
    if scheduler == "fifo":
        return ReportPlan(frozenset())
    if scheduler in ("asha", "hyperband"):
        return ReportPlan(frozenset(asha_rungs(space.max_epochs())))
    return ReportPlan(None)


def pbt_mutations(space: SearchSpace) -> dict:
    """PBT perturbs the learning rate, within the union of the offered optimizers' lr ranges."""
    from ray import tune

    bounds = []
    for name, params in space.components["optimizers"].items():
        if "lr" not in params:
            raise AutoMLError(f"PBT mutates the learning rate, but optimizer '{name}' has no 'lr'", "exclude that optimizer or use another scheduler")
        bounds.append(domain_bounds(params["lr"]))
    low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
    if low == high:
        low, high = low / 10, high * 10
    return {"optimizer": {"lr": tune.loguniform(low, high)}}


def trial_slots(resources: ResourceConfig) -> int:
    """How many trials the Ray cluster can run at once with each trial's CPUs and GPUs."""
    import ray

    available = ray.cluster_resources()
    slots = int(available.get("CPU", 1.0) // resources.cpus_per_trial) if resources.cpus_per_trial else 1
    if resources.gpus_per_trial:
        slots = min(slots, int(available.get("GPU", 0.0) // resources.gpus_per_trial))
    return max(1, slots)


def make_searcher(
    name: str, space: SearchSpace, metric: str, mode: str, seed: int, max_concurrent: int | None, portfolio: list[dict] = (),
    slots: int = 1, sampler_seed: int | None = None,
):
    """A Ray Tune search algorithm; Optuna's samplers follow the conditional space define-by-run.

    ``portfolio`` (complete trial configs, :mod:`automl.portfolio`) runs first, in order, as
    Ray Tune's ``points_to_evaluate``; the grid searcher ignores it (a grid is exhaustive).
    An Optuna searcher runs in a ``ConcurrencyLimiter`` of ``max_concurrent`` or else ``slots``
    (the trials the cluster holds at once): Ray Tune keeps as many trials pending as that
    limit, and one alone without it, so short trials would start one after another.
    ``sampler_seed`` (default ``seed``) seeds Optuna's sampler alone; ``seed`` also goes into
    every trial config.
    """
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.basic_variant import BasicVariantGenerator

    if name == "grid" or (name == "random" and not portfolio):
        return BasicVariantGenerator(random_state=seed, max_concurrent=max_concurrent or 0)
    if name == "random":
        return _portfolio_first_generator()(points_to_evaluate=list(portfolio), random_state=seed, max_concurrent=max_concurrent or 0)
    if name in ("tpe", "gp"):
        import optuna

        from automl.space import define_by_run_point

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        sampler_seed = seed if sampler_seed is None else sampler_seed
        sampler = (
            optuna.samplers.TPESampler(seed=sampler_seed, multivariate=True, group=True)
            if name == "tpe"
            else optuna.samplers.GPSampler(seed=sampler_seed)
        )
        searcher_class = _conditional_optuna_search()
        # Optuna enqueues the points as fixed values of the parameters the define-by-run space suggests.
        points = [define_by_run_point(config, space) for config in portfolio] or None
        searcher = searcher_class(
            space=space.define_by_run(seed), metric=f"val_{metric}", mode=mode, sampler=sampler, points_to_evaluate=points,
        )
        return ConcurrencyLimiter(searcher, max_concurrent or slots)
    raise AutoMLError(f"unknown searcher '{name}'", f"use one of: {', '.join(SEARCHERS)}")


def _conditional_optuna_search():
    # Defined on demand so that importing the engine does not import Optuna.
    from ray.tune.search.optuna import OptunaSearch

    from automl.space import strip_component_prefixes

    class ConditionalOptunaSearch(OptunaSearch):
        """Optuna define-by-run whose suggestions come back as the nested trial config."""

        def suggest(self, trial_id):
            config = super().suggest(trial_id)
            return strip_component_prefixes(config) if isinstance(config, dict) else config

        def tell_finished(self, config: dict, result: dict | None) -> None:
            """Add to the study a trial that ran without this searcher's suggestion (one of a
            resumed search): the parameters of its ``config``, with the value Tune tells for a
            trial that ends (its last result's metric), or failed (``result`` None, or no value)."""
            import math

            import optuna

            from automl.space import define_by_run_point

            # Run the define-by-run space on the config's own values: it names each parameter's distribution.
            fixed = optuna.trial.FixedTrial(define_by_run_point(config, self._space.space))
            self._space(fixed)
            value = (result or {}).get(self.metric)
            finite = isinstance(value, (int, float)) and math.isfinite(value)
            state = optuna.trial.TrialState.COMPLETE if finite else optuna.trial.TrialState.FAIL
            self._ot_study.add_trial(optuna.trial.create_trial(
                state=state, value=float(value) if finite else None, params=fixed.params, distributions=fixed.distributions))

    return ConditionalOptunaSearch


def _portfolio_first_generator():
    # Defined on demand so that importing the engine does not import Ray.
    import copy

    from ray.tune.experiment import _convert_to_experiment_list
    from ray.tune.search.basic_variant import SERIALIZATION_THRESHOLD, BasicVariantGenerator, _TrialIterator
    from ray.tune.search.variant_generator import _count_spec_samples

    class PortfolioFirstGenerator(BasicVariantGenerator):
        """Random search whose ``points_to_evaluate`` are whole trial configs, tried first.

        Tune's own generator overlays each point on the ``param_space`` key by key, which cannot
        reach inside a choice among component blocks (``architecture``: one dict per
        architecture) and fails. Here each point is a one-trial experiment of its own, chained
        before the sampled trials, so the point's config is the trial's config, and the
        iterators are the generator's saved state as in Tune's (a resume continues them).
        """

        def add_configurations(self, experiments):
            for experiment in _convert_to_experiment_list(experiments):
                spec = experiment.spec
                num_samples = spec.get("num_samples", 1)
                points = copy.deepcopy(self._points_to_evaluate)[:num_samples]
                runs = [({**spec, "config": point, "num_samples": 1}, 1) for point in points]
                if num_samples > len(points):
                    runs.append((spec, num_samples - len(points)))
                for run_spec, count in runs:
                    lazy_eval = _count_spec_samples(run_spec, num_samples=1) > SERIALIZATION_THRESHOLD
                    iterator = _TrialIterator(
                        uuid_prefix=self._uuid_prefix, num_samples=count, unresolved_spec=run_spec,
                        constant_grid_search=self._constant_grid_search, lazy_eval=lazy_eval,
                        start=self._total_samples, random_state=self._random_state,
                    )
                    self._total_samples += count * _count_spec_samples(run_spec, num_samples=1)
                    self._iterators.append(iterator)
                    self._trial_generator = itertools.chain(self._trial_generator, iterator)

    return PortfolioFirstGenerator


def trial_count(search: SearchConfig) -> int:
    """Ray Tune's ``num_samples`` for a search (-1: until the time budget)."""
    if search.searcher == "grid":
        return search.num_trials or 1  # each sample is one full pass over the grid
    return search.num_trials or (-1 if search.time_budget_s else DEFAULT_NUM_TRIALS)


def search_portfolio(space: SearchSpace, task: str, input_kind: str, search: SearchConfig, registry=None) -> Portfolio:
    """The portfolio entries a search runs first, cut to its trial count (none for grid search)."""
    if search.searcher == "grid":
        return Portfolio()
    return resolve_portfolio(space, task, input_kind, search.seed, registry=registry).first(trial_count(search))


def run_trials(
    data: TrainingSet,
    space: SearchSpace,
    components: Components,
    search: SearchConfig,
    resources: ResourceConfig,
    run_dir: Path,
    verbose: bool = False,
    callbacks: list | None = None,
    resume_spent_s: float | None = None,
    task: Task | None = None,
    portfolio: Portfolio | None = None,
) -> list[TrialRecord]:
    """Run the search on Ray Tune and return one record per trial.

    The ``portfolio`` (default: :func:`search_portfolio`) runs first, cut to the trial count.

    ``callbacks`` are Ray Tune callbacks (tracking, progress display) passed in by the API layer.
    ``resume_spent_s`` (seconds the search already ran) continues the interrupted search of
    ``run_dir`` instead, from the run directory's own records (``automl.resumed_search``):
    finished trials keep their records, unfinished ones run again from their newest whole
    checkpoint, and the trial count and time budget count what was already spent.
    """
    from ray import tune

    from automl.resume import make_search_log
    from automl.resumed_search import begin_resume, portfolio_left, resumed_searcher

    check_resources(resources)
    task = task or task_named(data.task)
    metric, mode = task.ranking(data.metric)
    num_trials = trial_count(search)
    portfolio = search_portfolio(space, data.task, data.input_kind, search) if portfolio is None else portfolio.first(num_trials)
    checkpoint_every = search.checkpoint_every or (1 if search.scheduler in CHECKPOINTING_SCHEDULERS else 0)
    # Bound to the trainable once: Ray puts `data` in the object store a single time.
    trainable = tune.with_parameters(
        train_trial, data=data, components=components, task=task, checkpoint_every=checkpoint_every, precision=resources.precision,
        keep_val_outputs=search.ensemble_size > 1 and task.ensembles, report_plan=report_plan(search.scheduler, space),
        keep_fold_models=bool(data.folds) and search.final_model == "bag",
    )
    trainable = tune.with_resources(trainable, {"cpu": resources.cpus_per_trial, "gpu": resources.gpus_per_trial})
    scheduler = make_scheduler(search.scheduler, space, search.seed)
    experiment = experiment_path(run_dir, resources)
    # Trial folders this machine can read (a resume reads their checkpoints); not those on remote storage.
    local_experiment = Path(experiment) if "://" not in experiment else None
    plan = None
    if resume_spent_s is not None:
        plan = begin_resume(run_dir, local_experiment, num_trials, search.time_budget_s, resume_spent_s, scheduler)
    # Journals every result into the run directory: histories and finished trials survive a kill.
    search_log = make_search_log(run_dir, scheduler, resume_spent_s or 0.0)
    journal = search_log.journal
    if plan is not None and plan.runs_nothing:
        return journal_records(journal, journal.trial_ids(), local_experiment, space.max_epochs())
    # Optuna enqueues only the portfolio entries that did not run; random search makes its whole
    # seeded sequence again, the portfolio first, and skips what ran (resumed_searcher).
    optuna = search.searcher in ("tpe", "gp")
    searcher = make_searcher(search.searcher, space, metric, mode, search.seed, search.max_concurrent,
                             portfolio_left(portfolio.configs, journal, space) if plan is not None and optuna else portfolio.configs,
                             trial_slots(resources),
                             # A sampler seeded as before would draw the configs that already ran again.
                             sampler_seed=None if plan is None else search.seed + len(journal.starts))
    samples = num_trials
    if plan is not None:
        searcher, samples = resumed_searcher(searcher, search, plan, num_trials)
    tune_config = tune.TuneConfig(
        metric=f"val_{metric}",
        mode=mode,
        scheduler=scheduler,
        search_alg=searcher,
        num_samples=samples,
        time_budget_s=plan.seconds_left if plan is not None else search.time_budget_s,
        reuse_actors=True,
        trial_dirname_creator=lambda trial: trial.trial_id,
    )
    storage_path, name = experiment_location(run_dir, resources.storage)
    run_config = tune.RunConfig(
        name=name,
        storage_path=storage_path,
        verbose=1 if verbose else 0,
        # A retry goes on from the trial's latest checkpoint (automl.training.checkpoints.restore_from), else starts afresh.
        failure_config=tune.FailureConfig(max_failures=search.max_failures),
        # PBT restores other trials' older checkpoints: keep them.
        checkpoint_config=tune.CheckpointConfig(num_to_keep=None if search.scheduler in CHECKPOINTING_SCHEDULERS else 2),
        callbacks=[search_log, *(callbacks or [])],
    )
    param_space = {} if optuna else space.to_tune(search.seed, grid=search.searcher == "grid")
    tuner = tune.Tuner(trainable, param_space=param_space, tune_config=tune_config, run_config=run_config)
    with tune_settings():
        results = tuner.fit()
    records = [_record(r, space.max_epochs(), search_log.results.get(Path(r.path).name, []), journal.config_of(Path(r.path).name))
               for r in results]
    # With a time budget and no trial count, Tune queues trials the budget never reached.
    records = [r for r in records if r.status != "no result" or r.error]
    return records if plan is None else resumed_records(records, journal, local_experiment, space.max_epochs())


# Read by Ray Tune while a search runs; set only around this engine's own ``Tuner.fit``, so that
# other Tune code in the same process keeps its defaults. A value the user set wins.
TUNE_ENVIRONMENT = {
    "RAY_AIR_NEW_OUTPUT": "0",
    # Tune's own per-trial JSON/CSV/TensorBoard files cost a write per reported epoch; the
    # search log keeps every epoch already (see automl.resume).
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    # Ensembles and bags checkpoint every improving epoch (the best outputs and fold models);
    # Tune would warn about each burst of such checkpoints on the user's screen.
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "0",
}


@contextmanager
def tune_settings():
    """:data:`TUNE_ENVIRONMENT` for the duration of one search, then the process's own again."""
    saved = {key: os.environ.get(key) for key in TUNE_ENVIRONMENT}
    # Without Tune's result files, building the ResultGrid warns once per trial that it found none.
    analysis_logger = logging.getLogger("ray.tune.analysis.experiment_analysis")
    level = analysis_logger.level
    os.environ.update({key: value for key, value in TUNE_ENVIRONMENT.items() if saved[key] is None})
    analysis_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        analysis_logger.setLevel(level)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)


def experiment_location(run_dir: Path, storage: str | None) -> tuple[str, str]:
    """Ray Tune's ``(storage_path, name)``: trial records go to ``RUN_DIR/trials``, or to
    ``STORAGE/<run directory name>`` with ``--storage``.

    Tune stages a driver's files in ``<Ray session>/artifacts/<second>/<name>`` before copying
    them to ``storage_path/name``; two searches started in the same second on one Ray cluster
    under the same name would share that folder and copy each other's trials. So the local name
    is the run directory's whole path (``storage_path`` is the root), unique to each search.
    """
    resolved = run_dir.resolve()
    if storage is not None:
        return storage, resolved.name
    return resolved.anchor, (resolved / "trials").relative_to(resolved.anchor).as_posix()


def experiment_path(run_dir: Path, resources: ResourceConfig) -> str:
    """Where Ray Tune keeps the experiment of ``run_dir`` (its state, trials and checkpoints)."""
    storage_path, name = experiment_location(run_dir, resources.storage)
    return f"{storage_path.rstrip('/')}/{name}"


def _record(result, max_epochs: int, results: list[dict], journaled_config: dict | None = None) -> TrialRecord:
    """A trial's record from Ray Tune's result and the journal's epochs and config of it."""
    from automl.resume import history_rows

    metrics = {k: v for k, v in (result.metrics or {}).items() if k != EARLIER_EPOCHS_KEY}
    if results and (results[-1].get("epoch") or 0) >= (metrics.get("epoch") or 0):
        # The journal knows the trial's last epoch even when Tune's result lags behind it.
        metrics.update(results[-1])
    # A resumed trial the time budget stopped before it started again has no result, nor config, from Tune.
    config = dict(result.config or metrics.get("config") or journaled_config or {})
    trial_id = Path(result.path).name  # the trial directory is named by trial id (see run_trials)
    # Failed: raised, diverged, out of memory or worker died (automl/training/failures.py).
    status, error = failure_of(result.error, metrics, config)
    checkpoint = result.checkpoint.path if result.checkpoint is not None else ""
    return with_status(TrialRecord(trial_id, config, metrics, status, error, history_rows(results), checkpoint), max_epochs)


def journal_records(journal, trial_ids: list[str], experiment: Path | None, max_epochs: int) -> list[TrialRecord]:
    """The records of ``trial_ids`` from the journal alone (trials a previous driver ran),
    ended trials first in the order they ended; each with its newest whole checkpoint. A trial
    that never finished an epoch has none (as Tune's trials without a result are left out)."""
    from automl.resume import history_rows
    from automl.training.checkpoints import newest_whole_checkpoint

    ordered = [t for t in journal.ends if t in trial_ids] + [t for t in trial_ids if t not in journal.ends]
    records = []
    for trial_id in ordered:
        results, end, config = journal.results.get(trial_id, []), journal.ends.get(trial_id), journal.config_of(trial_id) or {}
        metrics = dict(results[-1]) if results else {}
        if end is not None and end.get("status") == "error":
            status, error = end.get("failure", "error"), end.get("error", "(its reason was not journaled)")
        else:
            status, error = failure_of(None, metrics, config)
        saved = newest_whole_checkpoint(experiment / trial_id) if experiment is not None else None
        record = TrialRecord(trial_id, config, metrics, status, error, history_rows(results), str(saved.folder) if saved else "")
        records.append(with_status(record, max_epochs))
    return [r for r in records if r.status != "no result" or r.error]


def resumed_records(records: list[TrialRecord], journal, experiment: Path | None, max_epochs: int) -> list[TrialRecord]:
    """Every record of a resumed search: the journal's for the trials that ended before this
    driver (and resumed ones the budget left no time to run again), then this driver's."""
    from automl.training.checkpoints import newest_whole_checkpoint

    for record in records:
        if not record.checkpoint and experiment is not None:
            # A resumed trial that wrote none since: the checkpoint it went on from holds its best outputs.
            saved = newest_whole_checkpoint(experiment / record.trial_id)
            record.checkpoint = str(saved.folder) if saved else ""
    ran = {r.trial_id for r in records}
    return journal_records(journal, [t for t in journal.trial_ids() if t not in ran], experiment, max_epochs) + records


def with_status(record: TrialRecord, max_epochs: int) -> TrialRecord:
    """The record with the status of a trial that did not fail: how far it got, and why it stopped."""
    if record.status:
        return record
    metrics = record.metrics
    if not metrics.get("epoch"):
        record.status = "no result"
    elif metrics.get("stop_reason"):
        record.status = f"early stopping: {metrics['stop_reason']}"
    elif metrics["epoch"] < int(record.config.get("epochs", max_epochs)):
        record.status = "stopped early"
    else:
        record.status = "completed"
    return record
