"""Train / validation / test split, stratified for classification, with a fixed seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from automl.components import CLASSIFICATION_TASKS
from automl.errors import AutoMLError


@dataclass(frozen=True)
class SplitIndices:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_rows(target: pd.Series, task: str, val_fraction: float, test_fraction: float, seed: int) -> SplitIndices:
    """Positional row indices for the three splits; every class appears in each split."""
    for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise AutoMLError(f"{name} is {fraction}", f"pass a {name} between 0 and 1")
    if val_fraction + test_fraction >= 0.9:
        raise AutoMLError("val_fraction + test_fraction leave under 10% for training", "lower them")
    rows = np.arange(len(target))
    stratify = target.to_numpy() if task in CLASSIFICATION_TASKS else None
    if stratify is not None:
        counts = target.value_counts()
        rare = counts[counts < 3]
        if len(rare):
            raise AutoMLError(
                f"class {rare.index[0]!r} of target '{target.name}' has {rare.iloc[0]} row(s); each class needs "
                "at least 3 (one per split)",
                "add rows for that class, drop it, or use --task regression for a numeric target",
            )
    try:
        rest, test = train_test_split(rows, test_size=test_fraction, random_state=seed, stratify=stratify)
        rest_stratify = stratify[rest] if stratify is not None else None
        train, val = train_test_split(
            rest, test_size=val_fraction / (1 - test_fraction), random_state=seed, stratify=rest_stratify
        )
    except ValueError as exc:
        raise AutoMLError(f"cannot split {len(rows)} rows: {exc}", "pass more rows or larger split fractions") from None
    return SplitIndices(np.sort(train), np.sort(val), np.sort(test))
