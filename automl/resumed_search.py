"""Resume a killed search from the platform's own records, never from Ray Tune's pickles.

A resumed search is a new Ray Tune run, built as a new search is (``automl.engine.run.run_trials``),
from the journal (``search_log.jsonl``, see ``automl.run_directory``), ``search_state.json``, the
scheduler's JSON state and the trials' checkpoints (``automl.training.checkpoints``):

- a trial that ended keeps its record, rebuilt from the journal, and is told to the searcher
  (Optuna's study gets it as a finished trial; random and grid search skip its config);
- a trial that was running runs again first, with its own trial id and config, from its newest
  whole checkpoint: at the next epoch when that holds training state, else from epoch 1 with
  its best score and outputs so far (``automl.training.checkpoints.restore_from``), or afresh without one;
- the budget is what is left: the trial count less the trials that started, the time budget
  less the seconds spent. A search whose trials were over (the journal says so) runs none.

The records of the trials a previous driver ran come from the journal
(``automl.engine.trial_records.journal_records``).

Why keep trial ids: ASHA's saved rungs are keyed by them, and the leaderboard, the trial
folders and the W&B runs name trials by them. How: :func:`resumed_trials_first` wraps the
search algorithm so that Tune gets the resumed trials (``Trial`` objects built with their old
id, config and checkpoint) before any new one. That is simpler than mapping new ids to old
ones everywhere an id is read, and Tune runs, retries and checkpoints them like any trial.

Ray Tune internals this leans on (read in Ray 2.60's code): ``_create_trial_from_spec`` and
``_make_parser`` (how Tune's own search algorithms build a trial from the experiment spec,
``trial_id`` included), the spec's ``restore`` (a trial seeded with a checkpoint folder, which
Tune restores before it trains, and again on a retry until it checkpoints anew), the
``StorageContext.current_checkpoint_index`` (so the trial's new checkpoints are numbered after
the old ones instead of being copied into them), and the ``searcher`` attribute through which
Tune finds a ``ConcurrencyLimiter`` to size its queue of pending trials.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from automl.resume import journal_checkpointed_epochs, restore_scheduler
from automl.run_directory import RunDirectory
from automl.run_records import Journal
from automl.training.checkpoints import SavedCheckpoint, checkpoint_folders, checkpoint_index, newest_whole_checkpoint

if TYPE_CHECKING:
    from automl.config import SearchConfig
    from automl.space import SearchSpace


@dataclass(frozen=True)
class ResumedTrial:
    """A trial that was running when the search was killed, as it runs again."""

    trial_id: str
    config: dict
    checkpoint: SavedCheckpoint | None  # its newest whole checkpoint
    last_checkpoint_index: int = -1  # of every checkpoint folder it has, whole or not

    @classmethod
    def of(cls, trial_id: str, config: dict, trial_dir: Path | None) -> "ResumedTrial":
        """The trial, with what its folder (``None``: out of reach, e.g. on remote storage) holds."""
        if trial_dir is None:
            return cls(trial_id, config, None)
        folders = checkpoint_folders(trial_dir)
        return cls(trial_id, config, newest_whole_checkpoint(trial_dir), checkpoint_index(folders[-1]) if folders else -1)


@dataclass(frozen=True)
class ResumePlan:
    """What a resumed search runs: the trials that were running, then new ones up to the budget left."""

    journal: Journal
    resumed: list[ResumedTrial]
    trials_left: int  # new trials to sample; -1: until the time budget ends
    seconds_left: float | None  # None: no time budget

    @property
    def runs_nothing(self) -> bool:
        """Whether the search's trials are over: it only ranks, ensembles and refits."""
        out_of_time = self.seconds_left is not None and self.seconds_left <= 0
        return self.journal.search_ended or out_of_time or (not self.resumed and self.trials_left == 0)


def plan_resume(journal: Journal, experiment_dir: Path | None, num_trials: int, time_budget_s: float | None,
                spent_s: float) -> ResumePlan:
    """The plan of a search resumed after ``spent_s`` seconds, from its journal and the trial
    folders under ``experiment_dir`` (``None`` when they are not on this machine's disk)."""
    resumed = [ResumedTrial.of(t, journal.starts[t], experiment_dir / t if experiment_dir else None)
               for t in journal.unfinished()]
    trials_left = max(num_trials - len(journal.starts), 0) if num_trials >= 0 else -1
    seconds_left = time_budget_s - spent_s if time_budget_s else None
    return ResumePlan(journal, resumed, trials_left, seconds_left)


