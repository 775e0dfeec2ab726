"""The ``regrain`` command line: a thin layer over the library (see ``regrain --help``)."""

from __future__ import annotations

from regrain.cli._app import app

# each module registers its commands on `app` when imported
from regrain.cli import restore, batch, recipes, bands, convert, report, review  # noqa: F401  isort: skip

__all__ = ["app", "main"]


ONE_SHOT = frozenset(
    ("restore", "inspect", "convert", "split", "merge", "blend", "luminosity", "grain", "graft")
)
"""Commands that work on one image and end: they keep freed memory for reuse (regrain._malloc);
batch, review and report are long-lived or spawn workers, and keep the allocator's defaults."""


def main() -> None:
    """Entry point of the ``regrain`` console script."""
    import sys

    if len(sys.argv) > 1 and sys.argv[1] in ONE_SHOT:
        from regrain._malloc import keep_freed_memory

        keep_freed_memory()
    app()
