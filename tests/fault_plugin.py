"""A test-only architecture plugin that fails on purpose: fault injection for real searches.

``faulty`` is a linear model whose hyperparameters choose a fault and the epoch it strikes:

- ``none``: trains normally (a healthy trial).
- ``raise``: raises ``RuntimeError`` at the start of epoch ``at_epoch``.
- ``nan``: from epoch ``at_epoch`` on, its outputs are NaN, so the training loss is NaN.
- ``oom``: asks torch for a tensor larger than any address space (a real allocator failure).
- ``memory_error``: asks NumPy for the same (a real ``MemoryError``).
- ``kill``: SIGKILLs its own process (the Ray worker running the trial).

``state_dir`` (a folder) keeps what must outlive a trial's process: ``<fault>.epochs`` gets one
line per epoch started, so a retry from a checkpoint continues the count where a restart from
scratch begins again at 1 (the epoch counter is a buffer: it travels in the checkpoint); with
``once``, the fault strikes only while ``<fault>.struck`` does not exist (it is created just
before), so a retried trial survives. ``nan`` ignores ``once``.

The tests register it through a ``.dist-info`` on ``sys.path`` (an installed distribution as
far as entry points go) and ship its code to Ray workers by value, so nothing is pip-installed.
"""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path

import numpy as np
import torch
from torch import nn

from automl import hookimpl
from automl.components import ArchitectureSpec

FAULTS = ("none", "raise", "nan", "oom", "memory_error", "kill")
IMPOSSIBLE_ELEMENTS = 2**60  # 4 EiB of float32: beyond any machine, whatever its overcommit policy


class FaultyLinear(nn.Module):
    """A linear model that injects its ``fault`` at the start of epoch ``at_epoch``."""

    def __init__(self, input_shape, output_size, fault="none", at_epoch=1, once=False, state_dir=""):
        super().__init__()
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        if once and not state_dir:
            raise ValueError("once needs a state_dir")
        self.linear = nn.Linear(math.prod(input_shape), output_size)
        self.register_buffer("epochs_started", torch.zeros((), dtype=torch.long))
        self.fault, self.at_epoch, self.once = fault, int(at_epoch), bool(once)
        self.state = Path(state_dir) if state_dir else None

    def train(self, mode: bool = True):
        # The training loop calls train() once at the start of every epoch (eval() for validation).
        if mode:
            self.epochs_started += 1
            epoch = int(self.epochs_started)
            if self.state is not None:
                with open(self.state / f"{self.fault}.epochs", "a") as handle:
                    handle.write(f"{epoch}\n")
            if epoch == self.at_epoch and self._armed():
                self._strike_at_epoch_start(epoch)
        return super().train(mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x.flatten(1))
        if self.training and self.fault == "nan" and int(self.epochs_started) >= self.at_epoch:
            return out * float("nan")
        return out

    def _armed(self) -> bool:
        if self.fault == "none":
            return False
        if not self.once:
            return True
        marker = self.state / f"{self.fault}.struck"
        if marker.exists():
            return False
        marker.touch()
        return True

    def _strike_at_epoch_start(self, epoch: int) -> None:
        if self.fault == "raise":
            raise RuntimeError(f"injected fault at epoch {epoch}")
        if self.fault == "oom":
            torch.empty(IMPOSSIBLE_ELEMENTS)
        if self.fault == "memory_error":
            np.empty(IMPOSSIBLE_ELEMENTS, dtype=np.float32)
        if self.fault == "kill":
            os.kill(os.getpid(), signal.SIGKILL)


@hookimpl
def automl_architectures():
    return [
        ArchitectureSpec(
            name="faulty",
            build=FaultyLinear,
            tasks=("binary", "multiclass", "regression"),
            space={"fault": "none", "at_epoch": 1, "once": False, "state_dir": ""},
            description="test-only: a linear model that fails on purpose",
        )
    ]
