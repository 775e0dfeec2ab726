"""The ``regrain`` command line: a thin layer over the library (see ``regrain --help``)."""

from __future__ import annotations

from regrain.cli._app import app

# each module registers its commands on `app` when imported
from regrain.cli import restore, batch, recipes, bands, convert, report, review  # noqa: F401  isort: skip

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``regrain`` console script."""
    app()
