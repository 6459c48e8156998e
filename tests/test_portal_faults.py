"""Each fault switch of the simulated portal, the robot check, request counters and the
seeded mutations, over plain HTTP against a real portal subprocess."""

from __future__ import annotations

import html
import re
import time

import pytest
from portal_http import API, Client

from fixtures.faults import DEFAULTS
from fixtures.harness import start_portal


@pytest.fixture(scope="module")
def portal():
    p = start_portal("--cases", "40", "--seed", "3")
    yield p
    p.stop()


@pytest.fixture(autouse=True)
def calm(request):
    """Every test starts and ends with all faults off."""
    if "portal" not in request.fixturenames:
        yield
        return
    p = request.getfixturevalue("portal")
    p.sim("faults", dict(DEFAULTS))
    p.sim("captcha-clear", {})
    yield
    p.sim("faults", dict(DEFAULTS))
    p.sim("captcha-clear", {})


@pytest.fixture
def client(portal):
    c = Client(portal.url)
    assert c.sign_in().status == 302
    return c


def test_latency_and_jitter_delay_every_request(portal, client):
    portal.sim("faults", {"latency_ms": 900, "jitter_ms": 100})
    start = time.monotonic()
    assert client.search().status == 200
    assert time.monotonic() - start >= 0.9
    start = time.monotonic()
    assert portal.sim("health") == {"ok": True}  # the control API is never delayed
    assert time.monotonic() - start < 0.8  # generous: the machine may be busy


@pytest.mark.parametrize("retry_after,header", [(2, "2"), (None, None)])
def test_rate_limit_429_with_and_without_retry_after(portal, client, retry_after, header):
    before = portal.sim("stats")["429"]
    portal.sim("faults", {"rate_limit": 1, "retry_after": retry_after})
    answers = [client.search() for _ in range(12)]
    limited = [r for r in answers if r.status == 429]
    assert limited and any(r.status == 200 for r in answers)
    assert all(r.headers.get("Retry-After") == header for r in limited)
    assert portal.sim("stats")["429"] - before == len(limited)


def test_rate_limit_also_throttles_pages(portal, client):
    portal.sim("faults", {"rate_limit": 1, "retry_after": 3})
    pages = [client.get("/cu/case-lobby") for _ in range(6)]
    limited = [r for r in pages if r.status == 429]
    assert limited and pages[0].status == 200
    assert all(r.headers.get("Retry-After") == "3" for r in limited)


def test_error_rate_gives_transient_5xx_never_captcha(portal, client):
    before = portal.sim("stats")["5xx"]
    portal.sim("faults", {"error_rate": 1.0})
    answers = [client.search() for _ in range(20)] + [client.get("/cu/case-lobby")]
    assert all(r.status in (500, 502, 503) for r in answers)
    assert all(r.text.find("captcha") < 0 for r in answers)
    assert portal.sim("stats")["5xx"] - before == 21
    portal.sim("faults", {"error_rate": 0.5})
    mixed = {client.search().status for _ in range(40)}
    assert 200 in mixed and mixed & {500, 502, 503}


def test_session_expires_after_n_requests(portal, client):
    portal.sim("faults", {"session_expiry_after": 3})
    assert [client.search().status for _ in range(3)] == [200, 200, 200]
    assert client.search().status == 401
    r = client.get("/cu/case-lobby")
    assert r.status == 302 and r.headers["Location"].startswith("/ap/signin?openid.return_to=")
    assert client.sign_in().status == 302  # a new session gets N requests again
    assert client.search().status == 200


def test_expire_sessions_now(portal, client):
    assert client.search().status == 200
    portal.sim("expire-sessions", {})
    assert client.search().status == 401


