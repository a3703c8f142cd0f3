"""The one exception type for mistakes a user can fix: a message and the fix."""

from __future__ import annotations


class AutoMLError(Exception):
    """A problem with the user's input, data, plugins or files, and how to fix it.

    The CLI turns it into one line on stderr and exit code 2; the Python API lets it
    propagate. Internal bugs raise ordinary exceptions instead.
    """

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem.rstrip(".")
        self.fix = fix.rstrip(".")
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``"<problem>. Fix: <fix>."``: what the CLI prints."""
        return f"{self.problem}. Fix: {self.fix}." if self.fix else f"{self.problem}."


class AutoMLWarning(UserWarning):
    """Something a user should know that does not stop the command (e.g. a clash of plugin
    component names); the CLI prints it as one ``automl: warning:`` line on stderr."""
