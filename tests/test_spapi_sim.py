"""The simulated Selling Partner API for Support over real HTTP: the three operations'
fields and paging (empty pages included), every ErrorList it serves, the portal faults it
shares and those it does not, and that ``/__sim/spapi/truth`` is what the API serves and
agrees with the portal's truth. Read-only tests share one fast-plan portal."""

from __future__ import annotations

import html
import re
import time

import pytest
from portal_http import Client
from spapi_http import BASE, STATUS, SpapiClient

ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def to_text(markup: str) -> str:
    """The export text rule again, with regexes (independent of fixtures/truth.py)."""
    s = re.sub(r"<br\s*/?>", "\n", markup, flags=re.I)
    s = re.sub(r"</(p|div|li|ul|ol|tr|table|h[1-6])\s*>", "\n", s, flags=re.I)
    return html.unescape(re.sub(r"<[^>]+>", "", s)).strip()


@pytest.fixture(scope="module")
def portal():
    from fixtures.harness import start_portal
    p = start_portal("--cases", "40", "--seed", "7", "--spapi-rate", "1000",
                     "--spapi-burst", "1000")
    yield p
    p.stop()


@pytest.fixture(scope="module")
def api(portal):
    return SpapiClient(portal).sign_in()


@pytest.fixture(scope="module")
def walked(api):
    """Every case and every thread, walked the way a client syncs."""
    cases, sizes = api.all_cases(maxResults=3)
    threads = {c["caseId"]: api.all_contacts(c["caseId"], maxResults=2)[0] for c in cases}
    return cases, sizes, threads


# -- records and paging ---------------------------------------------------------------

def test_list_cases_walk_has_every_case_newest_first_through_empty_pages(portal, walked):
    cases, sizes, _ = walked
    truth = portal.sim("truth")["cases"]
    assert [c["caseId"] for c in cases] == [c["case_id"] for c in truth]
    assert 0 in sizes[:-1], "a page inside the walk is empty while nextToken is given"
    assert sizes[0] == 3 and max(sizes) == 3


def test_case_fields_follow_the_model(walked, portal):
    cases, _, threads = walked
    truth = {c["case_id"]: c for c in portal.sim("truth")["cases"]}
    for case in cases:
        want = truth[case["caseId"]]
        assert {"caseId", "status", "subject", "primaryEmail", "ccEmails", "createdDate",
                "lastUpdatedDate"} <= set(case)
        assert case["status"] == STATUS[want["status"]]
        assert case["subject"] == want["subject"]
        assert case["createdDate"] == want["created_at"][:19] + ".000Z"
        assert case["primaryEmail"] == "seller@example.com"
        assert all(ISO_MS.fullmatch(case[k]) for k in ("createdDate", "lastUpdatedDate"))
        newest = max(c["createdDate"] for c in threads[case["caseId"]])
        assert case["lastUpdatedDate"] == newest
        assert ("resolvedDate" in case) == (case["status"] == "RESOLVED")


def test_appointments_are_seeded_on_some_cases_with_the_model_shape(walked, api):
    cases, _, _ = walked
    with_appointments = [c for c in cases if c.get("appointments")]
    assert with_appointments, "some cases have scheduled call-backs"
    for case in with_appointments:
        for a in case["appointments"]:
            assert a["status"] in ("SCHEDULED", "CANCELLED", "MISSED", "COMPLETED")
            timing = a["callbackTiming"]
            assert ISO_MS.fullmatch(timing["earliestCallbackTime"])
            assert timing["earliestCallbackTime"] < timing["latestCallbackTime"]
            assert a["phoneNumber"]["countryCode"] == "US" and a["appointmentId"]
        assert api.get_case(case["caseId"]).json() == case  # deterministic, same as listed


def test_ascending_order_and_default_page_size(api, walked):
    cases, _, _ = walked
    first = api.list_cases().json()
    assert [c["caseId"] for c in first["cases"]] == [c["caseId"] for c in cases[:10]]
    ascending, _ = api.all_cases(sortOrder="ASC", maxResults=50)
    assert [c["caseId"] for c in ascending] == [c["caseId"] for c in reversed(cases)]


