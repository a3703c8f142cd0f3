"""Data preparation of the foundation: task inference, seeded stratified splits, train-only fitting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl.config import DataConfig
from automl.data import prepare_data
from automl.data.task import infer_task
from automl.errors import AutoMLError


@pytest.mark.parametrize(
    "values, task",
    [
        (["yes", "no", "yes", "no"], "binary"),
        (["a", "b", "c", "a"], "multiclass"),
        ([0, 1, 2, 3, 4, 0], "multiclass"),
        ([0.5, 1.25, 3.75, 2.0], "regression"),
        (list(range(100)), "regression"),
    ],
)
def test_task_is_inferred_from_the_target(values, task):
    assert infer_task(pd.Series(values, name="y")) == task


def test_task_can_be_overridden_and_a_mismatch_is_explained():
    assert infer_task(pd.Series([0, 1, 2, 3] * 3, name="y"), "regression") == "regression"
    with pytest.raises(AutoMLError, match="'regression' needs a numeric target"):
        infer_task(pd.Series(["a", "b"], name="y"), "regression")


def test_splits_are_disjoint_stratified_and_reproducible(blobs_frame):
    first = prepare_data(blobs_frame, DataConfig(target="species", seed=3, validation="holdout"))
    again = prepare_data(blobs_frame, DataConfig(target="species", seed=3, validation="holdout"))
    other = prepare_data(blobs_frame, DataConfig(target="species", seed=4, validation="holdout"))
    assert np.array_equal(first.X_test, again.X_test) and not np.array_equal(first.X_test, other.X_test)
    sizes = first.report["split_rows"]
    assert sizes["train"] + sizes["val"] + sizes["test"] == len(blobs_frame)
    for y in (first.y_train, first.y_val, first.y_test):
        shares = np.bincount(y, minlength=3) / len(y)
        assert np.allclose(shares, np.bincount(first.y_train, minlength=3) / len(first.y_train), atol=0.06)


def test_preprocessing_is_fitted_on_the_training_split_only(blobs_frame):
    prepared = prepare_data(blobs_frame, DataConfig(target="species", validation="holdout"))
    numeric = prepared.features.numeric_columns_
    assert len(numeric) <= len(prepared.features.numeric_groups_[0])  # one pipeline holds every numeric column
    scaler = prepared.features.numeric_pipelines_[0].named_steps["scale"]
    train_rows = blobs_frame.drop(columns="species").iloc[np.sort(_train_positions(blobs_frame, prepared))]
    assert np.allclose(scaler.mean_, train_rows[numeric].mean().to_numpy())
    # Standardized training features have mean 0; validation and test ones do not exactly.
    assert np.allclose(prepared.X_train[:, : len(numeric)].mean(axis=0), 0, atol=1e-5)


def _train_positions(frame, prepared):
    from automl.data.split import split_rows

    return split_rows(frame["species"], True, 0.15, 0.15, 0).train


def test_missing_values_are_imputed_and_categoricals_one_hot_encoded(blobs_frame):
    frame = blobs_frame.copy()
    frame.loc[::7, "x1"] = np.nan
    frame.loc[::5, "colour"] = None
    prepared = prepare_data(frame, DataConfig(target="species"))
    assert not np.isnan(prepared.X_train).any() and not np.isnan(prepared.X_test).any()
    assert prepared.features.categorical_columns_ == ["colour"]
    # x1, x2, noise + x1's missing indicator + one column per colour, missing being one of them
    assert prepared.input_shape == (3 + 1 + 4,)
    assert "x1.missing" in prepared.features.feature_names_ and "colour=(missing)" in prepared.features.feature_names_


def test_a_missing_target_column_names_the_columns_that_exist(blobs_frame):
    with pytest.raises(AutoMLError, match=r"target column 'label' is not in the data.*species"):
        prepare_data(blobs_frame, DataConfig(target="label"))


def test_an_empty_table_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("a,b,y\n")
    with pytest.raises(AutoMLError, match="no data rows"):
        prepare_data(str(path), DataConfig(target="y"))


def test_a_regression_target_is_standardized_on_train_and_decoded_back(regression_frame):
    prepared = prepare_data(regression_frame, DataConfig(target="y"))
    assert prepared.task == "regression"
    assert abs(prepared.y_train.mean()) < 1e-5
    decoded = prepared.target_encoder.decode(prepared.y_test)
    assert decoded.mean() == pytest.approx(50, abs=2)