def test_robot_check_after_n_requests_until_a_person_passes(portal, client):
    portal.sim("faults", {"robot_after": 2})
    assert [client.search().status for _ in range(2)] == [200, 200]
    api = client.search()
    assert api.status == 503 and api.json() == {"error": "captcha"}
    page = client.get("/cu/case-lobby?window=all")
    assert page.status == 200 and "<title>Robot Check</title>" in page.text
    assert "Enter the characters you see below" in page.text
    assert 'action="/errors/validateCaptcha"' in page.text
    assert portal.sim("faults")["robot_active"] is True
    fields = dict(re.findall(r'name="(amzn(?:-r)?)" value="([^"]*)"', page.text))
    wrong = client.post_form("/errors/validateCaptcha", {**fields, "field-keywords": "zzzzzz"})
    assert "<title>Robot Check</title>" in wrong.text
    page = client.get("/cu/case-lobby?window=all")
    fields = dict(re.findall(r'name="(amzn(?:-r)?)" value="([^"]*)"', page.text))
    chars = re.search(r'class="chars"[^>]*>([A-Z]+)<', page.text).group(1)
    passed = client.post_form("/errors/validateCaptcha",
                              {**fields, "amzn-r": html.unescape(fields["amzn-r"]),
                               "field-keywords": chars.lower()})
    assert passed.status == 302 and passed.headers["Location"] == "/cu/case-lobby?window=all"
    assert client.search().status == 200  # the count starts again from zero


def test_robot_switch_and_clear(portal, client):
    portal.sim("robot", {"on": True})
    assert client.search().json() == {"error": "captcha"}
    assert "Robot Check" in client.get("/ap/signin").text
    portal.sim("captcha-clear", {})
    assert client.search().status == 200


def test_failing_cases_answer_500_or_404_every_time(portal, client):
    faults = portal.sim("faults", {"failing_cases": 2})
    first, second = faults["failing_cases"]
    newest = [c["caseId"] for c in client.search(searchPageSize=2).json()
              ["caseSearchResultList"]]
    assert [first, second] == newest  # still listed in the lobby
    for _ in range(2):
        assert client.get(f"/cu/case-dashboard/view-case?caseID={first}").status == 500
        r = client.get(f"/cu/case-dashboard/view-case?caseID={second}")
        assert r.status == 404 and "We couldn't find that case" in html.unescape(r.text)
        assert client.view_case(first).status == 500
        assert client.view_case(second).status == 404
    other = client.search(page=1, searchPageSize=2).json()["caseSearchResultList"][0]
    assert client.view_case(other["caseId"]).status == 200
    assert portal.sim("faults", {"failing_cases": [other["caseId"]]})["failing_cases"] == [
        other["caseId"]]
    assert client.view_case(other["caseId"]).status == 500
    assert client.view_case(first).status == 200


def test_forbidden_cases_answer_403(portal, client):
    oldest = client.search(sortByOrder="ASC", searchPageSize=1).json()["caseSearchResultList"]
    faults = portal.sim("faults", {"forbidden_cases": 1})
    assert faults["forbidden_cases"] == [oldest[0]["caseId"]]
    r = client.view_case(oldest[0]["caseId"])
    assert r.status == 403 and r.json()["error"] == "forbidden"
    assert client.get(f"/cu/case-dashboard/view-case?caseID={oldest[0]['caseId']}"
                      ).status == 403
    assert client.contact(oldest[0]["caseId"], "x").status == 403


def test_bad_fault_and_mutation_bodies_are_400(portal):
    c = Client(portal.url)
    for path, body in [("faults", b'{"latency": 5}'), ("faults", b'{"error_rate": 2}'),
                       ("faults", b'{"failing_cases": "x"}'), ("mutate", b'{"new_cases": -1}'),
                       ("mutate", b'{"explode": 1}'), ("mutate", b"[1]")]:
        r = c.request("POST", "/__sim/" + path, body, {"Content-Type": "application/json"})
        assert r.status == 400, (path, body)


def test_stats_count_each_kind_and_reset(portal, client):
    portal.sim("stats/reset", {})
    case_id = client.search().json()["caseSearchResultList"][0]["caseId"]
    client.get("/cu/case-lobby")
    client.get(f"/cu/case-dashboard/view-case?caseID={case_id}")
    contacts = client.view_case(case_id).json()["contactList"]
    client.contact(case_id, contacts[0]["contactId"])
    client.get(f"/cu/case-dashboard/attachment?caseID={case_id}&attachmentId=none")
    Client(portal.url).sign_in()
    stats = portal.sim("stats")
    for key in ("SearchForCases", "lobby", "case_page", "ViewCase", "GetContactMessage",
                "attachment"):
        assert stats[key] == 1, key
    assert stats["signin"] == 1 and stats["total"] >= 8
    assert portal.sim("stats/reset", {})["total"] == 0


