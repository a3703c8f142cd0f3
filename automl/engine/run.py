"""One search on Ray Tune: the trainable bound to the data, the scheduler and searcher, Tune's
settings and experiment folder, and one record per trial at the end (:func:`run_trials`)."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path

from automl.config import ResourceConfig, SearchConfig
from automl.engine.ray_cluster import check_resources, trial_slots
from automl.engine.schedulers import make_scheduler, report_plan
from automl.engine.searchers import make_searcher
from automl.engine.trial_records import TrialRecord, journal_records, record_from_result, resumed_records
from automl.options import CHECKPOINTING_SCHEDULERS, DEFAULT_NUM_TRIALS
from automl.portfolio import Portfolio, resolve_portfolio
from automl.run_directory import RunDirectory
from automl.space import SearchSpace
from automl.tasks import Task, task_named
from automl.training.records import Components, TrainingSet
from automl.training.trainable import train_trial


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
    records = [record_from_result(r, space.max_epochs(), search_log.results.get(Path(r.path).name, []), journal.config_of(Path(r.path).name))
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


def experiment_location(run_dir: Path | RunDirectory, storage: str | None) -> tuple[str, str]:
    """Ray Tune's ``(storage_path, name)``: trial records go to the run directory's experiment
    folder (``RUN_DIR/trials``), or to
    ``STORAGE/<run directory name>`` with ``--storage``.

    Tune stages a driver's files in ``<Ray session>/artifacts/<second>/<name>`` before copying
    them to ``storage_path/name``; two searches started in the same second on one Ray cluster
    under the same name would share that folder and copy each other's trials. So the local name
    is the run directory's whole path (``storage_path`` is the root), unique to each search.
    """
    resolved = Path(run_dir).resolve()
    if storage is not None:
        return storage, resolved.name
    return resolved.anchor, RunDirectory(resolved).experiment_dir.relative_to(resolved.anchor).as_posix()


def experiment_path(run_dir: Path, resources: ResourceConfig) -> str:
    """Where Ray Tune keeps the experiment of ``run_dir`` (its state, trials and checkpoints)."""
    storage_path, name = experiment_location(run_dir, resources.storage)
    return f"{storage_path.rstrip('/')}/{name}"
