"""The target encoder of the tasks without a target (``Task.target_kind`` is ``NO_TARGET``).

Model folders of those tasks hold a :class:`NoTarget` under this module's name, so it stays here.
"""

from __future__ import annotations

import numpy as np


class NoTarget:
    """Stands in for the target encoder where there is no target: no outputs, nothing to decode;
    every row's "target" is a 0 that no loss reads."""

    output_size = 0
    by_class = False

    def encode(self, values) -> np.ndarray:
        return np.zeros(len(values), dtype=np.float32)
