"""Sync against portals of PORTAL.md version 2, through the real CLI and Chromium: a portal
that answers only its own pages' calls, more cases than one query lists, and (with the
v2 parsers) layout b, mixed id lengths, chats, phone calls and transfers."""

from __future__ import annotations

from sync_helpers import assert_same, export, login, reset_stats, stats, sync


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