def begin_resume(run_dir: RunDirectory, experiment_dir: Path | None, num_trials: int, time_budget_s: float | None,
                 spent_s: float, scheduler) -> ResumePlan:
    """The plan of the search in ``run_dir``, resumed after ``spent_s`` seconds; on the way, the
    journal gets the epochs only the checkpoints to go on from hold, and ``scheduler`` its saved
    bookkeeping (``automl.resume``)."""
    run_dir = RunDirectory(run_dir)
    plan = plan_resume(run_dir.read_journal(), experiment_dir, num_trials, time_budget_s, spent_s)
    journal_checkpointed_epochs(run_dir, {r.trial_id: r.checkpoint for r in plan.resumed
                                          if r.checkpoint is not None and r.checkpoint.has_training_state})
    restore_scheduler(run_dir, scheduler)
    if experiment_dir is not None:
        for resumed in plan.resumed:
            remove_other_checkpoints(experiment_dir / resumed.trial_id, resumed.checkpoint)
    return plan


def remove_other_checkpoints(trial_dir: Path, kept: SavedCheckpoint | None) -> None:
    """Remove a resumed trial's checkpoint folders but the one it goes on from: older ones, and
    newer ones a kill cut short (Tune numbers the trial's next checkpoints after them all)."""
    import shutil

    for folder in checkpoint_folders(trial_dir):
        if kept is None or folder != kept.folder:
            shutil.rmtree(folder, ignore_errors=True)


