"""Version 2 faults and mutations over plain HTTP: the case log's outage (and transient
errors that never look like one), the page-only API rule, hostile-shaped JSON, and the
``transfers`` mutation."""

from __future__ import annotations

import json
import re
import sys
import time

import pytest
from portal_http import API, Client, to_text

from fixtures.faults import DEFAULTS
from fixtures.harness import start_portal

UNAVAILABLE = "case log system is currently unavailable"
FROM_PAGE = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}


@pytest.fixture(scope="module")
def portal():
    p = start_portal("--cases", "30", "--seed", "3", "--v2-data")
    yield p
    p.stop()


@pytest.fixture(autouse=True)
def calm(request):
    """Every test that uses the shared portal starts and ends with all faults off."""
    if "portal" not in request.fixturenames:
        yield
        return
    p = request.getfixturevalue("portal")
    p.sim("faults", dict(DEFAULTS))
    yield
    p.sim("faults", dict(DEFAULTS))


@pytest.fixture
def client(portal):
    c = Client(portal.url)
    assert c.sign_in().status == 302
    return c


def loads(text: str):
    """json.loads for answers nested deeper than Python's default recursion limit."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 50_000))
    try:
        return json.loads(text)
    finally:
        sys.setrecursionlimit(limit)


# -- outage -----------------------------------------------------------------------------

def test_outage_pages_and_api_while_sign_in_works(portal, client):
    case_id = client.search().json()["caseSearchResultList"][0]["caseId"]
    before = portal.sim("stats").get("outage", 0)
    assert portal.sim("faults", {"outage": True})["outage"] is True
    for path in ("/cu/case-lobby?window=all", f"/cu/case-dashboard/view-case?caseID={case_id}",
                 "/cu/case-dashboard/attachment?caseID=1&attachmentId=2"):
        page = client.get(path)
        assert page.status == 200 and UNAVAILABLE in page.text, path
        assert "text/html" in page.headers["Content-Type"]
    for r in (client.search(), client.view_case(case_id), client.contact(case_id, "x")):
        assert r.status == 503 and r.json() == {"error": "unavailable"}
    # Sign-in is not the case log: a new person signs in, then sees the outage page.
    fresh = Client(portal.url)
    lobby = fresh.get("/cu/case-lobby")
    assert lobby.status == 302 and lobby.headers["Location"].startswith("/ap/signin?")
    assert 'id="ap_email"' in fresh.get("/ap/signin").text
    assert fresh.sign_in().status == 302
    assert UNAVAILABLE in fresh.get("/cu/case-lobby").text
    assert fresh.request("POST", API + "SearchForCases").status == 503
    assert Client(portal.url).search().status == 401  # no session: still a sign-in problem
    assert portal.sim("stats")["outage"] - before == 8
    portal.sim("faults", {"outage": False})
    assert client.search().status == 200 and UNAVAILABLE not in client.get(
        "/cu/case-lobby").text


def test_outage_flag_and_the_german_page(portal_factory):
    p = portal_factory("--cases", "3", "--outage", "--locale", "de_DE")
    assert p.sim("faults")["outage"] is True
    c = Client(p.url)
    c.sign_in()
    page = c.get("/cu/case-lobby")
    assert UNAVAILABLE in page.text and "nicht verfügbar" in page.text


def test_transient_errors_never_say_unavailable(portal, client):
    portal.sim("faults", {"error_rate": 1.0})
    answers = [client.search() for _ in range(30)]
    kinds = {(r.status, r.json()["error"]) for r in answers}
    assert kinds <= {(500, "internal_error"), (502, "bad_gateway"), (503, "service_error")}
    assert (503, "service_error") in kinds
    assert all(r.json() != {"error": "unavailable"} for r in answers)


def test_bad_v2_fault_values_are_400(portal):
    c = Client(portal.url)
    for body in (b'{"outage": "yes"}', b'{"page_only_api": 1}', b'{"hostile_json_cases": "x"}',
                 b'{"hostile_json_cases": true}'):
        r = c.request("POST", "/__sim/faults", body, {"Content-Type": "application/json"})
        assert r.status == 400, body
    r = c.request("POST", "/__sim/mutate", b'{"transfers": -2}',
                  {"Content-Type": "application/json"})
    assert r.status == 400


# -- the page-only API rule -------------------------------------------------------------

def test_page_only_api_refuses_calls_no_page_made(portal, client):
    case_id = client.search().json()["caseSearchResultList"][0]["caseId"]
    assert portal.sim("faults", {"page_only_api": True})["page_only_api"] is True
    for r in (client.search(), client.view_case(case_id), client.contact(case_id, "x")):
        assert r.status == 403 and r.json()["error"] == "forbidden"
        assert r.headers["Content-Type"].startswith("application/json")
    assert client.get(API + "ViewCase?caseId=" + case_id, headers={
        "Sec-Fetch-Site": "same-origin"}).status == 403  # a navigation is not a fetch
    assert client.get(API + "ViewCase?caseId=" + case_id, headers={
        "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}).status == 403
    ok = client.get(API + f"ViewCase?caseId={case_id}&pageSize=10", headers=FROM_PAGE)
    assert ok.status == 200 and ok.json()["viewCaseMetaData"]
    assert client.get("/cu/case-lobby").status == 200  # pages themselves are served
    assert Client(portal.url).search().status == 401  # no session: 401 first
    portal.sim("faults", {"page_only_api": False})
    assert client.search().status == 200


def test_page_only_api_flag(portal_factory):
    p = portal_factory("--cases", "3", "--page-only-api")
    assert p.sim("faults")["page_only_api"] is True
    c = Client(p.url)
    c.sign_in()
    assert c.search().status == 403


# -- hostile-shaped JSON ----------------------------------------------------------------

def _check_shape(i: int, body) -> None:
    """Shape i % 11 of the documented list (fixtures/hostile.py, docs/DESIGN.md)."""
    meta = body["viewCaseMetaData"] if isinstance(body, dict) else None
    first = body["contactList"][0] if isinstance(body.get("contactList"), list) else None
    checks = [
        lambda: all(isinstance(a, str) for a in first["attachments"]),
        lambda: isinstance(meta, list) and isinstance(meta[0], dict),
        lambda: meta["creationDate"] == 1e20,
        lambda: first["timestamp"] < 0,
        lambda: isinstance(first["timestamp"], str),
        lambda: _depth(meta["caseTags"]) == 10_000,
        lambda: isinstance(body["contactList"], dict) and "0" in body["contactList"],
        lambda: isinstance(body["totalNumberOfContacts"], int)
        and body["totalNumberOfContacts"] > 10 ** 300,
        lambda: meta is None,
        lambda: all(isinstance(c["contactId"], int) for c in body["contactList"]),
        lambda: isinstance(body["currentToken"], dict),
    ]
    assert checks[i % 11](), (i, json.dumps(body)[:300])


def _depth(value) -> int:
    depth = 0
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    return depth


def test_hostile_json_shapes_are_valid_json_and_deterministic(portal, client):
    newest = [r["caseId"] for r in client.search(searchPageSize=12).json()
              ["caseSearchResultList"]]
    ids = portal.sim("faults", {"hostile_json_cases": 11})["hostile_json_cases"]
    assert ids == newest[:11]
    for i, case_id in enumerate(ids):
        r = client.view_case(case_id, 10)
        assert r.status == 200 and r.headers["Content-Type"].startswith("application/json")
        _check_shape(i, loads(r.text))
        assert client.view_case(case_id, 10).body == r.body  # the same answer every time
    assert set(client.view_case(newest[11]).json()) == {  # others are untouched
        "viewCaseMetaData", "contactList", "totalNumberOfContacts", "currentToken"}
    portal.sim("faults", {"hostile_json_cases": []})
    contact = client.view_case(ids[0], 10).json()["contactList"][0]["contactId"]
    portal.sim("faults", {"hostile_json_cases": [ids[0]]})
    full = client.contact(ids[0], contact)
    assert full.status == 200
    body = loads(full.text)  # shape 0's counterpart: the message inside a list
    assert body["contactId"] == contact and isinstance(body["message"], list)
    assert to_text(body["message"][0])


def test_hostile_contact_messages_cycle_their_own_shapes(portal, client):
    ids = portal.sim("faults", {"hostile_json_cases": 11})["hostile_json_cases"]
    portal.sim("faults", {"hostile_json_cases": []})
    contacts = {cid: client.view_case(cid, 10).json()["contactList"][0]["contactId"]
                for cid in ids}
    portal.sim("faults", {"hostile_json_cases": ids})
    shapes = set()
    for case_id, contact in contacts.items():
        r = client.contact(case_id, contact)
        assert r.status == 200
        body = loads(r.text)
        expected_shape = isinstance(body, dict) and body.get("contactId") == contact \
            and isinstance(body.get("message"), str)
        assert not expected_shape, body
        shapes.add(type(body).__name__ + ":" + (type(body.get("message")).__name__
                                                if isinstance(body, dict) else ""))
    assert len(shapes) >= 5


def test_hostile_json_flag(portal_factory):
    p = portal_factory("--cases", "5", "--hostile-json-cases", "3")
    assert len(p.sim("faults")["hostile_json_cases"]) == 3


# -- the transfers mutation -------------------------------------------------------------

def test_transfers_mutation_creates_continuations_now(portal_factory):
    p = portal_factory("--cases", "20", "--seed", "9")
    twin = portal_factory("--cases", "20", "--seed", "9")
    c = Client(p.url)
    c.sign_in()
    started = time.time()
    out = p.sim("mutate", {"transfers": 2})
    assert out == twin.sim("mutate", {"transfers": 2})  # seeded, like every mutation
    assert set(out) == {"new_cases", "new_replies", "status_changes", "dropped",
                        "transfers"}
    assert len(out["transfers"]) == 2
    listed = {r["caseId"]: r for r in c.all_cases()}
    truth = {x["case_id"]: x for x in p.sim("truth")["cases"]}
    for move in out["transfers"]:
        old, new = move["case_id"], move["continued_in"]
        assert set(move) == {"case_id", "continued_in"}
        assert listed[old]["status"] == "Transferred"
        meta = c.view_case(old).json()["viewCaseMetaData"]
        assert (meta["canEditCase"], meta["canReopenCase"]) == (False, False)
        assert f"transferred to case {new}" in truth[old]["messages"][-1]["text"]
        assert listed[new]["creationDate"] >= int(started) - 1
        assert listed[new]["shortDescription"] == listed[old]["shortDescription"]
        assert re.search(f"continues case {old}", truth[new]["messages"][0]["text"])
        assert truth[new]["messages"][0]["sender"] == "amazon"
    # A transferred case takes no more replies or status changes.
    later = p.sim("mutate", {"new_replies": 40, "status_changes": 40})
    moved = {m["case_id"] for m in out["transfers"]}
    assert not moved & (set(later["new_replies"]) | set(later["status_changes"]))
