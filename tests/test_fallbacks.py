"""No silent fallbacks: what a search cannot do as asked, it says, on screen and in `result.json`.

One real search (2 trials, 3-fold cross-validation, an ensemble of 2, the bag of fold models as
the final model) whose driver looks for the trials' validation outputs and fold models under
names the trials did not write: as after checkpoints that lost those files. Ensemble selection
must then leave both trials out by name, and the bag must become a refit that says why.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest

from automl.cli import main
from presets import UNTRACKED_FLAGS, ONE_TRIAL_AT_A_TIME_FLAGS

pytestmark = pytest.mark.slow

SPACE = (
    "epochs: 2\nbatch_size: 16\nmin_steps_per_epoch: 1\narchitectures:\n  include: [mlp]\n"
    "  mlp: {depth: 1, width: 8, activation: relu, normalization: none}\n"
    "optimizers:\n  include: [adam]\n  adam: {lr: 0.01, beta1: 0.9, schedule: constant, warmup: 0.0}\n"
    "losses:\n  include: [cross_entropy]\nregularizers:\n  include: []\n"
)


@pytest.fixture(scope="module")
def run_without_outputs_or_fold_models(tmp_path_factory, ray_session):
    """``(run directory, what the CLI printed)`` of the search described above."""
    folder = tmp_path_factory.mktemp("fallbacks")
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 90)
    pd.DataFrame({"x": label + rng.normal(0, 0.7, 90), "z": rng.normal(0, 1, 90), "y": np.array(["a", "b"])[label]}).to_csv(
        folder / "data.csv", index=False)
    (folder / "space.yaml").write_text(SPACE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("automl.ensemble.VAL_OUTPUTS_FILE", "lost_val_outputs.npy")
        patch.setattr("automl.refit.FOLD_MODELS_FILE", "lost_fold_models.pt")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = main(["search", str(folder / "data.csv"), "--target", "y", "--space", str(folder / "space.yaml"),
                         "--searcher", "random", "--num-trials", "2", "--scheduler", "fifo", "--validation", "cv:3",
                         "--ensemble", "2", "--final-model", "bag", "--output", str(folder / "run"), *UNTRACKED_FLAGS,
                         *ONE_TRIAL_AT_A_TIME_FLAGS])
    assert code == 0
    return folder / "run", printed.getvalue()


def trial_ids(run_dir) -> list[str]:
    return [json.loads(line)["trial_id"] for line in (run_dir / "trials.jsonl").read_text().splitlines()]


def test_ensemble_selection_says_which_trials_it_left_out_and_why(run_without_outputs_or_fold_models):
    run_dir, printed = run_without_outputs_or_fold_models
    trials = trial_ids(run_dir)
    assert len(trials) == 2 and "ensemble" not in trials  # no ensemble formed: no row
    line = next(line for line in printed.splitlines() if line.startswith("ensemble selection: "))
    assert "no ensemble: 0 of the top 2 trials have usable validation outputs" in line
    for trial in trials:
        assert f"trial {trial}: it saved no validation outputs" in line
    recorded = json.loads((run_dir / "result.json").read_text())["ensemble"]
    assert recorded["formed"] is False and set(recorded["skipped"]) == set(trials)


def test_a_bag_that_becomes_a_refit_says_so_on_screen_and_in_result_json(run_without_outputs_or_fold_models):
    run_dir, printed = run_without_outputs_or_fold_models
    best = json.loads((run_dir / "result.json").read_text())["best"]
    note = best["final_model_note"]
    assert note.startswith("refit on every training row instead of the bag that --final-model bag asks for: ")
    assert f"trial {best['trial_id']} saved no fold models (lost_fold_models.pt is not in its checkpoint" in note
    assert best["final_model"].startswith("the best trial, refit on every training row")
    assert f"final model: {note}" in printed  # before the refit starts
    assert f"note: {note}" in printed  # and with the result
    model = json.loads((run_dir / "model" / "model.json").read_text())
    assert model["config"]["final_model"] == "refit"
