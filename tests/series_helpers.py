"""A tiny time-series table in the wide layout, shared by the tests of the sequence families and
of layout detection."""

from __future__ import annotations

import numpy as np
import pandas as pd


def wide_series(columns, n: int = 80, seed: int = 0) -> pd.DataFrame:
    """Smooth noisy sines (phase and class-dependent frequency) in the wide layout, label last."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    t = np.linspace(0, 2 * np.pi, len(columns))
    values = np.sin((1 + label[:, None]) * t[None, :] + rng.uniform(0, 1, (n, 1))) + rng.normal(0, 0.1, (n, len(columns)))
    frame = pd.DataFrame(values, columns=columns)
    frame["label"] = np.array(["a", "b"])[label]
    return frame
