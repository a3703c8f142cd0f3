"""Capture a module for TorchScript (scripted, or traced and checked) or ``torch.export``, and save it."""

import warnings
from pathlib import Path
from typing import Any, Callable

import torch

from automl.errors import AutoMLError

FORMATS = {"torchscript": "model.torchscript.pt", "torch-export": "model.pt2"}


def save_module(module: torch.nn.Module, example: tuple, fmt: str, path: Path,
                check: Callable[[torch.nn.Module], str] | None = None) -> str:
    """Capture ``module`` in ``fmt`` (:func:`capture_module`; without ``check``, a module that
    can only be traced is refused) and save it to ``path``, its folder made only then; return
    how it was captured."""
    captured, captured_by = capture_module(module, example, fmt, check)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "torchscript":
        torch.jit.save(captured, str(path))
    else:
        torch.export.save(captured, str(path))
    return captured_by


def capture_module(module: torch.nn.Module, example: tuple, fmt: str,
                   check: Callable[[torch.nn.Module], str] | None = None) -> tuple[Any, str]:
    """``(captured module, how it was captured)`` for ``fmt``, batch size free.

    TorchScript scripts the module; an architecture with Python-only code is traced instead,
    which records only the path ``example`` took through it (a branch on the data, a Python
    number computed from a tensor and a batch size baked in are all frozen). So a traced module
    is kept only when ``check`` finds no difference from the saved model (it returns ``""``),
    else (or with no ``check``) export is refused with both reasons: why scripting failed and
    how the trace differs.
    """
    if fmt == "torchscript":
        try:
            return torch.jit.script(module), "torch.jit.script"
        except Exception as exc:
            why_not_scripted = _first_line(exc).rstrip(":")
        with warnings.catch_warnings(record=True) as traced_warnings:
            warnings.simplefilter("always", torch.jit.TracerWarning)
            try:
                traced = torch.jit.trace(module, example)
            except Exception as exc:
                raise AutoMLError(f"TorchScript can neither script this architecture ({why_not_scripted}) nor trace it "
                                  f"({_first_line(exc)})", "use --format torch-export, or `automl predict` / `automl serve`") from None
        difference = check(traced) if check is not None else "was not checked against the saved model"
        if difference:
            hints = [str(w.message).splitlines()[0] for w in traced_warnings if issubclass(w.category, torch.jit.TracerWarning)]
            hint = f"; the tracer warned: {hints[0]}" if hints else ""
            raise AutoMLError(
                f"cannot export this architecture to TorchScript: scripting fails ({why_not_scripted}) and the traced "
                f"module {difference}{hint}",
                "use --format torch-export, or `automl predict` / `automl serve` for this model",
            )
        return traced, "torch.jit.trace"
    batch = torch.export.Dim("batch", min=1)
    try:
        program = torch.export.export(module, example, dynamic_shapes=tuple({0: batch} for _ in example))
    except Exception as exc:
        raise AutoMLError(
            f"torch.export cannot capture this architecture: {type(exc).__name__}: {str(exc).splitlines()[0]}",
            "use --format torchscript",
        ) from None
    return program, "torch.export"


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
