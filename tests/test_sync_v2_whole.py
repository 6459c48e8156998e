"""A v2 portal never seen before, with everything at once (another seed, de_DE, layout b,
mixed id lengths, past the 1,000-result cap, page-only calls, MFA, throttling, transient
errors, transfers and chats), synced whole and then incrementally through the real CLI
and Chromium."""

from __future__ import annotations

import pytest
from sync_helpers import assert_same, export, login, reset_stats, stats, sync

pytestmark = pytest.mark.slow  # minutes: its file is scheduled first (tests/conftest.py)


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
