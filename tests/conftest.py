"""Fixtures shared by the tests: settings on a real SQLite file, the app, a real server."""

from __future__ import annotations

from pathlib import Path

import pytest
from liveserver import LiveServer

from mockspice.app import create_app
from mockspice.settings import Settings

# pytester: tests/test_testing.py runs partners' suites with the plugin; headless: the `browser`
# fixture of the browser tests.
pytest_plugins = ["pytester", "headless"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: a fresh store file in the test's own folder."""
    return Settings.load(environ={}, overrides={"db": str(tmp_path / "store.db")})


@pytest.fixture
def app(settings: Settings):
    """A fresh app (and store) per test."""
    application = create_app(settings)
    yield application
    application.extensions["mockspice"].prepared.cleanup()


@pytest.fixture
def client(app):
    """Flask's test client of the per-test app."""
    return app.test_client()


@pytest.fixture(scope="session")
def live_server():
    """One real server for the session; each test using :func:`live` gets it reset."""
    server = LiveServer("--workers", "2")
    yield server
    server.stop()


@pytest.fixture
def live(live_server: LiveServer) -> LiveServer:
    """The session's real server, reset to the demo dataset before the test."""
    assert live_server.request("POST", "/_mockspice/reset").status_code == 200
    return live_server


@pytest.fixture(scope="session")
def partnered_server():
    """One real server for the session whose demo brands call its own reference partner
    (``--partner``: ``/_partner/...``, with the partner's intUser and intPass)."""
    server = LiveServer("--workers", "2", "--partner")
    yield server
    server.stop()


@pytest.fixture
def partner_live(partnered_server: LiveServer) -> LiveServer:
    """The session's partnered server, reset to the demo dataset before the test."""
    assert partnered_server.request("POST", "/_mockspice/reset").status_code == 200
    return partnered_server
