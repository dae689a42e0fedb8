"""Fixtures for the real-browser tests: one Streamlit server and one headless Chromium for the
whole session.

Skip policy: without a Chromium executable these tests are skipped, saying so, EXCEPT in CI
(environment variable CI=true), where a missing Chromium is a failure: CI installs Debian's
chromium (.ci/run), so its absence there is a broken setup, not an optional extra.
Playwright is only the driver: the browser is never downloaded (no ``playwright install``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser_harness import (  # noqa: E402
    StreamlitServer,
    close_chromium,
    find_chromium,
    launch_chromium,
)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "no Chromium executable found (CI=true, so this is a failure, not a skip): "
                "install Debian's chromium, or set CHROMIUM_PATH"
            )
        pytest.skip(
            "no Chromium executable found (chromium not on PATH, no /usr/bin/chromium, no CHROMIUM_PATH)"
        )
    return path


@pytest.fixture(scope="session")
def app_server(chromium_path):
    """``streamlit run app.py`` (LENS_BROWSER_APP overrides the script) on a free port, with the
    reference checkpoint when it is beside the repository; killed at the end of the session."""
    server = StreamlitServer(os.environ.get("LENS_BROWSER_APP", "app.py"))
    with server:
        server.wait_healthy(timeout=120)
        yield server


@pytest.fixture(scope="session")
def chromium(chromium_path):
    """One headless Chromium (a fresh profile) for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context, profile = launch_chromium(pw, chromium_path)
        try:
            yield context
        finally:
            close_chromium(context, profile)
