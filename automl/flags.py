"""Command-line parsing that answers a mistake in three lines at most.

:class:`ShortErrorParser` replaces argparse's usage dump with the error, the allowed values of
the flag at fault, and where to read more; :class:`FlagValue` types convert a flag's text and
say, in words a user reads, what they accept.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Any, Callable

ARGUMENT_ERROR = re.compile(r"^argument (?P<name>[^:]+): ")
CHOICES_SUFFIX = re.compile(r" \(choose from .*\)$")


@dataclass(frozen=True)
class FlagValue:
    """A flag's value type: ``convert`` turns its text into a value, ``accept`` checks that value.

    ``allowed`` says what it accepts (``"a number greater than 0"``) and ``example`` shows one,
    both for the error a wrong value gets.
    """

    allowed: str
    example: str
    convert: Callable[[str], Any]
    accept: Callable[[Any], bool] = lambda value: True

    def __call__(self, text: str) -> Any:
        try:
            value = self.convert(text)
        except ValueError:
            value = None
        if value is None or not self.accept(value):
            raise argparse.ArgumentTypeError(f"must be {self.allowed}, got {text}")
        return value


def _names(text: str) -> tuple[str, ...] | None:
    return tuple(part.strip() for part in text.split(",") if part.strip()) or None


def validation_value(text: str) -> str | None:
    """``text`` if it names a validation (``auto``, ``holdout``, ``cv:K`` with K >= 2), else ``None``."""
    if text in ("auto", "holdout") or (text.startswith("cv:") and text[3:].isdigit() and int(text[3:]) >= 2):
        return text
    return None


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


POSITIVE_INT = FlagValue("a whole number of 1 or more", "10", int, lambda v: v >= 1)
NON_NEGATIVE_INT = FlagValue("a whole number of 0 or more", "2", int, lambda v: v >= 0)
INTEGER = FlagValue("a whole number", "0", int)
POSITIVE_FLOAT = FlagValue("a positive number", "300", float, lambda v: v > 0)
NON_NEGATIVE_FLOAT = FlagValue("a number of 0 or more", "0.5", float, lambda v: v >= 0)
FRACTION = FlagValue("a number between 0 and 1", "0.15", float, lambda v: 0 < v < 1)
QUANTILE = FlagValue("a number between 0 and 0.5", "0.01", float, lambda v: 0 < v < 0.5)
ENSEMBLE_SIZE = FlagValue("0 (no ensemble) or a whole number of 2 or more", "5", int, lambda v: v == 0 or v >= 2)
VALIDATION = FlagValue("auto, holdout or cv:K with K of 2 or more", "cv:5", lambda text: validation_value(text))
CLUSTER_COUNT = FlagValue("a whole number of 2 or more", "4", int, lambda v: v >= 2)
PORT = FlagValue("a port number from 0 to 65535", "8000", int, lambda v: 0 <= v <= 65535)
COLUMN_NAMES = FlagValue("column names separated by commas", "rank,trial_id", _names)
IMAGE_SHAPE = FlagValue("three positive sizes C,H,W", "1,8,8", _shape, lambda v: len(v) == 3 and min(v) >= 1)


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
