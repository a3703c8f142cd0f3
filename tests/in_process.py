"""A test seam: a search whose trials run one after another in the test's own process, without Ray.

For checks of API conventions, such as scikit-learn's estimator checks (about 90 fits): what
they test is the estimator around the search, not the search. :func:`searches_in_process`
(in tests/conftest.py) swaps the engine's two Ray steps (starting Ray, running the trials on Ray Tune) for
:func:`run_trials_in_process`, for the tests that ask for it by name. Everything else runs as
shipped: the data stage, the space, each trial's own training loop (``automl.training.trainable.train_trial``,
handed a :class:`RecordingSession` instead of Ray Tune's), ranking, the ensemble, the final
model and its artifact. Trials run every epoch (no scheduler stops them) and none is retried.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from automl.engine.run import trial_count
from automl.engine.schedulers import report_plan
from automl.engine.trial_records import TrialRecord, with_status
from automl.run_records import history_rows
from automl.tasks import task_named
from automl.training.failures import failure_of
from automl.training.report_schedule import epoch_results
from automl.training.trainable import train_trial


class RecordingSession:
    """What a trial sends Ray Tune, kept here: its epochs, and its checkpoints copied into ``trial_dir``."""

    def __init__(self, trial_dir: Path) -> None:
        self.trial_dir = trial_dir
        self.epochs: list[dict] = []
        self.latest_checkpoint = ""

    def cpus(self) -> int:
        return 1

    def node_id(self) -> str:
        return "in-process"

    def checkpoint(self):
        return None

    def report(self, result: dict, checkpoint_dir=None) -> None:
        self.epochs += epoch_results(result)
        if checkpoint_dir is not None:
            folder = self.trial_dir / f"checkpoint_{len(list(self.trial_dir.glob('checkpoint_*'))):06d}"
            shutil.copytree(checkpoint_dir, folder)
            self.latest_checkpoint = str(folder)


def sampled_configs(space, seed: int, count: int) -> list[dict]:
    """``count`` trial configs drawn at random from ``space``, as Ray Tune's Optuna searcher
    makes them from the define-by-run space (Optuna's flat suggestions, unflattened)."""
    import optuna
    from ray.tune.utils.util import unflatten_dict

    from automl.space import strip_component_prefixes

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    draw = space.define_by_run(seed)
    configs = []
    for _ in range(count):
        trial = study.ask()
        constants = draw(trial)
        configs.append(strip_component_prefixes(unflatten_dict({**trial.params, **constants})))
    return configs


def run_trials_in_process(data, space, components, search, resources, run_dir: Path, verbose: bool = False,
                          callbacks=None, resume_spent_s=None, task=None, portfolio=None) -> list[TrialRecord]:
    """``automl.engine.run.run_trials`` without Ray: the portfolio, then random configs, each trained
    to its last epoch here, one after another; one record per trial."""
    task = task or task_named(data.task)
    count = trial_count(search)
    if count < 0:
        raise ValueError("an in-process search needs a trial count (it has no clock to stop at)")
    configs = list(portfolio.first(count).configs if portfolio is not None else [])
    configs += sampled_configs(space, search.seed, count - len(configs))
    records = []
    for number, config in enumerate(configs):
        trial_id = f"inproc{number:03d}"
        session = RecordingSession(Path(run_dir) / "trials" / trial_id)
        session.trial_dir.mkdir(parents=True)
        train_trial(config, data, components, task, precision=resources.precision, report_plan=report_plan("fifo", space),
                    keep_val_outputs=search.ensemble_size > 1 and task.ensembles,
                    keep_fold_models=bool(data.folds) and search.final_model == "bag", session=session)
        metrics = {**session.epochs[-1], "config": config} if session.epochs else {}
        status, error = failure_of(None, metrics, config)
        record = TrialRecord(trial_id, config, metrics, status, error, history_rows(session.epochs), session.latest_checkpoint)
        records.append(with_status(record, space.max_epochs()))
    return records

