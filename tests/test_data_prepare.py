"""Column handling, preprocessing fitted on train only, splits, and prediction-time robustness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl.config import DataConfig
from automl.data import prepare_data
from automl.data.preprocess import FeaturePreprocessor
from automl.data.profile import profile_columns
from automl.errors import AutoMLError


def mixed_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Every column kind the profiler knows, with a learnable 3-class target."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, n)
    frame = pd.DataFrame(
        {
            "x": label * 2.0 + rng.normal(0, 0.4, n),
            "flag": rng.random(n) > 0.5,
            "colour": np.array(["red", "green", "blue"])[label],
            "city": [f"city{i % 40}" for i in range(n)],
            "when": pd.date_range("2021-01-01", periods=n, freq="D").astype(str),
            "note": [f"a note about item {i} and more" for i in range(n)],
            "row_id": np.arange(n),
            "const": 7,
            "empty": np.nan,
        }
    )
    frame.loc[::9, "x"] = np.nan
    frame["y"] = np.array(["ant", "bee", "cat"])[label]
    return frame


def test_profiler_names_each_column_kind_and_drops_ids_and_constants_with_reasons():
    decisions = {d.column: d for d in profile_columns(mixed_frame().drop(columns="y"))}
    kinds = {name: d.kind for name, d in decisions.items()}
    assert kinds == {
        "x": "numeric", "flag": "boolean", "colour": "categorical", "city": "embedding", "when": "datetime",
        "note": "text", "row_id": "id", "const": "constant", "empty": "all_missing",
    }
    assert all(not decisions[c].kept and decisions[c].reason.startswith("dropped") for c in ("row_id", "const", "empty"))


def test_data_report_records_dropped_columns_and_rows_with_missing_target():
    frame = mixed_frame()
    frame.loc[[1, 2, 3], "y"] = None
    report = prepare_data(frame, DataConfig(target="y")).report
    assert report["rows_dropped_missing_target"] == 3
    assert report["rows"] == len(frame) - 3
    assert set(report["dropped_columns"]) == {"row_id", "const", "empty"}
    assert {c["column"]: c["kind"] for c in report["columns"]}["note"] == "text"


def test_tabular_matrix_has_missing_indicators_one_hot_datetime_parts_and_embedding_codes_last():
    prepared = prepare_data(mixed_frame(), DataConfig(target="y"))
    names = prepared.features.feature_names_
    assert prepared.X_train.dtype == np.float32 and prepared.input_shape == (len(names),)
    assert "x.missing" in names and "colour=red" in names and "when.month" in names
    assert names[-1] == "city.code" and prepared.embedding_cardinalities == (41,)
    codes = prepared.X_train[:, -1]
    assert codes.min() >= 1 and codes.max() <= 40 and np.all(codes == codes.round())


@pytest.mark.parametrize("scaler, check", [
    ("standard", lambda col: abs(col.mean()) < 1e-5 and abs(col.std() - 1) < 1e-3),
    ("minmax", lambda col: col.min() == 0 and abs(col.max() - 1) < 1e-6),
    ("robust", lambda col: abs(np.median(col)) < 1e-6),
])
def test_each_scaler_is_fitted_on_the_training_rows(scaler, check):
    frame = pd.DataFrame({"v": np.arange(100.0) ** 2, "w": np.random.default_rng(0).normal(size=100)})
    column = FeaturePreprocessor(scaler=scaler).fit(frame).transform(frame)[:, 0]
    assert check(column)


def test_imputer_strategy_changes_the_filled_value():
    frame = pd.DataFrame({"v": [1.0, 1.0, 1.0, 5.0, 10.0, 12.0, np.nan], "w": np.arange(7.0)})
    median = FeaturePreprocessor("median", "none").fit(frame).transform(frame)
    frequent = FeaturePreprocessor("most_frequent", "none").fit(frame).transform(frame)
    assert median[-1, 0] == 3.0 and frequent[-1, 0] == 1.0
    assert median[-1, 2] == 1.0  # the missing indicator of v


def test_quantile_clipping_caps_outliers_at_training_quantiles():
    values = np.r_[np.arange(99.0), 1e6]
    frame = pd.DataFrame({"v": values, "w": values[::-1]})
    pre = FeaturePreprocessor(scaler="none", clip_quantile=0.05).fit(frame)
    out = pre.transform(pd.DataFrame({"v": [1e9, -1e9], "w": [0.0, 0.0]}))
    low, high = np.quantile(values, [0.05, 0.95])
    assert out[0, 0] == pytest.approx(high) and out[1, 0] == pytest.approx(low)


def test_prediction_accepts_reordered_and_extra_columns_and_unseen_categories():
    frame = mixed_frame()
    prepared = prepare_data(frame, DataConfig(target="y"))
    rows = frame.drop(columns="y").head(5)
    expected = prepared.features.transform(rows)
    shuffled = rows[list(reversed(rows.columns))].assign(extra=1)
    assert np.array_equal(prepared.features.transform(shuffled), expected)
    unseen = rows.assign(colour="purple", city="atlantis")
    out = prepared.features.transform(unseen)
    names = prepared.features.feature_names_
    one_hot = [i for i, n in enumerate(names) if n.startswith("colour=")]
    assert np.all(out[:, one_hot] == 0) and np.all(out[:, -1] == 0)


def test_prediction_with_a_missing_column_names_it():
    frame = mixed_frame()
    prepared = prepare_data(frame, DataConfig(target="y"))
    with pytest.raises(AutoMLError, match="required column 'colour' is missing"):
        prepared.features.transform(frame.drop(columns=["y", "colour"]))


def test_prediction_with_an_uncastable_value_names_the_column():
    frame = mixed_frame()
    prepared = prepare_data(frame, DataConfig(target="y"))
    rows = frame.drop(columns="y").head(3).astype({"x": object})
    rows.loc[1, "x"] = "twelve"
    with pytest.raises(AutoMLError, match="column 'x' must be numeric but holds 'twelve'"):
        prepared.features.transform(rows)


def test_classification_split_is_stratified():
    frame = mixed_frame(300)
    prepared = prepare_data(frame, DataConfig(target="y", validation="holdout"))
    for y in (prepared.y_train, prepared.y_val, prepared.y_test):
        shares = np.bincount(y, minlength=3) / len(y)
        assert np.allclose(shares, np.bincount(prepared.y_train, minlength=3) / len(prepared.y_train), atol=0.05)


def test_group_column_keeps_every_group_on_one_side():
    frame = mixed_frame(300)
    frame["patient"] = np.repeat(np.arange(30), 10)
    prepared = prepare_data(frame, DataConfig(target="y", group_column="patient"))
    sizes = prepared.report["split_rows"]
    assert sizes["train"] + sizes["val"] + sizes["test"] == 300
    assert all(size % 10 == 0 for size in sizes.values())  # whole groups of 10 only
    assert "patient" in prepared.report["columns_used_for_split"]
    assert "patient" not in [c["column"] for c in prepared.report["columns"]]


def test_group_split_rows_never_share_a_group():
    from automl.data.split import split_rows

    groups = pd.Series(np.repeat(np.arange(40), 5), name="g")
    target = pd.Series(np.tile([0.0, 1.5, 2.5, 3.5, 4.5], 40), name="y")
    splits = split_rows(target, "regression", 0.2, 0.2, 0, groups=groups)
    sets = [set(groups.iloc[rows]) for rows in (splits.train, splits.val, splits.test)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])


def test_time_column_splits_in_time_order():
    frame = mixed_frame(200).sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame["day"] = pd.date_range("2020-01-01", periods=200, freq="D").astype(str)[::-1][np.argsort(np.random.default_rng(1).permutation(200))]
    from automl.data.split import split_rows
    from automl.data.profile import parse_datetimes

    days = parse_datetimes(frame["day"])
    splits = split_rows(frame["y"], "multiclass", 0.15, 0.15, 0, times=days)
    assert days.iloc[splits.train].max() < days.iloc[splits.val].min()
    assert days.iloc[splits.val].max() < days.iloc[splits.test].min()
    prepared = prepare_data(frame, DataConfig(target="y", time_column="day", validation="holdout"))
    assert prepared.report["split_method"] == "time order by 'day'"


def test_split_fractions_set_split_sizes():
    prepared = prepare_data(mixed_frame(400), DataConfig(target="y", val_fraction=0.25, test_fraction=0.1, validation="holdout"))
    assert prepared.report["split_rows"] == {"train": 260, "val": 100, "test": 40}


def test_test_data_file_is_the_test_split(tmp_path):
    frame = mixed_frame(300)
    test_path = tmp_path / "test.csv"
    frame.iloc[240:].to_csv(test_path, index=False)
    prepared = prepare_data(frame.iloc[:240], DataConfig(target="y", test_data=str(test_path)))
    assert prepared.report["split_rows"]["test"] == 60
    assert prepared.report["split_rows"]["train"] + prepared.report["split_rows"]["val"] == 240
    expected = prepared.target_encoder.encode(frame["y"].iloc[240:])
    assert np.array_equal(prepared.y_test, expected)


def test_class_weights_balance_a_rare_class():
    frame = mixed_frame(300)
    frame["y"] = np.where(np.arange(300) % 10 == 0, "rare", "common")
    prepared = prepare_data(frame, DataConfig(target="y", class_weights="balanced"))
    weights = dict(zip(prepared.target_encoder.classes_, prepared.class_weights))
    assert weights["rare"] == pytest.approx(9 * weights["common"], rel=0.1)
    assert prepare_data(frame, DataConfig(target="y")).class_weights is None


def test_preprocessing_variants_are_fitted_once_each_and_selectable():
    from automl.variants import preprocessing_variants

    variants = preprocessing_variants({"imputer": {"choice": ["median", "most_frequent"]}, "scaler": {"choice": ["standard", "minmax"]}})
    prepared = prepare_data(mixed_frame(), DataConfig(target="y"), variants)
    assert list(prepared.variants) == ["median/standard", "median/minmax", "most_frequent/standard", "most_frequent/minmax"]
    chosen = prepared.with_preprocessing({"imputer": "most_frequent", "scaler": "minmax"})
    assert chosen.features.scaler == "minmax" and chosen.features.imputer == "most_frequent"
    assert chosen.X_train[:, 0].min() == 0.0 and not np.array_equal(chosen.X_train, prepared.X_train)


def test_unknown_preprocessing_choice_in_a_space_is_a_clear_error():
    from automl.variants import preprocessing_variants

    with pytest.raises(AutoMLError, match="unknown scaler 'zscore'"):
        preprocessing_variants({"scaler": {"choice": ["standard", "zscore"]}})


def test_search_space_offers_preprocessing_choices_to_trials():
    from automl.registry import load_registry
    from automl.space import build_search_space

    spec = {"epochs": 1, "preprocessing": {"scaler": {"choice": ["standard", "robust"]}}}
    space = build_search_space(load_registry(), spec, "multiclass", "tabular")
    param_space = space.to_tune(0)
    assert param_space["preprocessing"]["imputer"] == "median"
    assert sorted(param_space["preprocessing"]["scaler"].categories) == ["robust", "standard"]


def test_numbers_read_as_text_because_of_a_bad_value_outside_train_are_numeric_and_the_value_is_named():
    from automl.data.split import split_rows

    frame = mixed_frame()
    test_row = split_rows(frame["y"], "multiclass", 0.15, 0.15, 0).test[0]
    frame["x"] = frame["x"].astype(str)
    frame.loc[test_row, "x"] = "n.a."
    with pytest.raises(AutoMLError, match="column 'x' must be numeric but holds 'n.a.'"):
        prepare_data(frame, DataConfig(target="y"))
    decisions = {d.column: d.kind for d in profile_columns(frame.drop(index=test_row, columns="y"))}
    assert decisions["x"] == "numeric"


def test_numeric_columns_fitted_in_groups_match_one_pipeline_over_all_columns():
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import RobustScaler

    rng = np.random.default_rng(0)
    values = rng.lognormal(size=(300, 19)).astype(np.float32)
    values[rng.random(values.shape) < 0.05] = np.nan
    frame = pd.DataFrame(values, columns=[f"c{i}" for i in range(19)])
    ours = FeaturePreprocessor("median", "robust").fit(frame)
    assert len(ours.numeric_pipelines_) == 3
    reference = make_pipeline(SimpleImputer(strategy="median"), RobustScaler()).fit(values)
    assert np.allclose(ours.transform(frame)[:, :19], reference.transform(values), atol=1e-5)


def test_image_shape_keeps_constant_pixel_columns():
    # digits has pixels that are blank in every image; profiling alone would drop them.
    prepared = prepare_data("digits", DataConfig(image_shape=(1, 8, 8)))
    assert prepared.input_kind == "image" and prepared.X_train.shape[1:] == (1, 8, 8)


def test_inverse_transform_returns_numbers_unscaled_and_categories_as_labels():
    frame = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0, 8.0], "c": ["a", "b", None, "a", "b"], "on": [True, False, True, True, False]})
    features = FeaturePreprocessor().fit(frame)
    back = features.inverse_transform(features.transform(frame))
    assert list(back.columns) == ["x", "c", "on"]
    np.testing.assert_allclose(back["x"], [1.0, 2.0, 3.0, 4.0, 8.0], rtol=1e-5)  # the missing value imputed (median)
    assert back["c"].tolist()[:2] == ["a", "b"] and pd.isna(back["c"][2])
    np.testing.assert_allclose(back["on"], [1, 0, 1, 1, 0], atol=1e-5)


def test_inverse_transform_refuses_columns_it_cannot_rebuild():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "day": ["2024-01-01", "2024-02-03", "2024-03-05", "2024-04-07"]})
    features = FeaturePreprocessor().fit(frame)
    with pytest.raises(AutoMLError, match="'day'"):
        features.inverse_transform(features.transform(frame))
