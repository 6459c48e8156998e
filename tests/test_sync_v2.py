"""Sync against portals of PORTAL.md version 2, through the real CLI and Chromium: a portal
that answers only its own pages' calls, more cases than one query lists, and (with the
v2 parsers) layout b, mixed id lengths, chats, phone calls and transfers."""

from __future__ import annotations

from sync_helpers import assert_same, export, login, reset_stats, stats, sync

from fixtures.harness import run_caselog


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


MFA = "JBSWY3DPEHPK3PXPKZXVG6ZQ"


def test_a_v2_portal_never_seen_syncs_whole_then_incrementally(portal_factory, tmp_path):
    """Other seed, de_DE, layout b, mixed id lengths, past the 1,000-result cap, calls
    only from its pages, MFA, throttling, transient errors, transfers and chats: the
    export equals the truth, channels included, and so after a day of changes."""
    p = portal_factory("--cases", "1100", "--seed", "47", "--locale", "de_DE",
                       "--timezone", "Europe/Berlin", "--layout", "b", "--v2-data",
                       "--mixed-id-lengths", "--page-only-api", "--mfa-secret", MFA,
                       "--rate-limit", "60", "--error-rate", "0.03")
    login(p, tmp_path)
    _, first = sync(p, tmp_path)
    truth = p.sim("truth")
    assert first["state"] == "ok" and first["listed"] == 1100
    assert_same(truth, export(tmp_path))
    lengths = {len(c["case_id"]) for c in truth["cases"]}
    assert min(lengths) <= 9 and max(lengths) >= 13
    channels = {m["channel"] for c in truth["cases"] for m in c["messages"]}
    assert channels == {"email", "chat", "phone"}
    assert "Transferred" in {c["status"] for c in truth["cases"]}
    changed = p.sim("mutate", {"new_cases": 3, "new_replies": 6, "status_changes": 4,
                               "transfers": 2})
    reset_stats(p)
    _, again = sync(p, tmp_path)
    assert_same(p.sim("truth"), export(tmp_path))
    moved = {*changed["new_cases"], *changed["new_replies"], *changed["status_changes"],
             *(t["case_id"] for t in changed["transfers"]),
             *(t["continued_in"] for t in changed["transfers"])}
    assert again["opened"] <= len(moved) + 2  # the changed cases, near the floor
    counted = stats(p)
    assert counted["SearchForCases"] <= -(-1103 // 50) + 4


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