def test_cli_fault_flags_reach_the_portal(portal_factory):
    p = portal_factory("--cases", "8", "--latency-ms", "5", "--jitter-ms", "3",
                       "--rate-limit", "50", "--no-retry-after", "--error-rate", "0.01",
                       "--session-expiry-after", "500", "--robot-after", "900",
                       "--failing-cases", "2", "--forbidden-cases", "1")
    faults = p.sim("faults")
    assert {k: faults[k] for k in DEFAULTS if not k.endswith("_cases")} == {
        "latency_ms": 5, "jitter_ms": 3, "rate_limit": 50.0, "retry_after": None,
        "error_rate": 0.01, "session_expiry_after": 500, "robot_after": 900,
        "outage": False, "page_only_api": False}
    assert len(faults["failing_cases"]) == 2 and len(faults["forbidden_cases"]) == 1
    assert p.sim("config")["cases"] == 8


def _mutate_all(p):
    return p.sim("mutate", {"new_cases": 2, "new_replies": 3, "status_changes": 2,
                            "drop_from_lobby": 1})


def test_mutations_change_lobby_threads_and_truth(portal_factory):
    p = portal_factory("--cases", "30", "--seed", "5")
    c = Client(p.url)
    c.sign_in()
    before = {x["caseId"]: x for x in c.all_cases()}
    started = time.time()
    out = _mutate_all(p)
    assert [len(out[k]) for k in ("new_cases", "new_replies", "status_changes", "dropped")] \
        == [2, 3, 2, 1]
    after = {x["caseId"]: x for x in c.all_cases()}
    truth = {x["case_id"]: x for x in p.sim("truth")["cases"]}
    newest = list(after)[:2]
    assert set(newest) == set(out["new_cases"]) and not set(newest) & set(before)
    # Both new cases were made in the same second: ties are ordered by case id, descending.
    assert after[newest[0]]["creationDate"] == after[newest[1]]["creationDate"]
    assert newest == sorted(newest, reverse=True)
    oldest_first = c.search(sortByOrder="ASC", page=0, searchPageSize=50).json()
    assert [x["caseId"] for x in oldest_first["caseSearchResultList"]][-2:] == newest[::-1]
    for cid in out["new_cases"]:
        assert after[cid]["creationDate"] >= int(started) - 1
        assert after[cid]["lastAmazonReplyDate"] is None
        assert after[cid]["status"] == "PendingAmazonAction"
    for cid in out["new_replies"]:
        if cid in out["dropped"]:
            continue
        reply = after[cid]["lastAmazonReplyDate"]
        assert reply >= int(started) - 1 and reply != before[cid]["lastAmazonReplyDate"]
        _, contacts = c.thread(cid)
        assert contacts[0]["outbound"] and contacts[0]["timestamp"] == reply
        assert truth[cid]["messages"][-1]["sender"] == "amazon"
    for cid in out["status_changes"]:
        if cid in out["dropped"]:
            continue
        assert after[cid]["status"] == truth[cid]["status"]
        assert c.view_case(cid).json()["viewCaseMetaData"]["caseStatus"] == truth[cid]["status"]
    gone = out["dropped"][0]
    assert gone in before and gone not in after and gone in truth
    assert c.view_case(gone).status == 404
    assert c.get(f"/cu/case-dashboard/view-case?caseID={gone}").status == 404
    assert len(after) == len(before) + 2 - 1


def test_mutations_are_deterministic(portal_factory):
    a = portal_factory("--cases", "20", "--seed", "9")
    b = portal_factory("--cases", "20", "--seed", "9")
    assert [_mutate_all(a), _mutate_all(a)] == [_mutate_all(b), _mutate_all(b)]
    status = [{x["case_id"]: x["status"] for x in p.sim("truth")["cases"]} for p in (a, b)]
    assert status[0] == status[1]


def test_api_check_order_faults_before_session(portal):
    """A client without a session still sees throttling and the robot check first."""
    portal.sim("robot", {"on": True})
    anon = Client(portal.url)
    assert anon.request("POST", API + "SearchForCases", b"{}").json() == {"error": "captcha"}


def test_threaded_server_answers_slow_requests_in_parallel(portal, client):
    from concurrent.futures import ThreadPoolExecutor

    portal.sim("faults", {"latency_ms": 1000})
    clients = [client] * 4
    start = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda c: c.search().status, clients))
    assert statuses == [200] * 4
    assert time.monotonic() - start < 3.0  # four 1 s requests, not one after another (4 s)