def test_get_case_is_the_listed_record(api, walked):
    cases, _, _ = walked
    for case in cases[:5]:
        resp = api.get_case(case["caseId"])
        assert resp.status == 200 and resp.json() == case
        assert resp.headers["x-amzn-RateLimit-Limit"] == "1000.0"
        assert resp.headers["x-amzn-RequestId"]


def test_contacts_newest_first_first_page_never_empty(api, walked):
    _, _, threads = walked
    for case_id, contacts in threads.items():
        stamps = [c["createdDate"] for c in contacts]
        assert stamps == sorted(stamps, reverse=True)
        first = api.list_contacts(case_id, maxResults=1).json()
        assert len(first["contacts"]) == 1
    long_id = max(threads, key=lambda cid: len(threads[cid]))
    contacts, sizes = api.all_contacts(long_id, maxResults=1)
    assert len(contacts) >= 4 and 0 in sizes, sizes
    oldest_first, _ = api.all_contacts(long_id, sortOrder="ASC", maxResults=50)
    assert [c["contactId"] for c in oldest_first] == [c["contactId"]
                                                      for c in reversed(contacts)]


def test_email_contacts_carry_the_mons_api_html_ids_and_no_size(portal, api, walked):
    _, _, threads = walked
    mons = Client(portal.url)
    assert mons.sign_in().status == 302
    for case_id in list(threads)[:12]:
        _, listed = mons.thread(case_id)
        assert [c["contactId"] for c in threads[case_id]] == [c["contactId"] for c in listed]
        for ours, theirs in zip(threads[case_id], listed, strict=True):
            assert ours["channel"] == theirs["channelType"]
            if ours["channel"] != "EMAIL":
                continue
            full = (mons.contact(case_id, theirs["contactId"]).json()["message"]
                    if theirs["messageTruncated"] else theirs["message"])
            email = ours["emailContent"]
            assert ours["channel"] == "EMAIL" and email["message"] == full
            assert email["sender"]["role"] == ("AMAZON" if theirs["outbound"]
                                               else "SELLING_PARTNER")
            names = [a["fileName"] for a in theirs["attachments"] or ()]
            assert [a["name"] for a in email.get("attachments", [])] == names
    assert not [k for k in keys_of(threads) if "size" in k.lower()]


