"""The simulated SP-API as the account changes and as the portal's data grows: mutations
show up (new cases, new contacts moving lastUpdatedDate, status changes, dropped cases
still listed), ``--spapi-own-ids`` gives other contact ids for the same content, and a
hand-built world with CHAT and PHONE contacts (today's seeded data has only e-mail) is
served as chatContent and phoneContent. Unit tests cover the token bucket."""

from __future__ import annotations

import time

import pytest
from portal_http import Client
from spapi_http import STATUS, SpapiClient

from fixtures.buckets import TokenBucket
from fixtures.server import Settings, create_app
from fixtures.spapi_records import has_events
from fixtures.spapi_settings import SpapiSettings

FAST = ("--spapi-rate", "1000", "--spapi-burst", "1000")


def iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


def test_mutations_show_up_in_the_spapi(portal_factory):
    p = portal_factory("--cases", "15", "--seed", "3", *FAST)
    api = SpapiClient(p).sign_in()
    before = {c["caseId"]: c for c in api.all_cases(maxResults=50)[0]}
    started = iso_now()
    out = p.sim("mutate", {"new_cases": 1, "new_replies": 2, "status_changes": 3,
                           "drop_from_lobby": 1})
    after, _ = api.all_cases(maxResults=50)
    truth = {c["case_id"]: c for c in p.sim("truth")["cases"]}
    [new] = out["new_cases"]
    assert after[0]["caseId"] == new and after[0]["status"] == "PENDING_AMAZON_ACTION"
    assert len(api.list_contacts(new).json()["contacts"]) == 1
    by_id = {c["caseId"]: c for c in after}
    assert set(by_id) == set(before) | {new}        # dropped cases stay listed here
    for cid in out["new_replies"]:
        case = by_id[cid]
        newest = api.list_contacts(cid, maxResults=1).json()["contacts"][0]
        assert newest["emailContent"]["sender"]["role"] == "AMAZON"
        assert case["lastUpdatedDate"] == newest["createdDate"] > before[cid]["lastUpdatedDate"]
    for cid in out["status_changes"] + out["new_replies"]:
        case = by_id[cid]
        assert case["status"] == STATUS[truth[cid]["status"]]
        assert case["lastUpdatedDate"] >= started > before[cid]["lastUpdatedDate"]
        if case["status"] == "RESOLVED":
            assert case["resolvedDate"] >= started
    [dropped] = out["dropped"]
    mons = Client(p.url)
    mons.sign_in()
    assert dropped not in {c["caseId"] for c in mons.all_cases()}
    assert api.get_case(dropped).status == 200
    unchanged = set(before) - set(out["status_changes"]) - set(out["new_replies"])
    assert all(by_id[c] == before[c] for c in unchanged)
    spapi_truth = p.sim("spapi/truth")["cases"]
    assert [c["case_id"] for c in spapi_truth] == [c["caseId"] for c in after]
    assert [len(c["messages"]) for c in spapi_truth] == \
        [len(truth[c["case_id"]]["messages"]) for c in spapi_truth]


def test_own_ids_differ_from_the_mons_api_ones_deterministically(portal_factory):
    args = ("--cases", "8", "--seed", "4", *FAST)
    plain, own, again = (portal_factory(*args), portal_factory(*args, "--spapi-own-ids"),
                         portal_factory(*args, "--spapi-own-ids"))
    threads = {}
    for name, p in (("plain", plain), ("own", own), ("again", again)):
        api = SpapiClient(p).sign_in()
        threads[name] = [[_no_urls(x) for x in api.all_contacts(c["caseId"], maxResults=50)[0]]
                         for c in api.all_cases(maxResults=50)[0]]
    assert own.sim("config")["spapi_own_ids"] is True
    assert threads["own"] == threads["again"]  # links differ: each start signs its own
    pairs = [(a, b) for ta, tb in zip(threads["plain"], threads["own"], strict=True)
             for a, b in zip(ta, tb, strict=True)]
    assert pairs and all(a["contactId"] != b["contactId"] for a, b in pairs)
    assert all({**a, "contactId": None} == {**b, "contactId": None} for a, b in pairs)
    assert plain.sim("spapi/truth") == own.sim("spapi/truth")


def _no_urls(contact: dict) -> dict:
    email = contact.get("emailContent")
    if not email or "attachments" not in email:
        return contact
    files = [{"name": a["name"]} for a in email["attachments"]]
    return {**contact, "emailContent": {**email, "attachments": files}}


# -- a world with chats and calls -------------------------------------------------------

def _chat_id(with_events: bool) -> str:
    return next(f"chat-{i}" for i in range(100)
                if has_events({"contactId": f"chat-{i}"}) == with_events)


