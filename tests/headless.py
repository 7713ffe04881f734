"""A headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright.

Without ``/usr/bin/chromium`` a browser test skips, unless ``CI`` or ``MOCKSPICE_REQUIRE_BROWSER``
is set: then a missing browser is a failure. Import :func:`browser` into a test module to use it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _required() -> bool:
    return any(
        os.environ.get(name, "").lower() not in ("", "0", "false", "no")
        for name in ("CI", "MOCKSPICE_REQUIRE_BROWSER")
    )


def _unavailable(reason: str) -> None:
    """A missing browser: a failure where one is required (CI), a skip elsewhere."""
    if _required():
        pytest.fail(
            f"{reason} (required because CI or MOCKSPICE_REQUIRE_BROWSER is set)", pytrace=False
        )
    pytest.skip(
        f"{reason}; install Debian's chromium (apt-get install chromium) to run the browser tests"
    )


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module."""
    if not CHROMIUM.exists():
        _unavailable(f"no browser at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
