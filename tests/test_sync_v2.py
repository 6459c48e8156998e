"""Sync against portals of PORTAL.md version 2, through the real CLI and Chromium: a portal
that answers only its own pages' calls, the rendered pages of layout b, an outage. The
portals of more than 1,000 cases have files of their own (test_sync_v2_cap.py,
test_sync_v2_whole.py): each takes minutes, and a file is what a test worker takes."""

from __future__ import annotations

import pytest
from sync_helpers import assert_same, export, login, reset_stats, stats, sync

from fixtures.harness import run_caselog

pytestmark = pytest.mark.slow  # minutes: its file is scheduled first (tests/conftest.py)



def test_a_portal_that_answers_only_its_pages_calls_still_syncs(portal_factory, tmp_path):
    p = portal_factory("--cases", "30", "--seed", "17", "--page-only-api")
    login(p, tmp_path)
    _, first = sync(p, tmp_path)
    assert first["state"] == "ok" and first["transport"] == "page"
    assert_same(p.sim("truth"), export(tmp_path))
    refused = stats(p)["not_from_page"]
    assert refused == 1  # one direct call found out; every other call came from the page
    p.sim("mutate", {"new_replies": 2, "new_cases": 1})
    reset_stats(p)
    _, second = sync(p, tmp_path)
    assert second["transport"] == "page" and stats(p).get("not_from_page", 0) == 0  # remembered
    assert_same(p.sim("truth"), export(tmp_path))


def test_rendered_pages_of_layout_b_sync_to_the_truth(portal_factory, tmp_path):
    p = portal_factory("--cases", "24", "--seed", "53", "--locale", "de_DE",
                       "--timezone", "Europe/Berlin", "--layout", "b", "--v2-data")
    login(p, tmp_path)
    _, summary = sync(p, tmp_path, "--html")
    assert summary["state"] == "ok" and summary["failures"] == []
    assert_same(p.sim("truth"), export(tmp_path), sizes=False)


def test_an_outage_keeps_everything_and_exits_5(portal_factory, tmp_path):
    p = portal_factory("--cases", "20", "--seed", "59")
    login(p, tmp_path)
    sync(p, tmp_path)
    before = export(tmp_path)
    p.sim("faults", {"outage": True})
    r, summary = sync(p, tmp_path, expect=5)
    assert summary["state"] == "outage" and "Traceback" not in r.stderr
    assert "case log is unavailable right now" in r.stderr
    assert export(tmp_path) == before
    help_text = run_caselog("sync", "--help").stdout
    assert "5  Seller Central's case log is unavailable" in " ".join(help_text.split("\n"))
