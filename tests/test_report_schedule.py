"""Trials report to Ray Tune only where a result is needed at once, and the driver still sees
every epoch (automl/training/report_schedule.py)."""

from __future__ import annotations

import json

import pytest
from ray import tune

from automl import AutoML
from automl.engine.schedulers import report_plan
from automl.training.report_schedule import EARLIER_EPOCHS_KEY, ReportPlan, epoch_reporter, epoch_results
from presets import HOLDOUT_NO_ENSEMBLE, ONE_TRIAL_AT_A_TIME, UNTRACKED

TWELVE_EPOCHS = """
epochs: 12
batch_size: 32
architectures:
  include: [mlp]
  mlp: {depth: 1, width: 16, normalization: none}
optimizers:
  include: [adam]
regularizers:
  include: []
"""


@pytest.fixture
def sent(monkeypatch) -> list[tuple[dict, object]]:
    """What the trial would have handed Ray Tune: (result, checkpoint) per report."""
    reports: list[tuple[dict, object]] = []
    monkeypatch.setattr(tune, "report", lambda result, checkpoint=None: reports.append((result, checkpoint)))
    return reports


def epochs_in(reports) -> list[list[int]]:
    return [[row["epoch"] for row in epoch_results(result)] for result, _ in reports]


def test_held_epochs_travel_with_the_next_decision_epoch_and_the_last(sent):
    with epoch_reporter(ReportPlan(frozenset({3}), interval_s=3600)) as reporter:
        for epoch in range(1, 6):
            reporter.add({"epoch": epoch, "val_accuracy": epoch / 10})
    # The first epoch at once, the decision epoch 3 with epoch 2, the last with epoch 4.
    assert epochs_in(sent) == [[1], [2, 3], [4, 5]]
    assert [row["val_accuracy"] for result, _ in sent for row in epoch_results(result)] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert all(EARLIER_EPOCHS_KEY not in row for result, _ in sent for row in epoch_results(result))


def test_a_checkpoint_is_reported_at_once_with_its_epochs_and_every_epoch_plan_reports_each(sent, tmp_path):
    with epoch_reporter(ReportPlan(frozenset(), interval_s=3600)) as reporter:
        reporter.add({"epoch": 1})
        reporter.add({"epoch": 2})
        # What a checkpoint written now holds: the epochs of the report it travels with.
        assert reporter.epochs_with({"epoch": 3}) == [{"epoch": 2}, {"epoch": 3}]
        reporter.add({"epoch": 3}, checkpoint_dir=tmp_path)
    assert epochs_in(sent) == [[1], [2, 3]] and sent[-1][1].path == str(tmp_path)
    sent.clear()
    with epoch_reporter(ReportPlan(None)) as reporter:
        for epoch in (1, 2, 3):
            reporter.add({"epoch": epoch})
    assert epochs_in(sent) == [[1], [2], [3]]


def test_a_trial_that_raises_still_reports_the_epochs_it_finished(sent):
    with pytest.raises(RuntimeError, match="fault"):
        with epoch_reporter(ReportPlan(frozenset(), interval_s=3600)) as reporter:
            for epoch in (1, 2, 3):
                reporter.add({"epoch": epoch})
            raise RuntimeError("fault in epoch 4")
    assert epochs_in(sent) == [[1], [2, 3]]


def test_asha_and_hyperband_trials_report_at_their_rungs_fifo_at_none_pbt_at_every_epoch(tiny_space):
    from automl.registry import load_registry
    from automl.space import build_search_space, load_space_file

    spec, source = load_space_file(tiny_space(TWELVE_EPOCHS))
    space = build_search_space(load_registry(), spec, "multiclass", "tabular", source)
    assert report_plan("asha", space).decision_epochs == {1, 3, 9}  # grace 1, reduction factor 3, up to 12
    assert report_plan("fifo", space).decision_epochs == frozenset()
    assert report_plan("hyperband", space).decision_epochs == {1, 3, 9}  # its brackets' rungs are ASHA's
    assert report_plan("pbt", space).decision_epochs is None


def test_a_fifo_search_reports_rarely_but_keeps_every_epoch(ray_session, blobs_frame, tiny_space, tmp_path):
    result = AutoML(target="species", space=tiny_space(TWELVE_EPOCHS), scheduler="fifo", num_trials=2,
                    output=tmp_path / "run", **HOLDOUT_NO_ENSEMBLE, **UNTRACKED, **ONE_TRIAL_AT_A_TIME).fit(blobs_frame)
    trials = [json.loads(line) for line in (result.run_dir / "trials.jsonl").read_text().splitlines()]
    assert len(trials) == 2
    for trial in trials:
        assert [row["epoch"] for row in trial["history"]] == list(range(1, 13))
        assert all(row["val_accuracy"] is not None for row in trial["history"])
        # Tune saw fewer results than epochs: the epochs in between came with the next report.
        assert trial["metrics"]["training_iteration"] < 12 and trial["metrics"]["epoch"] == 12
    log = [json.loads(line) for line in (result.run_dir / "search_log.jsonl").read_text().splitlines()]
    for trial in trials:
        logged = [e["result"]["epoch"] for e in log if e["event"] == "result" and e["trial_id"] == trial["trial_id"]]
        walls = [e["wall_s"] for e in log if e["event"] == "result" and e["trial_id"] == trial["trial_id"]]
        assert logged == list(range(1, 13)) and walls == sorted(walls)


def test_an_asha_search_reports_each_rung_epoch_and_few_others(ray_session, blobs_frame, tiny_space, tmp_path):
    result = AutoML(target="species", space=tiny_space(TWELVE_EPOCHS), scheduler="asha", num_trials=3,
                    output=tmp_path / "run", **HOLDOUT_NO_ENSEMBLE, **UNTRACKED).fit(blobs_frame)
    trials = [json.loads(line) for line in (result.run_dir / "trials.jsonl").read_text().splitlines()]
    completed = [t for t in trials if t["status"] == "completed"]
    assert completed  # ASHA never stops the first trial to reach a rung
    for trial in completed:
        assert [row["epoch"] for row in trial["history"]] == list(range(1, 13))
        # Epochs 1, 3, 9 (ASHA's rungs) and 12 (the last) at least; not all twelve.
        assert 4 <= trial["metrics"]["training_iteration"] < 12
    for trial in trials:
        if trial["status"] == "stopped early":
            assert trial["metrics"]["epoch"] in (1, 3, 9)  # ASHA stops a trial only at a rung
