"""A portal with more cases than one SearchForCases query lists (PORTAL.md version 2's
1,000-result cap), synced whole and then incrementally through the real CLI and
Chromium, each page of the case list asked for once."""

from __future__ import annotations

import pytest
from sync_helpers import assert_same, export, login, reset_stats, stats, sync

pytestmark = pytest.mark.slow  # minutes: its file is scheduled first (tests/conftest.py)


def test_more_cases_than_one_query_lists_are_all_synced(portal_factory, tmp_path):
    p = portal_factory("--cases", "1200", "--seed", "19")
    login(p, tmp_path)
    reset_stats(p)
    _, first = sync(p, tmp_path)
    truth = p.sim("truth")
    assert first["listed"] == 1200 and first["state"] == "ok"
    assert_same(truth, export(tmp_path))
    floor = -(-1200 // 50)
    assert floor <= stats(p)["SearchForCases"] <= floor + 2  # narrowed, no page twice
    p.sim("mutate", {"new_cases": 3, "new_replies": 4})
    reset_stats(p)
    _, again = sync(p, tmp_path)
    assert again["listed"] == 1203 and again["left_lobby"] == []
    assert stats(p)["SearchForCases"] <= floor + 4  # planned windows, all at once
    assert_same(p.sim("truth"), export(tmp_path))