def config_key(config: dict) -> str:
    """A config as text, equal for equal configs (a journaled one and one a searcher makes
    again; a YAML file's ``1`` and a searcher's ``1.0`` are equal)."""

    def numbers_as_floats(value):
        if isinstance(value, dict):
            return {k: numbers_as_floats(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [numbers_as_floats(v) for v in value]
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    return json.dumps(numbers_as_floats(config), sort_keys=True, default=str)


def resumed_trials_first(search_alg, resumed: list[ResumedTrial], skip_configs: Iterable[dict] = (),
                         tell: Callable[[dict, dict | None], None] | None = None, max_concurrent: int | None = None):
    """``search_alg`` (a Tune ``SearchAlgorithm``) handing Tune the ``resumed`` trials first.

    ``skip_configs``: configs the wrapped algorithm makes again that already ran, each dropped
    once per time it ran (a seeded random or grid search starts its sequence from the top).
    ``tell(config, last result or None for a failure)`` tells the searcher how a resumed trial
    ended (Optuna never suggested it). ``max_concurrent`` caps the resumed and new trials
    running at once together (the searcher's own limit counts only its own).
    """
    from ray.tune.experiment import _convert_to_experiment_list
    from ray.tune.experiment.config_parser import _create_trial_from_spec, _make_parser
    from ray.tune.search.search_algorithm import SearchAlgorithm

    class ResumedTrialsFirst(SearchAlgorithm):
        def __init__(self) -> None:
            self.inner = search_alg
            self.queue = list(resumed)
            self.resumed = {r.trial_id: r for r in resumed}
            self.skip = Counter(config_key(c) for c in skip_configs)
            self.live: set[str] = set()
            self.spec: dict | None = None
            self.parser = _make_parser()

        @property
        def searcher(self):
            # Tune sizes its queue of pending trials by a ConcurrencyLimiter found along `.searcher`.
            return getattr(self.inner, "searcher", None)

        @property
        def metric(self):
            return self.inner.metric

        @property
        def total_samples(self):
            return self.inner.total_samples + len(self.resumed)

        def set_search_properties(self, metric, mode, config, **spec) -> bool:
            return self.inner.set_search_properties(metric, mode, config, **spec)

        def add_configurations(self, experiments) -> None:
            self.spec = _convert_to_experiment_list(experiments)[0].spec
            self.inner.add_configurations(experiments)

        def next_trial(self):
            if max_concurrent and len(self.live) >= max_concurrent:
                return None
            trial = self._resumed_trial(self.queue.pop(0)) if self.queue else self._new_trial()
            if trial is not None:
                self.live.add(trial.trial_id)
            return trial

        def _resumed_trial(self, resumed_trial: ResumedTrial):
            spec = copy.deepcopy(self.spec)
            spec["config"] = copy.deepcopy(resumed_trial.config)
            if resumed_trial.checkpoint is not None:
                spec["restore"] = str(resumed_trial.checkpoint.folder)
            trial = _create_trial_from_spec(spec, self.parser, trial_id=resumed_trial.trial_id, experiment_tag="resumed")
            # Its next checkpoint is the one after every folder it has (Tune would start at 0 again).
            trial.storage.current_checkpoint_index = resumed_trial.last_checkpoint_index
            return trial

        def _new_trial(self):
            while True:
                trial = self.inner.next_trial()
                if trial is None:
                    return None
                key = config_key(trial.config)
                if self.skip[key] <= 0:
                    return trial
                self.skip[key] -= 1
                self.inner.on_trial_complete(trial.trial_id)  # it never runs: free its place

        def on_trial_result(self, trial_id: str, result: dict) -> None:
            if trial_id not in self.resumed:
                self.inner.on_trial_result(trial_id, result)

        def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
            self.live.discard(trial_id)
            if trial_id not in self.resumed:
                self.inner.on_trial_complete(trial_id, result=result, error=error)
            elif tell is not None:
                tell(self.resumed[trial_id].config, None if error else result)

        def is_finished(self) -> bool:
            return not self.queue and self.inner.is_finished()

        def set_finished(self) -> None:
            self.queue.clear()
            self.inner.set_finished()

    return ResumedTrialsFirst()


def portfolio_left(configs: list[dict], journal: Journal, space: SearchSpace) -> list[dict]:
    """The portfolio entries that no trial of the journal ran (a resume runs each once)."""
    ran = Counter(_point_key(c, space) for c in journal.starts.values())
    left = []
    for config in configs:
        key = _point_key(config, space)
        if ran[key] > 0:
            ran[key] -= 1
        else:
            left.append(config)
    return left


def _point_key(config: dict, space: SearchSpace) -> str:
    # Compared by the values a searcher decides (not by constants a config may spell differently).
    from automl.space import define_by_run_point

    try:
        return config_key(define_by_run_point(config, space))
    except (KeyError, TypeError):
        return config_key(config)


def resumed_searcher(searcher, search: SearchConfig, plan: ResumePlan, num_trials: int):
    """``(search algorithm, num_samples)`` of a resumed search: the trials that were running
    first (:func:`resumed_trials_first`), and ``searcher`` (:func:`automl.engine.searchers.make_searcher`'s)
    told what ran.

    Optuna's study gets each finished trial with the value Tune would have told it (its last
    ``val_<metric>``, or a failure) and samples the trials left; a random or grid search makes
    its seeded sequence again and skips the configs that already ran (so it counts them)."""
    from ray.tune.search import SearchGenerator

    journal = plan.journal
    optuna_search = optuna_search_in(searcher)
    if optuna_search is not None:
        for trial_id in journal.ends:
            rows = journal.results.get(trial_id) or [{}]
            failed = journal.ends[trial_id].get("status") == "error"
            optuna_search.tell_finished(journal.config_of(trial_id), None if failed else rows[-1])
        wrapped = resumed_trials_first(SearchGenerator(searcher), plan.resumed, tell=optuna_search.tell_finished,
                                       max_concurrent=search.max_concurrent)
        return wrapped, plan.trials_left
    ran = [journal.config_of(t) for t in journal.starts]
    return resumed_trials_first(searcher, plan.resumed, skip_configs=ran, max_concurrent=search.max_concurrent), num_trials


def optuna_search_in(searcher):
    """The Optuna searcher inside ``searcher`` (a ConcurrencyLimiter's), or ``None``."""
    while searcher is not None:
        if hasattr(searcher, "tell_finished"):
            return searcher
        searcher = getattr(searcher, "searcher", None)
    return None
