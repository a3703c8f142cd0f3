"""A fitted ``FeaturePreprocessor`` as the per-column vectors the exported module computes with,
or a clear error naming the first step or column export cannot reproduce in torch."""

import numpy as np

from automl.errors import AutoMLError
from automl.export.encoding import UNKNOWN_CODE


def preprocessing_steps(features) -> dict:
    """The fitted values of an artifact's ``FeaturePreprocessor``, as per-column vectors, or a
    clear error naming the first column export cannot reproduce in torch."""
    from automl.data.preprocess import MISSING_CATEGORY

    if not hasattr(features, "numeric_pipelines_"):
        raise AutoMLError("this artifact's preprocessing is not the FeaturePreprocessor export knows",
                          "use `automl predict` or `automl serve` for this model")
    for columns, what in ((features.datetime_columns_, "a date"), (features.text_columns_, "free text"),
                          (features.embedding_columns_, "a high-cardinality category (embedding codes)")):
        if columns:
            raise AutoMLError(
                f"cannot export column '{columns[0]}': it is {what}, which the exported module does not compute",
                "use `automl predict` or `automl serve` for this model, or retrain without that column",
            )
    steps = {"fills": [], "clip_lows": [], "clip_highs": [], "multipliers": [], "offsets": [], "indicated": []}
    for pipeline, group in zip(features.numeric_pipelines_, features.numeric_groups_):
        for key, values in _numeric_group_steps(pipeline, len(group)).items():
            steps[key] += values
    for indicator, group in zip(features.missing_indicators_, features.numeric_groups_):
        if indicator is not None:
            steps["indicated"] += [int(group[i]) for i in indicator.features_]
    categories = [[str(c) for c in features.one_hot_[column].categories_[0]] for column in features.categorical_columns_]
    # Missing is its own category where training had it; otherwise it is unseen (all zeros).
    steps["fill_codes"] = [cats.index(MISSING_CATEGORY) if MISSING_CATEGORY in cats else UNKNOWN_CODE for cats in categories]
    return {
        "numeric_columns": [column for column, _, _ in features.numeric_items_],
        "boolean_columns": list(features.boolean_columns_),
        "categorical_columns": list(features.categorical_columns_),
        "categories": categories,
        **steps,
    }


def _numeric_group_steps(pipeline, width: int) -> dict:
    """One numeric pipeline (impute → [clip] → [scale]) as fill values, clip bounds and
    ``x * multiplier + offset``, column by column."""
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    from automl.data.preprocess import QuantileClipper

    named = dict(pipeline.steps)
    unknown = [type(step).__name__ for name, step in pipeline.steps if name not in ("impute", "clip", "scale")]
    if unknown or "impute" not in named:
        raise AutoMLError(f"cannot export a numeric pipeline with steps {[type(s).__name__ for _, s in pipeline.steps]}",
                          "use `automl predict` or `automl serve` for this model")
    ones, zeros = np.ones(width), np.zeros(width)
    low, high = np.full(width, -np.inf), np.full(width, np.inf)
    clipper = named.get("clip")
    if clipper is not None:
        if not isinstance(clipper, QuantileClipper):
            raise AutoMLError(f"cannot export the clipping step {type(clipper).__name__}", "use `automl predict` or `automl serve` for this model")
        low, high = np.asarray(clipper.low_, dtype=float), np.asarray(clipper.high_, dtype=float)
    scaler = named.get("scale")
    if scaler is None:
        multiplier, offset = ones, zeros
    elif isinstance(scaler, StandardScaler):
        center = scaler.mean_ if scaler.mean_ is not None else zeros
        scale = scaler.scale_ if scaler.scale_ is not None else ones
        multiplier, offset = 1 / scale, -center / scale
    elif isinstance(scaler, RobustScaler):
        center = scaler.center_ if scaler.with_centering else zeros
        scale = scaler.scale_ if scaler.with_scaling else ones
        multiplier, offset = 1 / scale, -center / scale
    elif isinstance(scaler, MinMaxScaler) and not scaler.clip:
        multiplier, offset = scaler.scale_, scaler.min_
    else:
        raise AutoMLError(f"cannot export the scaler {type(scaler).__name__}", "use `automl predict` or `automl serve` for this model")
    as_list = lambda values: [float(v) for v in np.asarray(values, dtype=float).reshape(width)]  # noqa: E731
    return {"fills": as_list(named["impute"].statistics_), "clip_lows": as_list(low), "clip_highs": as_list(high),
            "multipliers": as_list(multiplier), "offsets": as_list(offset)}
