"""pytest fixtures: a real Chromium for pytest-playwright, and real subprocess servers
(the simulated portal, the UI) on free loopback ports, always stopped. The plumbing itself
lives in ``fixtures.harness``, which benchmarks and scripts use too."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from fixtures.harness import TALLY_ENV, PortalPool, read_tally, start_portal
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
def portal_pool():
    """This worker's portals, one per configuration, reset for each test that asks."""
    pool = PortalPool()
    yield pool
    pool.close()


@pytest.fixture
def pooled_portal(portal_pool):
    """``pooled_portal(*flags)``: the worker's portal of that configuration, as it started
    (world, faults, counters) but keeping its sessions. For a test that needs a restart or
    two portals of one configuration, ``portal_factory``."""
    return portal_pool.get


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


def pytest_configure(config):
    # xdist hands out whole files, by default the files of most tests first; a file of
    # one test that takes minutes then starts last and one worker waits on it alone.
    # Files marked slow go first instead (pytest_collection_modifyitems), in that order.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    # The controller names one tally file before any worker starts; workers inherit it.
    if not hasattr(config, "workerinput") and not os.environ.get(TALLY_ENV):
        fd, path = tempfile.mkstemp(prefix="caselog-tally-", suffix=".txt")
        os.close(fd)
        os.environ[TALLY_ENV] = path
        config._caselog_tally = path


def pytest_terminal_summary(terminalreporter, config):
    path = getattr(config, "_caselog_tally", None)
    if not path:
        return
    counts = read_tally(path)
    Path(path).unlink(missing_ok=True)
    terminalreporter.write_sep("-", "expensive steps (whole session, all workers)")
    for kind in sorted(counts):
        terminalreporter.write_line(f"{counts[kind]:5d}  {kind}")


def pytest_collection_modifyitems(config, items):
    """The files that hold a test marked ``slow`` run first: with two workers taking a
    file at a time, the longest files started first finish together."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items[:] = sorted(items, key=lambda item: item.path not in slow)  # stable: file order kept
