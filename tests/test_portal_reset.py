"""The control API's reset, which lets a test suite keep one portal per configuration:
after it the portal answers as freshly started (world, faults, robot check, counters,
the SP-API's settings) while a session signed in before still works, unless the reset
was told to sign everyone out."""

from __future__ import annotations

from portal_http import Client

from fixtures.harness import PortalPool


def test_reset_is_a_restart_that_keeps_sessions(portal_factory):
    p = portal_factory("--cases", "8", "--seed", "5", "--rate-limit", "50")
    start = p.sim("truth")
    faults = p.sim("faults")
    spapi = p.sim("spapi/settings")
    c = Client(p.url)
    assert c.sign_in().status == 302
    assert c.search().status == 200
    p.sim("mutate", {"new_cases": 2, "new_replies": 3})
    p.sim("faults", {"outage": True, "rate_limit": 0, "error_rate": 0.5})
    p.sim("robot", {"on": True})
    p.sim("spapi/settings", {"rate": 1, "burst": 1})
    assert p.sim("truth") != start and p.sim("stats")["total"] > 0

    assert p.sim("reset", {}) == {"ok": True}
    assert p.sim("truth") == start
    assert p.sim("faults") == faults  # the start flags' faults, robot check off
    assert p.sim("spapi/settings") == spapi
    assert p.sim("stats")["total"] == 0
    assert c.search().status == 200  # the session signed in before the reset
    assert p.sim("stats")["total"] == 1

    p.sim("reset", {"sessions": False})
    assert c.search().status == 401


def test_a_pool_starts_a_configuration_once_and_hands_it_back_reset(tmp_path):
    pool = PortalPool()
    try:
        a = pool.get("--cases", "4", "--seed", "2")
        a.sim("mutate", {"new_cases": 1})
        again = pool.get("--cases", "4", "--seed", "2")
        other = pool.get("--cases", "4", "--seed", "3")
        assert again is a and other.url != a.url
        assert len(again.sim("truth")["cases"]) == 4
    finally:
        pool.close()
    assert a.proc.poll() is not None and other.proc.poll() is not None
