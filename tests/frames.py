"""The small tables tests search, as plain functions: fixtures of any scope can build them."""

from __future__ import annotations

import numpy as np
import pandas as pd


def blobs(n: int = 240) -> pd.DataFrame:
    """An easily separable 3-class table (target ``species``) with a numeric and a categorical feature."""
    rng = np.random.default_rng(0)
    label = rng.integers(0, 3, n)
    frame = pd.DataFrame(
        {
            "x1": label * 2.0 + rng.normal(0, 0.4, n),
            "x2": -label * 1.5 + rng.normal(0, 0.4, n),
            "colour": np.where(label == 0, "red", np.where(label == 1, "green", "blue")),
            "noise": rng.normal(0, 1, n),
        }
    )
    frame["species"] = np.array(["ant", "bee", "cat"])[label]
    return frame


def linear_regression(n: int = 240) -> pd.DataFrame:
    """``y = 3a - 2b + 50`` plus a little noise, and an unused column ``c``."""
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (n, 3))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": 3 * x[:, 0] - 2 * x[:, 1] + 0.1 * rng.normal(size=n) + 50})
