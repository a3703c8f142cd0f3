"""The Python API: ``AutoML(target="y").fit(df)`` runs the whole flow and returns a result.

The CLI is a thin layer over :class:`AutoML`; both run the same stages in the same order
(``AutoML._run``): prepare the data → resolve the space → run (or reload) the trials → select
(leaderboard, ensemble) → final model, tested once → report. The stages read and write the run
directory through :class:`automl.run_directory.RunDirectory` alone. The stages that need torch,
Ray or scikit-learn import them when they run, so that importing the API stays cheap.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from automl.config import DataConfig, ResourceConfig, SearchConfig, TrackingConfig
from automl.engine.schedulers import check_search_space
from automl.errors import AutoMLError
from automl.leaderboard import rank_trials, save_leaderboard
from automl.options import (
    TASK_OPTIONS, check_combinations, check_task_options, checked_options, default_options, explicit_options, given_keywords,
    options_signature, searcher_for, settings,
)
from automl.registry import load_registry
from automl.resume import split_fingerprint
from automl.run_directory import RunDirectory
from automl.run_records import SearchRequest, TrialRecord
from automl.space import build_search_space, load_space_file, space_for_input_kind
from automl.tracking.search_tracking import SearchTracking
from automl.training.failures import SearchFailed, failure_reasons
from automl.variants import preprocessing_variants

logger = logging.getLogger(__name__)


@dataclass
class SearchResult:
    """What a search produced: the ranked leaderboard, the best trial, test metrics, the model."""

    leaderboard: pd.DataFrame
    best: dict
    test_metrics: dict[str, float]
    run_dir: Path
    artifact_dir: Path
    metric: str
    data_report: dict = field(default_factory=dict)
    report_path: Path | None = None
    wandb_sync_command: str | None = None

    def predict(self, data) -> Any:
        """Predictions of the refitted best model for new rows (a DataFrame or a CSV path)."""
        from automl.data.load import load_prediction_input

        return self.predictor.predict(load_prediction_input(data))

    def sample(self, n: int, seed: int = 0) -> pd.DataFrame:
        """``n`` new rows from the refitted generator (``task="generate"`` only: a task that ``makes_rows``)."""
        if not hasattr(self.predictor, "sample"):
            makers = " or ".join(name for name, task in load_registry().tasks.items() if task.makes_rows)
            raise AutoMLError(f"sampling needs a {makers} model, this one does {self.predictor.task}", f"search with task='{makers}'")
        return self.predictor.sample(n, seed)

    @property
    def predictor(self):
        """The refitted final model, loaded once from ``artifact_dir`` (an :class:`automl.predictor.Predictor`)."""
        if not hasattr(self, "_predictor"):
            from automl.predictor import load

            self._predictor = load(self.artifact_dir)
        return self._predictor


class AutoML:
    """Search, rank, refit and save a PyTorch model for a table.

    Parameters mirror the CLI flags of ``automl search`` (data options: see
    :class:`automl.config.DataConfig`); ``fit`` accepts a DataFrame, an ``(X, y)`` pair of
    arrays, a CSV / Parquet / JSON Lines / .npz path, a folder of images with one subfolder
    per class, or a built-in dataset name (``digits``, ``iris``, ``wine``, ``breast_cancer``,
    ``diabetes``). ``task="cluster"`` and ``task="generate"`` need no target
    (a given one is set aside, unused); ``n_clusters`` fixes k for clustering (else searched).

    Every value is checked by the rule of its ``automl search`` flag (``num_trials`` a whole
    number of 1 or more, ``cpus_per_trial`` a positive number, ``scheduler`` one of its names,
    a string where a number is wanted refused): a value the CLI refuses raises
    :class:`AutoMLError` naming the keyword and the fix, before any work.
    An option the task would ignore (``class_weights`` for regression, ``test_data`` for
    clustering; the table is :data:`automl.options.TASK_OPTIONS`) or a pair Ray Tune refuses
    (``searcher="tpe"`` with ``scheduler="pbt"``) raises :class:`AutoMLError` here, before any
    work; an option the inferred task ignores, once the data has named the task.

    ``metric`` names the validation metric that ranks the trials (``accuracy``,
    ``balanced_accuracy``, ``f1_macro``, ``roc_auc``, ``log_loss``; ``rmse``, ``mae``, ``r2``;
    ``silhouette``; ``c2st_gap``), computed with ``sklearn.metrics``; its direction comes from
    the task, and the leaderboard, the schedulers, ensemble selection and the report follow it.

    ``wandb`` turns W&B tracking on (offline without an API key); ``callbacks`` are extra
    Ray Tune callbacks, such as the CLI's progress display. ``report=False`` skips writing
    ``report.html`` (and its plots) into the run directory.
    ``validation`` is ``"holdout"``, ``"cv:K"`` or ``"auto"`` (K-fold up to
    :data:`automl.options.AUTO_CV_MAX_ROWS` training rows, see :mod:`automl.data.folds`); with
    folds, ``final_model`` is ``"bag"`` (the winner's fold models, averaged) or ``"refit"``.
    ``ensemble=K`` (K >= 2, default 10; 0 is off) adds a greedy ensemble of the top K trials,
    selected on their out-of-fold (or hold-out) predictions, as a leaderboard row, chosen as
    the final model only if it wins on validation.
    ``max_failures=N`` retries a crashed trial (it raised, ran out of memory or lost its worker)
    up to N times, from its latest checkpoint: at the next epoch when that holds training state
    (``checkpoint_every``), else from epoch 1 with its best score and outputs so far.

    A trial that fails is recorded with its status and reason and the search goes on; when
    every trial fails, ``fit`` writes the leaderboard and ``trials.jsonl`` and then raises
    :class:`automl.training.failures.SearchFailed` (an :class:`AutoMLError`) counting the reasons.
    """

    def __init__(self, callbacks: Sequence = (), **options: Any) -> None:
        given_keywords("AutoML", options, TASK_OPTIONS)
        # Every setting but the live callbacks: a resumed search is rebuilt from them (request.json).
        # Each value is checked by its flag's rule, so AutoML(...) refuses what `automl search` refuses.
        self.options = {**default_options(), **checked_options(options)}
        o = self.options
        # Every option a search would ignore or Ray Tune would refuse fails here, before any work.
        self.given_options = explicit_options(o, default_options())

        registry = functools.cache(lambda: load_registry(disabled=o["disable_plugins"]))  # loaded once, only if asked
        check_task_options(o["task"], self.given_options, lambda: registry().tasks)
        check_combinations(o, self.given_options)
        if o["task"] is not None and o["metric"] is not None:
            registry().task(o["task"]).ranking(o["metric"])  # a metric the task lacks fails here
        self.metric, self.n_clusters = o["metric"], o["n_clusters"]
        self.data_config = settings(DataConfig, o)
        self.search_config = settings(SearchConfig, o, searcher=searcher_for(o))
        self.resource_config = settings(ResourceConfig, o)
        self.tracking_config = settings(TrackingConfig, o)
        self.output, self.overwrite, self.verbose = o["output"], o["overwrite"], o["verbose"]
        self.disable_plugins = tuple(o["disable_plugins"])
        self.callbacks = list(callbacks)

    # The keywords are the options of automl.options.TASK_OPTIONS, declared there once.
    __init__.__signature__ = options_signature(extra=(
        inspect.Parameter("callbacks", inspect.Parameter.KEYWORD_ONLY, default=()),))

    def fit(self, data, on_event: Callable[[str, dict], None] | None = None) -> SearchResult:
        """Run the search; ``on_event(stage, info)`` reports progress (used by the CLI)."""
        return self._run(data, on_event)

    @classmethod
    def resume(
        cls, run_dir: str | Path, data=None, callbacks: Sequence = (),
        on_event: Callable[[str, dict], None] | None = None,
    ) -> SearchResult:
        """Continue the search in ``run_dir`` that was interrupted (a killed driver, a crash).

        Finished trials keep their results, unfinished ones run again under their ids from
        their newest whole checkpoint, the trial count and time budget count what was already
        spent, and a search killed while refitting only refits again. Only the run directory's
        own records are read (JSON and ``weights_only`` checkpoints, never Ray Tune's pickles). ``data`` is needed only when the search was given
        in-memory data (a DataFrame or arrays); a path or built-in name is read again.
        """
        request = RunDirectory(run_dir).read_request()
        if request.data is None and data is None:
            raise AutoMLError(
                f"the search in {run_dir} was given in-memory data, which a run directory does not keep",
                "pass the same data again: AutoML.resume(run_dir, data=...)",
            )
        if request.options.get("test_data") == "in memory":
            raise AutoMLError(f"the search in {run_dir} was given an in-memory test_data", "start a new search")
        automl = cls(**{**request.options, "output": request.run_dir, "overwrite": False, "callbacks": callbacks})
        return automl._run(data if data is not None else request.data, on_event, request)

    def _run(self, data, on_event, resumed: SearchRequest | None = None) -> SearchResult:
        """The flow of a search, stage by stage (a resumed search reloads what its run directory holds)."""
        emit = on_event or (lambda stage, info: None)
        plan = self._resolve_space(self._prepare(data, emit))
        run_dir = self._open_run_directory(plan, data, resumed, emit)
        tracking = SearchTracking(self.tracking_config, run_dir, f"val_{plan.metric}")
        records, search_seconds = self._run_or_reload_trials(plan, run_dir, tracking, resumed)
        selection = self._select(plan, records, run_dir, search_seconds, emit)
        refit = self._final_model(plan, selection, run_dir, search_seconds, emit)
        return self._report(plan, selection, refit, run_dir, tracking, search_seconds, emit)

    def _prepare(self, data, emit) -> SearchPlan:
        """Load, check, split and preprocess the data (every data check runs here, before the run directory exists)."""
        from automl.data import prepare_data

        spec, source = load_space_file(self.search_config.space)
        registry = load_registry(disabled=self.disable_plugins)
        prepared = prepare_data(data, self.data_config, preprocessing_variants(spec.get("preprocessing"), source), registry.tasks)
        check_task_options(prepared.task, self.given_options, registry.tasks)
        prepared = replace(prepared, n_clusters=self.n_clusters)
        emit("data", prepared.report)
        return SearchPlan(registry, prepared, spec, source)

    def _resolve_space(self, plan: SearchPlan) -> SearchPlan:
        """The task's ranking, the search space the task and input kind allow, the portfolio tried first, the components."""
        from automl.engine.run import search_portfolio
        from automl.training.building import check_losses_apply_class_weights
        from automl.training.records import Components

        prepared, registry = plan.prepared, plan.registry
        spec, source = plan.spec, plan.source
        kind_space = space_for_input_kind(self.search_config.space, prepared.input_kind)
        if kind_space != self.search_config.space:  # `default` follows the input kind
            spec, source = load_space_file(kind_space)
        task = registry.task(prepared.task)
        metric, mode = task.ranking(self.metric)
        space = build_search_space(registry, spec, prepared.task, prepared.input_kind, source)
        if "searcher" not in self.given_options and space.has_grid():
            # `grid` domains mean every value is tried: random search enumerates them, TPE would not.
            self.search_config = replace(self.search_config, searcher="random")
        check_search_space(self.search_config, space)
        portfolio = search_portfolio(space, prepared.task, prepared.input_kind, self.search_config, registry)
        if portfolio.summary():
            logger.info(portfolio.summary())
        components = Components.of(registry, {family: space.names(family) for family in space.components})
        if prepared.class_weights is not None:
            check_losses_apply_class_weights(components)
        return replace(plan, spec=spec, source=source, task=task, metric=metric, mode=mode, space=space,
                       portfolio=portfolio, components=components)

    def _open_run_directory(self, plan: SearchPlan, data, resumed: SearchRequest | None, emit) -> RunDirectory:
        """A new run directory with the search's request, or the resumed one, checked to hold the same split and space."""
        fingerprint = split_fingerprint(plan.prepared, plan.spec)
        if resumed is None:
            run_dir = RunDirectory.create(self.output or default_run_dir(plan.prepared.name), self.overwrite)
            run_dir.write_request(data, self.options, fingerprint)
            run_dir.write_data_report(plan.prepared.report)
        else:
            run_dir = RunDirectory(resumed.run_dir)
            if fingerprint != resumed.fingerprint:
                raise AutoMLError(
                    f"the data or the search space differ from those the search in {run_dir} started with",
                    "resume with the same data and space file, unchanged (or start a new search)",
                )
        space = plan.space
        emit("search", {"run_dir": str(run_dir), "space": plan.source, "components": {f: space.names(f) for f in space.components},
                        "resumed": resumed is not None, "metric": plan.metric, "mode": plan.mode,
                        "portfolio": "" if resumed is not None else plan.portfolio.summary()})
        return run_dir

    def _run_or_reload_trials(self, plan: SearchPlan, run_dir: RunDirectory, tracking: SearchTracking,
                              resumed: SearchRequest | None) -> tuple[list[TrialRecord], float]:
        """``(one record per trial, search seconds)``: the trials run on Ray Tune (a resumed search
        goes on from its journal), or, for a search killed after its trials, reloaded."""
        from automl.engine.ray_cluster import ensure_ray
        from automl.engine.run import run_trials

        spent = resumed.search_seconds if resumed is not None else 0.0
        if resumed is not None and resumed.stage == "refitting":
            # Killed after the search: its records are on disk, only the refit is left to do.
            return run_dir.read_trials(), spent
        started_ray = ensure_ray(self.resource_config, self.verbose)
        try:
            started = time.perf_counter()
            records = run_trials(
                training_set(plan), plan.space, plan.components, self.search_config, self.resource_config, run_dir.path,
                self.verbose, callbacks=[*tracking.callbacks(), *self.callbacks],
                resume_spent_s=spent if resumed is not None else None, task=plan.task, portfolio=plan.portfolio,
            )
            return records, spent + time.perf_counter() - started
        finally:
            if started_ray:
                import ray

                ray.shutdown()

    def _select(self, plan: SearchPlan, records: list[TrialRecord], run_dir: RunDirectory, search_seconds: float,
                emit) -> Selection:
        """Rank the trials (with an ensemble of the best as a row of its own), save the leaderboard, pick the winner."""
        metric, mode, task, prepared = plan.metric, plan.mode, plan.task, plan.prepared
        if self.search_config.ensemble_size > 1 and task.ensembles and not any(r.trial_id == "ensemble" for r in records):
            from automl.ensemble import choose_ensemble, rank_with_ensemble

            # Out-of-fold outputs cover the training rows; hold-out outputs the validation rows.
            y_selection = prepared.y_train if prepared.folds else prepared.y_val
            target_scale = getattr(prepared.target_encoder, "std_", 1.0)
            ensemble = choose_ensemble(records, self.search_config.ensemble_size, task, y_selection, target_scale,
                                       metric, fold_rows=[fold.val for fold in prepared.folds])
            emit("ensemble", {"note": ensemble.note, "skipped": ensemble.skipped, "formed": ensemble.record is not None})
            records, leaderboard = rank_with_ensemble(records, ensemble.record, metric, mode)
        else:  # no ensemble, or the one a resumed refit saved (first among the records, as ranked)
            ensemble = None
            leaderboard = rank_trials(records, metric, mode)
        save_leaderboard(leaderboard, records, run_dir)
        emit("leaderboard", {"leaderboard": leaderboard, "seconds": search_seconds, "metric": metric})
        if leaderboard.empty or pd.isna(leaderboard.loc[0, f"val_{metric}"]):
            raise SearchFailed(failure_reasons(records) or Counter(["no trial finished an epoch"]), run_dir.path)
        best = next(r for r in records if r.trial_id == leaderboard.loc[0, "trial_id"])
        return Selection(leaderboard, best, ensemble)

    def _final_model(self, plan: SearchPlan, selection: Selection, run_dir: RunDirectory, search_seconds: float, emit):
        """The winner as the final model (the bag of its fold models, or a refit), tested once and saved."""
        from automl.refit import bag_fallback, refit_and_test

        run_dir.write_state("refitting", search_seconds)
        fallback = bag_fallback(selection.best, plan.prepared, self.search_config.final_model)
        if fallback:
            emit("final_model", {"note": fallback})
        refit = refit_and_test(
            selection.best, plan.prepared, plan.components, run_dir.model_dir,
            on_epoch=lambda epoch, total, m: emit("refit_epoch", {"epoch": epoch, "epochs": total, **m}),
            precision=self.resource_config.precision, task=plan.task, final_model=self.search_config.final_model,
        )
        emit("test", {"test_metrics": refit.test_metrics, "artifact": str(refit.artifact_dir)})
        return refit

    def _report(self, plan: SearchPlan, selection: Selection, refit, run_dir: RunDirectory, tracking: SearchTracking,
                search_seconds: float, emit) -> SearchResult:
        """Save the result, write the report and the W&B summary, mark the search done."""
        metric, best_record, ensemble = plan.metric, selection.best, selection.ensemble
        best = {"trial_id": best_record.trial_id, "config": best_record.config, f"val_{metric}": selection.leaderboard.loc[0, f"val_{metric}"],
                "refit_epochs": refit.epochs, "final_model": refit.description, "final_model_note": refit.note}
        summary = {"best": best, "test_metrics": refit.test_metrics, "metric": metric, "mode": plan.mode}
        if ensemble is not None:
            summary["ensemble"] = {"formed": ensemble.record is not None, "note": ensemble.note, "skipped": ensemble.skipped}
        run_dir.write_result(summary)
        tracked = tracking.finish(selection.leaderboard, summary, refit.artifact_dir)
        run_dir.write_state("done", search_seconds)
        emit("tracking", {"report": tracked.report and str(tracked.report), "wandb_mode": tracked.wandb_mode, "sync_command": tracked.sync_command})
        return SearchResult(
            selection.leaderboard, best, refit.test_metrics, run_dir.path, refit.artifact_dir, metric, plan.prepared.report,
            tracked.report, tracked.sync_command,
        )


@dataclass(frozen=True)
class SearchPlan:
    """What the stages before the trials settle: the data, the registry, the task and its ranking,
    the space with its portfolio and components (the last filled in by ``AutoML._resolve_space``)."""

    registry: Any
    prepared: Any  # automl.data.PreparedData
    spec: dict
    source: str
    task: Any = None  # automl.tasks.Task
    metric: str = ""
    mode: str = ""
    space: Any = None  # automl.space.SearchSpace
    portfolio: Any = None  # automl.portfolio.Portfolio
    components: Any = None  # automl.training.records.Components


@dataclass(frozen=True)
class Selection:
    """The ranked leaderboard, the winning trial's record and the ensemble selection (None: not tried)."""

    leaderboard: pd.DataFrame
    best: TrialRecord
    ensemble: Any = None  # automl.ensemble's outcome of choose_ensemble


def training_set(plan: SearchPlan):
    """The trials' data: the prepared arrays (each fold's too) with the task's ranking."""
    from automl.training.records import TrainingSet

    return TrainingSet.of(plan.prepared, plan.metric, plan.mode)


def default_run_dir(dataset_name: str) -> Path:
    """``runs/<dataset>-<timestamp>``, unique within this process."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path("runs") / f"{dataset_name}-{stamp}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = Path("runs") / f"{dataset_name}-{stamp}-{suffix}"
    return path