@pytest.fixture
def rich():
    """An in-process portal whose newest case holds an e-mail in today's format, a chat
    with events, a chat without, and a call."""
    app = create_app(Settings(cases=3, spapi=SpapiSettings(rate=0)))
    world = app.extensions["portal"].world
    case = world.cases[world.order[0]]
    t0 = case.created
    turns = [{"timestamp": t0 + 100, "name": "Nordwind", "role": "seller", "text": "Hi, my "
              "listing is gone."},
             {"timestamp": t0 + 160, "name": "Amazon Associate Kim", "role": "amazon",
              "text": "Let me check that."}]
    pdf = {"attachmentId": "att-chat", "fileName": "screenshot.png", "fileSize": 900,
           "contentType": "image/png"}
    world._threads[case.case_id] = [
        {"contactId": "mail-1", "outbound": False, "sender": world.email, "timestamp": t0,
         "html": "Listing <b>gone</b>", "attachments": None},
        {"contactId": _chat_id(True), "outbound": False, "sender": world.email,
         "timestamp": t0 + 100, "html": "(chat)", "attachments": [pdf], "channel": "CHAT",
         "turns": turns},
        {"contactId": _chat_id(False), "outbound": False, "sender": world.email,
         "timestamp": t0 + 300, "html": "", "attachments": None, "channel": "CHAT",
         "turns": turns[:1]},
        {"contactId": "call-1", "outbound": True, "sender": "Amazon", "timestamp": t0 + 600,
         "html": "", "attachments": None, "channel": "PHONE",
         "notes": "  Called the seller; listing restored.\n"}]
    client = app.test_client()
    form = {"grant_type": "refresh_token", "refresh_token": SpapiSettings.refresh_token,
            "client_id": SpapiSettings.client_id, "client_secret": SpapiSettings.client_secret}
    token = client.post("/auth/o2/token", data=form).json["access_token"]
    return client, {"x-amz-access-token": token}, case


def test_chat_and_phone_contacts_are_served_in_the_model_shape(rich):
    client, headers, case = rich
    resp = client.get(f"/support/2025-02-01/cases/{case.case_id}/contacts?sortOrder=ASC",
                      headers=headers)
    mail, chat, bare, call = resp.json["contacts"]
    assert mail["channel"] == "EMAIL" and mail["emailContent"]["message"] == "Listing <b>gone</b>"
    assert chat["channel"] == "CHAT" and "emailContent" not in chat
    events = chat["chatContent"]["events"]
    assert [e["type"] for e in events] == ["PARTICIPANT_JOINED", "MESSAGE",
                                           "PARTICIPANT_JOINED", "MESSAGE", "ATTACHMENT",
                                           "CHAT_ENDED"]
    assert events[1]["participant"] == {"displayName": "Nordwind", "role": "SELLING_PARTNER"}
    assert events[3]["message"] == "Let me check that."
    assert events[3]["participant"]["role"] == "AMAZON"
    assert events[4]["attachments"][0]["name"] == "screenshot.png"
    assert "/spapi-download/" in events[4]["attachments"][0]["downloadUrl"]
    first = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(case.created + 100))
    assert chat["chatContent"]["transcript"] == (
        f"{first}.000Z Nordwind Hi, my listing is gone.\n\n"
        f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(case.created + 160))}.000Z "
        "Amazon Associate Kim Let me check that.")
    assert bare["chatContent"]["events"] == []
    assert bare["chatContent"]["transcript"].endswith("Nordwind Hi, my listing is gone.")
    assert call == {"contactId": "call-1", "channel": "PHONE",
                    "createdDate": call["createdDate"],
                    "phoneContent": {"callNotes": "  Called the seller; listing restored.\n"}}


def test_chat_and_phone_in_the_spapi_truth(rich):
    client, _, case = rich
    [mine] = [c for c in client.get("/__sim/spapi/truth").json["cases"]
              if c["case_id"] == case.case_id]
    got = [(m["channel"], m["sender"], m["attachments"]) for m in mine["messages"]]
    assert got == [("email", "seller", []),
                   ("chat", "seller", [{"name": "screenshot.png", "size": None}]),
                   ("chat", "seller", []), ("phone", "amazon", [])]
    texts = [m["text"] for m in mine["messages"]]
    assert texts[0] == "Listing gone" and texts[3] == "Called the seller; listing restored."
    assert texts[1].endswith("Amazon Associate Kim Let me check that.")


def test_a_status_changed_outside_mutate_still_moves_last_updated(rich):
    client, headers, case = rich
    url = f"/support/2025-02-01/cases/{case.case_id}"
    before = client.get(url, headers=headers).json
    case.status = "Closed" if case.status != "Closed" else "Reopened"
    after = client.get(url, headers=headers).json
    assert after["lastUpdatedDate"] > before["lastUpdatedDate"]
    assert after["status"] == STATUS[case.status]


# -- token bucket -----------------------------------------------------------------------

def test_token_bucket_spends_its_burst_then_refills_at_the_rate():
    now = [0.0]
    bucket = TokenBucket(rate=0.5, burst=2, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] += 1.0
    assert not bucket.take()             # half a token
    now[0] += 1.0
    assert bucket.take() and not bucket.take()
    now[0] += 100.0
    assert [bucket.take() for _ in range(3)] == [True, True, False]  # never above burst
    assert TokenBucket(rate=0, burst=1).take()                        # no plan: no limit
