"""The test split never influences preprocessing statistics or model selection."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import pytest

from automl.config import DataConfig
from automl.data import prepare_data
from presets import UNTRACKED, ONE_TRIAL_AT_A_TIME

SPACE = """epochs: 2
batch_size: 32
preprocessing:
  scaler: {choice: [standard, robust]}
architectures:
  include: [mlp]
  mlp: {depth: 1, width: {choice: [8, 16]}, normalization: none}
optimizers:
  include: [adam]
regularizers:
  dropout: {enabled: false}
"""


def _with_extreme_test_rows(frame: pd.DataFrame, test_rows: np.ndarray) -> pd.DataFrame:
    changed = frame.copy()
    changed.loc[test_rows, "x1"] = 1e9
    changed.loc[test_rows, "x2"] = np.nan
    changed.loc[test_rows, "colour"] = "never-seen"
    return changed


def _test_rows(frame: pd.DataFrame, target: str) -> np.ndarray:
    from automl.data.split import split_rows

    return split_rows(frame[target], "multiclass", 0.15, 0.15, 0).test


def test_changing_only_test_rows_leaves_every_fitted_statistic_identical(blobs_frame):
    test_rows = _test_rows(blobs_frame, "species")
    variants = [{"imputer": "median", "scaler": "standard"}, {"imputer": "most_frequent", "scaler": "robust"}]
    original = prepare_data(blobs_frame, DataConfig(target="species", clip_quantile=0.01), variants)
    changed = prepare_data(_with_extreme_test_rows(blobs_frame, test_rows), DataConfig(target="species", clip_quantile=0.01), variants)
    for key in original.variants:
        a, b = original.variants[key].features, changed.variants[key].features
        assert a.decisions_ == b.decisions_
        for pipeline_a, pipeline_b in zip(a.numeric_pipelines_, b.numeric_pipelines_, strict=True):
            steps_a, steps_b = pipeline_a.named_steps, pipeline_b.named_steps
            assert np.array_equal(steps_a["impute"].statistics_, steps_b["impute"].statistics_)
            assert np.array_equal(steps_a["clip"].low_, steps_b["clip"].low_) and np.array_equal(steps_a["clip"].high_, steps_b["clip"].high_)
            scaler_a, scaler_b = steps_a["scale"], steps_b["scale"]
            for attribute in ("mean_", "scale_", "center_"):
                if hasattr(scaler_a, attribute):
                    assert np.array_equal(getattr(scaler_a, attribute), getattr(scaler_b, attribute))
        assert a.missing_indicator_names_ == b.missing_indicator_names_
        assert [list(e.categories_[0]) for e in a.one_hot_.values()] == [list(e.categories_[0]) for e in b.one_hot_.values()]
        assert np.array_equal(original.variants[key].X_train, changed.variants[key].X_train)
        assert np.array_equal(original.variants[key].X_val, changed.variants[key].X_val)
    assert not np.array_equal(original.X_test, changed.X_test)  # the change did reach the test rows


@pytest.mark.slow
def test_changing_only_test_rows_leaves_the_leaderboard_identical(ray_session, blobs_frame, tmp_path):
    """Under the shipped defaults: cross-validated trials, their ensemble, the bag."""
    from automl.api import AutoML

    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    test_rows = _test_rows(blobs_frame, "species")
    boards = []
    for i, frame in enumerate((blobs_frame, _with_extreme_test_rows(blobs_frame, test_rows))):
        result = AutoML(target="species", space=space, num_trials=2, scheduler="fifo", output=tmp_path / f"run{i}", **UNTRACKED,
                        **ONE_TRIAL_AT_A_TIME).fit(frame)
        columns = [c for c in result.leaderboard.columns if c.startswith(("val_", "best_epoch", "architecture", "optimizer"))]
        boards.append((result.leaderboard[columns].reset_index(drop=True), final_config_by_rank(result)))
        if i == 0:
            reordered = frame.drop(columns="species")[["noise", "colour", "x2", "x1"]].assign(extra=0).head(5)
            assert len(result.predict(reordered)) == 5
    pd.testing.assert_frame_equal(boards[0][0], boards[1][0])
    assert boards[0][1] == boards[1][1]
    final = json.loads(boards[0][1])
    configs = [member["config"] for member in final["ensemble"]] if "ensemble" in final else [final]
    assert {"standard", "robust"} >= {config["preprocessing"]["scaler"] for config in configs}


def final_config_by_rank(result) -> str:
    """The final model's config as JSON, each trial id written as its rank on the leaderboard
    (Ray Tune draws new ids for every search), without its members' checkpoint folders."""
    config = dict(result.best["config"])
    if "ensemble" in config:
        config["ensemble"] = [{k: v for k, v in member.items() if k != "checkpoint"} for member in config["ensemble"]]
    text = json.dumps(config, sort_keys=True)
    for rank, trial_id in enumerate(result.leaderboard["trial_id"], start=1):
        if trial_id != "ensemble":
            text = text.replace(str(trial_id), f"rank {rank}")
    return text
