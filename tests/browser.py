"""A real headless browser for the report and review tests: Debian's chromium driven by Playwright.

The suite needs it: when chromium or Playwright is missing the tests FAIL with one line saying what
to install (``.ci/run`` installs both), they are not skipped. Chromium runs with the flags this
closed network needs (no background connections) and a new empty profile.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 860) -> Iterator:
    """A Playwright browser context on Debian's chromium, closed (and its profile removed) after."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"browser tests need Debian's chromium at {CHROMIUM}: "
            "apt-get install -y chromium chromium-driver (.ci/run does it)",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("browser tests need Playwright: pip install -e '.[test]'", pytrace=False)
    profile = tempfile.mkdtemp(prefix="regrain-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=FLAGS,
                viewport={"width": width, "height": height},
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def watch(page) -> list[str]:
    """Collect the page's JavaScript errors (a test asserts there are none)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors
