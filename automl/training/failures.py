"""How a trial failed: a status and a one-line reason, and the summary of a search in which
every trial failed.

A failed trial keeps its row in the leaderboard and ``trials.jsonl`` with one of these
statuses, its reason in ``TrialRecord.error``, and every epoch it finished:

- ``diverged``: the training loss became NaN or infinite. The trial stops at once and reports
  its last finite validation metrics; it is not retried (it would diverge again).
- ``out of memory``: a CUDA or host allocation failed; the reason suggests a smaller batch size.
- ``worker died``: the process running the trial died (killed by a signal or the kernel's OOM
  killer, or its node was lost).
- ``error``: the trial raised; the reason is the exception's type and first line.

Ray Tune retries the last three ``--max-failures`` times, from the trial's latest checkpoint
when it has one (``automl.training.checkpoints.restore_from``: at the next epoch with ``--checkpoint-every``,
else from epoch 1 with the best outputs so far).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable, Mapping

from automl.errors import AutoMLError
from automl.run_directory import LEADERBOARD_CSV, TRIALS_FILE

DIVERGED = "diverged"
OUT_OF_MEMORY = "out of memory"
WORKER_DIED = "worker died"
ERROR = "error"
FAILED_STATUSES = (DIVERGED, OUT_OF_MEMORY, WORKER_DIED, ERROR)
# The report a diverged trial ends with carries its reason under this key.
DIVERGED_KEY = "diverged"

# Allocation failures that are not torch.OutOfMemoryError or MemoryError: torch's CPU
# allocator raises a plain RuntimeError, and so do some CUDA/cuDNN/cuBLAS paths.
_OOM_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory", "CUBLAS_STATUS_ALLOC_FAILED")


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite in (1-based) epoch ``epoch``."""

    def __init__(self, loss: float, epoch: int) -> None:
        self.loss = loss
        self.epoch = epoch
        super().__init__(f"loss is {loss} at epoch {epoch}")


def check_loss(loss: float, epoch: int) -> None:
    """Raise :class:`TrainingDiverged` when a batch's ``loss`` is NaN or infinite."""
    if not math.isfinite(loss):
        raise TrainingDiverged(loss, epoch)


def failure_of(error: BaseException | None, metrics: Mapping[str, Any], config: Mapping[str, Any]) -> tuple[str, str]:
    """``(status, reason)`` of a trial from Ray Tune's error and last result; ``("", "")`` when it did not fail."""
    if error is None:
        reason = metrics.get(DIVERGED_KEY)
        return (DIVERGED, str(reason)) if reason else ("", "")
    from ray.exceptions import RayActorError, RayTaskError

    if isinstance(error, RayActorError) and not isinstance(error, RayTaskError):
        return WORKER_DIED, (
            "the trial's worker process died (killed by a signal, the kernel's out-of-memory killer, "
            "or a lost node); --max-failures N retries it from its last checkpoint"
        )
    # A RayTaskError's message is Ray's traceback; ``cause`` is the exception the trial raised.
    cause = getattr(error, "cause", None) or error
    if isinstance(cause, TrainingDiverged):  # a loop that raised instead of reporting it
        return DIVERGED, str(cause)
    described = f"{_public_name(cause)}: {_first_line(cause)}"
    if _is_out_of_memory(cause):
        batch = config.get("batch_size")
        hint = f"try a smaller batch_size (this trial used {batch})" if batch else "try a smaller batch_size"
        return OUT_OF_MEMORY, f"{described}; {hint}, a smaller model or fewer concurrent trials"
    return ERROR, described


def _is_out_of_memory(error: BaseException) -> bool:
    # By name, so that classifying a failure never imports torch (torch.OutOfMemoryError and
    # its alias torch.cuda.OutOfMemoryError).
    if isinstance(error, MemoryError) or any(c.__name__ == "OutOfMemoryError" for c in type(error).__mro__):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and any(m.lower() in text for m in _OOM_MESSAGES)


def _public_name(error: BaseException) -> str:
    # NumPy raises a private subclass (_ArrayMemoryError): name the public class it extends.
    return next(c.__name__ for c in type(error).__mro__ if not c.__name__.startswith("_"))


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"


class SearchFailed(AutoMLError):
    """Every trial of a search failed. ``reasons`` counts each distinct reason.

    The leaderboard and ``trials.jsonl`` are written before it is raised; the CLI prints
    :meth:`summary` and exits with code 1 (code 2 is for mistakes in the input).
    """

    def __init__(self, reasons: Counter, run_dir: Any) -> None:
        self.reasons = reasons
        self.run_dir = run_dir
        total = sum(reasons.values())
        super().__init__(
            f"every trial failed ({total} trial{'s' if total != 1 else ''}): {'; '.join(reasons)}"[:500],
            f"see the leaderboard and {TRIALS_FILE} in {run_dir}",
        )

    def summary(self) -> list[str]:
        """One line per distinct reason, most frequent first, then where the records are."""
        total = sum(self.reasons.values())
        lines = [f"every trial failed ({total} trial{'s' if total != 1 else ''}); reasons:"]
        lines += [f"  {count} x {reason}" for reason, count in self.reasons.most_common()]
        lines.append(f"each trial's status, reason and finished epochs are in {self.run_dir}/{LEADERBOARD_CSV} and {TRIALS_FILE}")
        return lines


def failure_reasons(records: Iterable[Any]) -> Counter:
    """``"<status>: <reason>"`` counted over the records of failed (or resultless) trials."""
    return Counter(f"{r.status}: {r.error}" if r.error else r.status for r in records)
