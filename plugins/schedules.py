"""Learning-rate schedules shared by the built-in optimizers (a helper module, not a plugin).

Every schedule is a multiplier of the optimizer's base learning rate as a function of the
batch step, wrapped in ``torch.optim.lr_scheduler.LambdaLR`` and stepped after every batch.
The horizon is the trial's configured epochs times its optimizer steps per epoch, so a refit that
stops at the winning epoch follows the same learning-rate curve as the trial did.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

SCHEDULES = ("constant", "step", "cosine", "one_cycle")
SCHEDULE_SPACE = {"schedule": {"choice": list(SCHEDULES)}, "warmup": {"choice": [0.0, 0.1]}}
ONE_CYCLE_START, ONE_CYCLE_END = 1 / 25, 1 / 25e4  # torch's OneCycleLR defaults, as fractions of lr


def lr_multiplier(schedule: str, total_steps: int, warmup: float = 0.0) -> Callable[[int], float]:
    """The multiplier of the base learning rate at batch step ``step`` (0-based).

    - ``constant``: 1;
    - ``step``: 1, then 0.1 after half of training, 0.01 after three quarters;
    - ``cosine``: cosine decay from 1 to 0;
    - ``one_cycle``: cosine rise from 1/25 to 1 over the warm-up share (0.3 when warm-up is
      0), then cosine decay to 1/250000 (the learning-rate half of Smith's one-cycle policy);
    - ``warmup`` (a share of all steps): a linear ramp from ~0 to the schedule's value first.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; use one of {', '.join(SCHEDULES)}")
    total = max(1, int(total_steps))
    if schedule == "one_cycle":
        peak = max(1, round((warmup or 0.3) * total))

        def one_cycle(step: int) -> float:
            if step < peak:
                return _cosine(ONE_CYCLE_START, 1.0, step / peak)
            return _cosine(1.0, ONE_CYCLE_END, min(1.0, (step - peak) / max(1, total - peak)))

        return one_cycle
    warm = round(warmup * total)

    def multiplier(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        progress = min(1.0, (step - warm) / max(1, total - warm))
        if schedule == "step":
            return 0.1 ** ((progress >= 0.5) + (progress >= 0.75))
        if schedule == "cosine":
            return _cosine(1.0, 0.0, progress)
        return 1.0

    return multiplier


def _cosine(start: float, end: float, progress: float) -> float:
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * progress))


def with_schedule(optimizer: torch.optim.Optimizer, schedule: str, warmup: float,
                  epochs: int | None, steps_per_epoch: int | None):
    """``optimizer`` alone for a constant rate without warm-up, else ``(optimizer, LambdaLR)``."""
    if schedule == "constant" and not warmup:
        return optimizer
    if not epochs or not steps_per_epoch:
        raise ValueError(f"the {schedule} schedule needs the platform's epochs and steps_per_epoch")
    rule = lr_multiplier(schedule, epochs * steps_per_epoch, warmup)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, rule)
