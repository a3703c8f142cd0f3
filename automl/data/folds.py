"""Cross-validation folds of the training rows: stratified for classes, by group, or in time order.

The test split is carved out first (``automl/data/split.py``) and never enters a fold; the
folds divide the remaining training rows. ``--validation auto`` cross-validates small tables
(:data:`AUTO_CV_MAX_ROWS` training rows or fewer) and holds out a validation split above that:
on small tables a hold-out of a few dozen rows ranks noise, while on large ones its score is
already stable and K fold models would cost K times the search.

How the threshold was chosen (``python -m bench.validation cost``: one trial's training time,
an MLP of depth 2 and width 128, 10 epochs, one thread, on a 2-core machine under heavy load
from other jobs, so the seconds are rough): 500 training rows, hold-out 2.9 s, 5 folds 14.3 s;
2,000 rows, 2.2 s and 11.7 s; 8,000 rows, 9.1 s and 58.8 s. Five folds cost 5-6.5x a
hold-out trial. Up to 2,000 rows a 5-fold trial stays around ten seconds, so a two-minute
budget still runs a dozen or more trials; above it the cost grows with the rows while the
hold-out's validation split (15%: 350+ rows at 2,000) already measures a 90% accuracy with a
standard error of 1.6 points (against 4.2 points on the 50 validation rows of a 330-row
table), and the 5x cost would buy fewer trials.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, TimeSeriesSplit

from automl.errors import AutoMLError
from automl.flags import validation_value
from automl.options import AUTO_CV_MAX_ROWS, AUTO_FOLDS
VALIDATION_CHOICES = "auto, holdout or cv:K (K of 2 or more, e.g. cv:5)"


def fold_count(validation: str, train_rows: int) -> int:
    """The number of folds ``validation`` asks for on ``train_rows`` rows; 0 means hold-out."""
    if not isinstance(validation, str) or validation_value(validation) is None:
        raise AutoMLError(f"unknown validation '{validation}'", f"use {VALIDATION_CHOICES}")
    if validation == "holdout":
        return 0
    if validation == "auto":
        return AUTO_FOLDS if train_rows <= AUTO_CV_MAX_ROWS else 0
    return int(validation[3:])


def fold_indices(
    target: pd.Series, stratify: bool, folds: int, seed: int, groups: pd.Series | None = None, times: pd.Series | None = None,
    explicit: bool = True,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(fit positions, validation positions)`` of each fold, positions into ``target`` (the training rows).

    ``times`` → :class:`~sklearn.model_selection.TimeSeriesSplit` on the rows in time order:
    every fold validates on rows later than all it trains on (the earliest block only trains);
    ``groups`` → :class:`~sklearn.model_selection.GroupKFold`, each group in one fold;
    ``stratify`` (a classification task's target) → :class:`~sklearn.model_selection.StratifiedKFold`;
    otherwise shuffled K-fold.
    With ``explicit=False`` (``--validation auto``) the count shrinks to what the data allows
    (the smallest class, the number of groups), and ``[]`` (hold-out) when that is under 2.
    """
    rows = np.arange(len(target))
    if groups is not None:
        labels = groups.astype(str).to_numpy()
        folds = _allowed(folds, len(np.unique(labels)), "groups in the training rows", explicit)
        if not folds:
            return []
        splits = GroupKFold(n_splits=folds).split(rows, groups=labels)
    elif times is not None:
        folds = _allowed(folds, len(rows) - 1, "training rows", explicit)
        if not folds:
            return []
        order = rows[np.argsort(times.to_numpy(), kind="stable")]
        splits = ((order[fit], order[val]) for fit, val in TimeSeriesSplit(n_splits=folds).split(order))
    elif stratify:
        folds = _allowed(folds, int(target.value_counts().min()), "rows in the smallest class", explicit)
        if not folds:
            return []
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(rows, target.to_numpy())
    else:
        folds = _allowed(folds, len(rows), "training rows", explicit)
        if not folds:
            return []
        splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(rows)
    return [(np.sort(fit), np.sort(val)) for fit, val in splits]


def _allowed(folds: int, most: int, what: str, explicit: bool) -> int:
    if folds <= most:
        return folds
    if explicit:
        raise AutoMLError(f"--validation cv:{folds} needs {folds} {what}, the data has {most}",
                          f"pass --validation cv:{max(2, most)} or --validation holdout")
    return most if most >= 2 else 0
