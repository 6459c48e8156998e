"""pytest fixtures: a real Chromium for pytest-playwright, and real subprocess servers
(the simulated portal, the UI) on free loopback ports, always stopped. The plumbing itself
lives in ``fixtures.harness``, which benchmarks and scripts use too."""

from __future__ import annotations

import pytest

from fixtures.harness import start_portal
from scrapers.browser.launch import find_browser, launch_args


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": find_browser(), "args": launch_args()}


@pytest.fixture
def portal_factory():
    """Start portals with any flags; every one is stopped at the end of the test."""
    started = []

    def make(*args: str):
        p = start_portal(*args)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


@pytest.fixture(scope="session")
def shared_portal():
    """One read-only 60-case portal (seed 7, en_US) for tests that do not mutate it."""
    p = start_portal("--cases", "60", "--seed", "7")
    yield p
    p.stop()


@pytest.fixture
def caselog_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("CASELOG_HOME", str(home))
    return home
