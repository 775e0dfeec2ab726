"""The project's error types.

Every mistake a user can make (a bad file, a bad option) raises a :class:`RegrainError`; the CLI
turns it into one line on stderr and exit code 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from os import PathLike

__all__ = ["ImageFileError", "ParameterError", "RegrainError"]


class RegrainError(Exception):
    """A problem with the user's input that regrain reports in one line (exit code 2)."""


class ParameterError(RegrainError, ValueError):
    """An option outside its allowed range or set, e.g. ``radius must be > 0 px; got -2.``"""


class ImageFileError(RegrainError):
    """A file that cannot be read or written, with the file named first in the message."""

    def __init__(self, path: str | PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
