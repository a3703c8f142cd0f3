"""Train / validation / test split: stratified for classification, by group, or in time order,
with a fixed seed; a user-given test set replaces the carved-out one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from automl.errors import AutoMLError


@dataclass(frozen=True)
class SplitIndices:
    """Positional row indices of each split (``test`` is empty when the user gave a test file)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    method: str = "random"


def check_fractions(val_fraction: float, test_fraction: float, has_test_data: bool = False) -> None:
    """Both fractions in (0, 1) and at least 10% of rows left for training."""
    for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise AutoMLError(f"{name} is {fraction}", f"pass a {name} between 0 and 1")
    if val_fraction + (0 if has_test_data else test_fraction) >= 0.9:
        raise AutoMLError("val_fraction + test_fraction leave under 10% for training", "lower them")


def check_class_counts(target: pd.Series, minimum: int) -> None:
    """Each class needs ``minimum`` rows (one per split) for a stratified split."""
    counts = target.value_counts()
    rare = counts[counts < minimum]
    if len(rare):
        raise AutoMLError(
            f"class {rare.index[0]!r} of target '{target.name}' has {rare.iloc[0]} row(s); each class needs at least "
            f"{minimum} (one per split)",
            "add rows for that class, drop it, or use --task regression for a numeric target",
        )


def split_rows(
    target: pd.Series,
    stratify: bool,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    groups: pd.Series | None = None,
    times: pd.Series | None = None,
    has_test_data: bool = False,
) -> SplitIndices:
    """Row indices for train / val / test.

    ``times`` → the oldest rows train, later ones validate, the latest test; ``groups`` → every
    group lies on one side of each cut; otherwise, with ``stratify`` (a classification task's
    target), splits are stratified.
    With ``has_test_data`` only a validation split is carved out (the test rows come from a file).
    """
    check_fractions(val_fraction, test_fraction, has_test_data)
    rows = np.arange(len(target))
    test_share = 0.0 if has_test_data else test_fraction
    if times is not None:
        return _time_split(rows, times, val_fraction, test_share)
    if groups is not None:
        return _group_split(rows, groups, val_fraction, test_share, seed)
    labels = target.to_numpy() if stratify else None
    if stratify:
        check_class_counts(target, 2 if has_test_data else 3)
    try:
        if has_test_data:
            rest, test = rows, rows[:0]
        else:
            rest, test = train_test_split(rows, test_size=test_fraction, random_state=seed, stratify=labels)
        rest_stratify = labels[rest] if labels is not None else None
        train, val = train_test_split(rest, test_size=val_fraction / (1 - test_share), random_state=seed, stratify=rest_stratify)
    except ValueError as exc:
        raise AutoMLError(f"cannot split {len(rows)} rows: {exc}", "pass more rows or larger split fractions") from None
    return SplitIndices(np.sort(train), np.sort(val), np.sort(test), "stratified" if stratify else "random")


def _time_split(rows: np.ndarray, times: pd.Series, val_fraction: float, test_share: float) -> SplitIndices:
    if times.isna().any():
        raise AutoMLError(f"time column '{times.name}' has {int(times.isna().sum())} missing value(s)", "fill them or drop those rows")
    order = rows[np.argsort(times.to_numpy(), kind="stable")]
    n_test = int(round(len(rows) * test_share))
    n_val = int(round(len(rows) * val_fraction))
    if len(rows) - n_test - n_val < 1 or n_val < 1 or (test_share and n_test < 1):
        raise AutoMLError(f"cannot split {len(rows)} rows in time order", "pass more rows or larger split fractions")
    train, val, test = order[: len(rows) - n_val - n_test], order[len(rows) - n_val - n_test : len(rows) - n_test], order[len(rows) - n_test :]
    return SplitIndices(np.sort(train), np.sort(val), np.sort(test), f"time order by '{times.name}'")


def _group_split(rows: np.ndarray, groups: pd.Series, val_fraction: float, test_share: float, seed: int) -> SplitIndices:
    if groups.isna().any():
        raise AutoMLError(f"group column '{groups.name}' has {int(groups.isna().sum())} missing value(s)", "fill them or drop those rows")
    labels = groups.astype(str).to_numpy()
    needed = 3 if test_share else 2
    if len(np.unique(labels)) < needed:
        raise AutoMLError(f"group column '{groups.name}' has {len(np.unique(labels))} group(s)", f"pass data with at least {needed} groups")
    try:
        rest, test = rows, rows[:0]
        if test_share:
            rest, test = next(GroupShuffleSplit(1, test_size=test_share, random_state=seed).split(rows, groups=labels))
        inner = val_fraction / (1 - test_share)
        train_pos, val_pos = next(GroupShuffleSplit(1, test_size=inner, random_state=seed).split(rest, groups=labels[rest]))
    except ValueError as exc:
        raise AutoMLError(f"cannot split {len(rows)} rows by group: {exc}", "pass more groups or larger split fractions") from None
    return SplitIndices(np.sort(rest[train_pos]), np.sort(rest[val_pos]), np.sort(test), f"by group '{groups.name}'")