def keys_of(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


# -- truth ------------------------------------------------------------------------------

def exported_message(c: dict) -> dict:
    """One contact as a client that syncs from the SP-API alone would export it."""
    if c["channel"] == "CHAT":
        chat = c["chatContent"]
        sender, text = "seller", chat["transcript"].strip()
        files = [a for e in chat["events"] if e["type"] == "ATTACHMENT"
                 for a in e["attachments"]]
    elif c["channel"] == "PHONE":
        sender, text, files = "amazon", c["phoneContent"]["callNotes"].strip(), []
    else:
        email = c["emailContent"]
        sender = "amazon" if email["sender"]["role"] == "AMAZON" else "seller"
        text, files = to_text(email["message"]), email.get("attachments", [])
    return {"sender": sender, "channel": c["channel"].lower(),
            "sent_at": c["createdDate"][:19] + "Z", "text": text,
            "attachments": [{"name": a["name"], "size": None} for a in files]}


def exported(cases: list[dict], threads: dict) -> dict:
    out = []
    for case in cases:
        messages = [exported_message(c) for c in reversed(threads[case["caseId"]])]
        out.append({"case_id": case["caseId"], "status": case["status"],
                    "subject": case["subject"], "category": None,
                    "created_at": case["createdDate"][:19] + "Z", "messages": messages})
    return {"cases": out}


def test_spapi_truth_is_what_the_api_serves(portal, walked):
    cases, _, threads = walked
    assert portal.sim("spapi/truth") == exported(cases, threads)


def test_spapi_truth_agrees_with_the_portal_truth_modulo_documented_gaps(portal):
    ours, theirs = portal.sim("spapi/truth")["cases"], portal.sim("truth")["cases"]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert (a["case_id"], a["subject"], a["created_at"]) == \
            (b["case_id"], b["subject"], b["created_at"])
        assert a["status"] == STATUS[b["status"]] and a["category"] is None
        assert len(a["messages"]) == len(b["messages"])
        for m, n in zip(a["messages"], b["messages"], strict=True):
            assert (m["sender"], m["sent_at"], m["channel"]) == \
                (n["sender"], n["sent_at"], n["channel"])
            if m["channel"] != "email":
                continue  # a chat's transcript and a call's notes: SPAPI.md's own forms
            assert [x["size"] for x in m["attachments"]] == [None] * len(n["attachments"])
            assert {**m, "attachments": [x["name"] for x in m["attachments"]]} == \
                {**n, "attachments": [x["name"] for x in n["attachments"]]}


# -- errors -----------------------------------------------------------------------------

def errors_of(resp) -> list[dict]:
    body = resp.json()
    assert set(body) == {"errors"} and resp.headers["x-amzn-RequestId"]
    for e in body["errors"]:
        assert {"code", "message", "details"} == set(e)
    return body["errors"]


@pytest.mark.parametrize("body,name", [
    ({"maxResults": 0}, "maxResults"), ({"maxResults": 51}, "maxResults"),
    ({"maxResults": "5"}, "maxResults"), ({"maxResults": True}, "maxResults"),
    ({"sortOrder": "NEWEST"}, "sortOrder"), ({"nextToken": "SampleToken"}, "nextToken"),
    ({"caseFilters": {"caseStatuses": ["RESOLVED"]}}, "caseFilters"),
    ({"sortField": "CASE_ID"}, "sortField")])
def test_list_cases_invalid_input(api, body, name):
    resp = api.list_cases(**body)
    assert resp.status == 400
    [err] = errors_of(resp)
    assert err["code"] == "InvalidInput" and f"'{name}'" in err["message"]
    assert resp.headers["x-amzn-RateLimit-Limit"] == "1000.0"


def test_next_token_must_come_back_unchanged_with_the_same_arguments(api):
    token = api.list_cases(maxResults=2).json()["nextToken"]
    assert api.list_cases(maxResults=2, nextToken=token).status == 200
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    for body in ({"nextToken": tampered}, {"nextToken": token, "sortOrder": "ASC"}):
        assert errors_of(api.list_cases(**body))[0]["code"] == "InvalidInput"
    case_id = api.list_cases(maxResults=1).json()["cases"][0]["caseId"]
    resp = api.list_contacts(case_id, nextToken=token)
    assert resp.status == 400 and "nextToken" in errors_of(resp)[0]["message"]


def test_list_cases_body_must_be_a_json_object(api):
    for raw in (b"[1, 2]", b"{not json"):
        resp = api.call("POST", "/cases", raw=raw, headers={"Content-Type": "application/json"})
        assert resp.status == 400 and errors_of(resp)[0]["code"] == "InvalidInput"


@pytest.mark.parametrize("query", [{"maxResults": "abc"}, {"maxResults": "0"},
                                   {"sortOrder": "down"}, {"nextToken": "x"}])
def test_list_contacts_invalid_input(api, walked, query):
    resp = api.list_contacts(walked[0][0]["caseId"], **query)
    assert resp.status == 400 and errors_of(resp)[0]["code"] == "InvalidInput"


def test_unknown_and_malformed_case_ids(api):
    for resp in (api.get_case("99999999999"), api.list_contacts("99999999999")):
        assert resp.status == 404 and errors_of(resp)[0]["code"] == "NotFound"
        assert resp.headers["x-amzn-RateLimit-Limit"]
    resp = api.get_case("no such case!")
    assert resp.status == 400
    assert errors_of(resp)[0]["message"] == "Invalid 'caseId' when calling getCase."
    assert errors_of(api.call("GET", "/nowhere"))[0]["code"] == "NotFound"
    resp = api.call("DELETE", "/cases")
    assert resp.status == 405 and errors_of(resp)[0]["code"] == "MethodNotAllowed"


def test_413_and_415(api):
    resp = api.call("POST", "/cases", raw=b'{"maxResults": 5, "pad": "' + b"x" * 20_000 + b'"}',
                    headers={"Content-Type": "application/json"})
    assert resp.status == 413 and errors_of(resp)[0]["code"] == "RequestEntityTooLarge"
    resp = api.call("POST", "/cases", raw=b"maxResults=5",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 415 and errors_of(resp)[0]["code"] == "UnsupportedMediaType"
    assert "x-amzn-RateLimit-Limit" not in resp.headers


def test_access_token_missing_or_unknown_is_403(api):
    for token, details in ((None, "missing"), ("Atza|forged", "revoked, malformed")):
        for resp in (api.list_cases(token=token), api.get_case("1", token=token),
                     api.list_contacts("1", token=token)):
            assert resp.status == 403
            [err] = errors_of(resp)
            assert err["code"] == "Unauthorized" and details in err["details"]


def test_transient_errors_and_latency_of_the_portal_apply(portal, api):
    try:
        portal.sim("faults", {"error_rate": 1.0})
        seen = set()
        for _ in range(12):
            for resp in (api.list_cases(), api.grant()):
                assert resp.status in (500, 503), resp
                seen.add(resp.status)
            err = errors_of(api.get_case("1"))[0]
            assert err["code"] in ("InternalFailure", "ServiceUnavailable")
        assert api.grant().json()["error"] in ("server_error", "temporarily_unavailable")
        assert seen == {500, 503}
        portal.sim("faults", {"error_rate": 0.0, "latency_ms": 300})
        started = time.monotonic()
        assert api.list_cases(maxResults=1).status == 200
        assert time.monotonic() - started >= 0.3
    finally:
        portal.sim("faults", {"error_rate": 0.0, "latency_ms": 0})
    assert portal.sim("stats")["spapi.5xx"] >= 36


def test_no_session_no_robot_check_no_portal_throttle_no_failing_cases(portal, api):
    listed = api.list_cases(maxResults=50).json()["cases"]
    try:
        portal.sim("faults", {"failing_cases": 2, "forbidden_cases": 2, "rate_limit": 1})
        portal.sim("robot", {"on": True})
        assert "Robot Check" in Client(portal.url).get("/ap/signin").text
        for _ in range(5):
            assert api.list_cases(maxResults=1).status == 200
        for case in (listed[0], listed[1], listed[-1]):
            assert api.get_case(case["caseId"]).status == 200
            assert api.list_contacts(case["caseId"]).status == 200
    finally:
        portal.sim("captcha-clear", {})
        portal.sim("faults", {"failing_cases": [], "forbidden_cases": [], "rate_limit": 0})


def test_stats_count_by_operation_and_reset(portal, api):
    portal.sim("stats/reset", {})
    api.list_cases(maxResults=1)
    api.get_case("99999999999")
    api.list_contacts("99999999999")
    api.list_cases(token=None)
    api.grant()
    stats = portal.sim("stats")
    assert (stats["spapi.listCases"], stats["spapi.getCase"], stats["spapi.listContacts"],
            stats["spapi.token"], stats["spapi.403"], stats["spapi.429"]) == (1, 1, 1, 1, 1, 0)
    assert stats["SearchForCases"] == 0 and stats["total"] == 5
    assert portal.sim("stats/reset", {})["spapi.listCases"] == 0


def test_config_names_the_credentials_and_the_base(portal):
    cfg = portal.sim("config")
    assert cfg["spapi_base"] == portal.url + BASE
    assert cfg["lwa_token_url"] == portal.url + "/auth/o2/token"
    assert cfg["spapi_endpoint"] == portal.url
    assert cfg["lwa_client_id"].startswith("amzn1.application-oa2-client.")
    assert cfg["lwa_refresh_token"].startswith("Atzr|")
    assert (cfg["spapi_rate"], cfg["spapi_burst"], cfg["download_ttl"]) == (1000.0, 1000, 900)
