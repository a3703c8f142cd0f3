"""Command-line parsing that answers a mistake in three lines at most, and the value rules
that the command line and the Python API share.

:class:`ShortErrorParser` replaces argparse's usage dump with the error, the allowed values of
the flag at fault, and where to read more; :class:`FlagValue` types convert a flag's text and
say, in words a user reads, what they accept. The same :class:`FlagValue` checks a value given
in Python (:meth:`FlagValue.check`), so ``AutoML(num_trials=0)`` is refused by the rule that
refuses ``--num-trials 0``.
"""

from __future__ import annotations

import argparse
import numbers
import re
from dataclasses import dataclass
from typing import Any, Callable

ARGUMENT_ERROR = re.compile(r"^argument (?P<name>[^:]+): ")
CHOICES_SUFFIX = re.compile(r" \(choose from .*\)$")


@dataclass(frozen=True)
class FlagValue:
    """A flag's value type: ``convert`` turns its text into a value, ``accept`` checks that value.

    ``allowed`` says what it accepts (``"a number greater than 0"``) and ``example`` shows one,
    both for the error a wrong value gets. ``plain`` takes a value given in Python instead of
    text: the value of the type ``convert`` returns (an ``int`` for a whole number, never a
    string or a bool), or ``None`` for a value of another type.
    """

    allowed: str
    example: str
    convert: Callable[[str], Any]
    accept: Callable[[Any], bool] = lambda value: True
    plain: Callable[[Any], Any] = lambda value: None

    def __call__(self, text: str) -> Any:
        try:
            value = self.convert(text)
        except ValueError:
            value = None
        if value is None or not self.accept(value):
            raise argparse.ArgumentTypeError(self.refusal(text))
        return value

    def check(self, value: Any) -> Any:
        """``value`` given in Python, as the plain value the flag's text would give; a
        ``ValueError`` with the flag's own refusal (:meth:`refusal`) for a value of the wrong
        type or one that the flag refuses."""
        plain = self.plain(value)
        if plain is None or not self.accept(plain):
            raise ValueError(self.refusal(repr(value)))
        return plain

    def refusal(self, given: str) -> str:
        """``"must be a whole number of 1 or more, got 0"``: why ``given`` is refused."""
        return f"must be {self.allowed}, got {given}"

    def python_example(self) -> str:
        """``example`` as a Python value would be written: ``10``, ``'cv:5'``, ``(1, 8, 8)``."""
        return repr(self.convert(self.example))


def _names(text: str) -> tuple[str, ...] | None:
    return tuple(part.strip() for part in text.split(",") if part.strip()) or None


def validation_value(text: str) -> str | None:
    """``text`` if it names a validation (``auto``, ``holdout``, ``cv:K`` with K >= 2), else ``None``."""
    if text in ("auto", "holdout") or (text.startswith("cv:") and text[3:].isdigit() and int(text[3:]) >= 2):
        return text
    return None


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


def _whole_number(value: Any) -> int | None:
    """A Python (or numpy) integer as an ``int``; ``None`` for anything else, bools included."""
    return int(value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    """A Python (or numpy) integer or float as a ``float``; ``None`` for anything else, bools included."""
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _sizes(value: Any) -> tuple[int, ...] | None:
    """A tuple or list of whole numbers as a tuple of ints (a resumed search reads a list from JSON)."""
    if not isinstance(value, (tuple, list)):
        return None
    sizes = tuple(_whole_number(v) for v in value)
    return None if None in sizes else sizes


POSITIVE_INT = FlagValue("a whole number of 1 or more", "10", int, lambda v: v >= 1, _whole_number)
NON_NEGATIVE_INT = FlagValue("a whole number of 0 or more", "2", int, lambda v: v >= 0, _whole_number)
INTEGER = FlagValue("a whole number", "0", int, plain=_whole_number)
POSITIVE_FLOAT = FlagValue("a positive number", "300", float, lambda v: v > 0, _number)
NON_NEGATIVE_FLOAT = FlagValue("a number of 0 or more", "0.5", float, lambda v: v >= 0, _number)
FRACTION = FlagValue("a number between 0 and 1", "0.15", float, lambda v: 0 < v < 1, _number)
QUANTILE = FlagValue("a number between 0 and 0.5", "0.01", float, lambda v: 0 < v < 0.5, _number)
ENSEMBLE_SIZE = FlagValue("0 (no ensemble) or a whole number of 2 or more", "5", int, lambda v: v == 0 or v >= 2, _whole_number)
VALIDATION = FlagValue("auto, holdout or cv:K with K of 2 or more", "cv:5", lambda text: validation_value(text),
                       lambda v: validation_value(v) is not None, _text)
CLUSTER_COUNT = FlagValue("a whole number of 2 or more", "4", int, lambda v: v >= 2, _whole_number)
PORT = FlagValue("a port number from 0 to 65535", "8000", int, lambda v: 0 <= v <= 65535, _whole_number)
COLUMN_NAMES = FlagValue("column names separated by commas", "rank,trial_id", _names, plain=lambda v: _names(v) if isinstance(v, str) else None)
IMAGE_SHAPE = FlagValue("three positive sizes C,H,W", "1,8,8", _shape, lambda v: len(v) == 3 and min(v) >= 1, _sizes)


class ShortErrorParser(argparse.ArgumentParser):
    """An argument parser whose errors are at most three lines on stderr, exit code 2:

    ``automl search: error: argument --time-budget: must be a positive number, got -5``,
    the flag's allowed values, and ``see: automl search --help``. Subcommands inherit it.
    """

    def error(self, message: str):
        lines = [f"{self.prog}: error: {CHOICES_SUFFIX.sub('', message)}"]
        allowed = self._allowed_values(message)
        if allowed:
            lines.append(f"allowed: {allowed}")
        lines.append(f"see: {self.prog} --help")
        self.exit(2, "\n".join(lines) + "\n")

    def _allowed_values(self, message: str) -> str | None:
        found = ARGUMENT_ERROR.match(message)
        action = self._action_named(found.group("name")) if found else None
        if action is None:
            return None
        if action.choices is not None:
            return f"{found.group('name')} {', '.join(map(str, action.choices))}"
        if isinstance(action.type, FlagValue):
            metavar = action.metavar or action.dest.upper()
            return f"{found.group('name')} {metavar}: {action.type.allowed}, e.g. {action.type.example}"
        return None

    def _action_named(self, name: str) -> argparse.Action | None:
        for action in self._actions:
            if "/".join(action.option_strings) == name or name in (action.metavar, action.dest):
                return action
        return None
