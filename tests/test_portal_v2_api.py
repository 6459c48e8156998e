"""Version 2 of the portal contract over plain HTTP (PORTAL.md section 8): case ids of 8
to 14 digits, the 1,000-result cap and the creation date filters, chat and phone
contacts, Transferred cases, the 5-day reopen rule, and the truth's ``channel``.
Read-only tests share one v2 portal; the rest start their own small ones."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from portal_http import EMAIL, Client, iso, to_text

from fixtures.harness import start_portal

DAY = 86400
CHANNELS = {"EMAIL": "email", "CHAT": "chat", "PHONE": "phone"}
TURN = re.compile(r"^\d\d:\d\d:\d\d UTC [^:\n]+: \S.*$")


@pytest.fixture(scope="module")
def v2():
    p = start_portal("--cases", "40", "--seed", "7", "--v2-data", "--mixed-id-lengths")
    yield p
    p.stop()


@pytest.fixture(scope="module")
def client(v2):
    c = Client(v2.url)
    assert c.sign_in().status == 302
    return c


@pytest.fixture(scope="module")
def truth(v2):
    return v2.sim("truth")


@pytest.fixture(scope="module")
def threads(client, truth):
    """Every contact of every case, newest first, from ViewCase alone."""
    return {c["case_id"]: client.thread(c["case_id"]) for c in truth["cases"]}


# -- case ids -------------------------------------------------------------------------

def test_mixed_id_lengths_unique_newest_first(client, truth):
    rows = client.all_cases()
    ids = [r["caseId"] for r in rows]
    assert {len(i) for i in ids} == set(range(8, 15))
    assert all(re.fullmatch(r"[1-9]\d{7,13}", i) for i in ids) and len(set(ids)) == 40
    keys = [(r["creationDate"], r["caseId"]) for r in rows]
    assert keys == sorted(keys, reverse=True)  # ties: case id (as text) descending
    assert ids == [c["case_id"] for c in truth["cases"]]
    asc = client.all_cases()  # the same order on every call
    assert [r["caseId"] for r in asc] == ids


def test_same_seed_same_data_with_or_without_mixed_ids(portal_factory):
    """The id flag changes ids only: the cases themselves are the 11-digit portal's."""
    plain = portal_factory("--cases", "12", "--seed", "4").sim("truth")["cases"]
    mixed = portal_factory("--cases", "12", "--seed", "4", "--mixed-id-lengths"
                           ).sim("truth")["cases"]
    assert all(len(c["case_id"]) == 11 for c in plain)
    assert [c["subject"] for c in plain] == [c["subject"] for c in mixed]
    assert [c["created_at"] for c in plain] == [c["created_at"] for c in mixed]


# -- the 1,000-result cap and the date filters ----------------------------------------

@pytest.fixture(scope="module")
def big():
    p = start_portal("--cases", "1100", "--seed", "2")
    c = Client(p.url)
    c.sign_in()
    yield p, c
    p.stop()


def _ids(client, **kw) -> list[str]:
    return [r["caseId"] for r in client.search(**kw).json()["caseSearchResultList"]]


def test_search_serves_at_most_1000_results(big):
    portal, c = big
    every = [x["case_id"] for x in portal.sim("truth")["cases"]]
    assert len(every) == 1100
    first = c.search(searchPageSize=50).json()
    assert first["totalNumberOfResults"] == 1000
    assert c.search(getCountOnly=True).json() == {"caseSearchResultList": [],
                                                  "totalNumberOfResults": 1000}
    assert _ids(c, page=19, searchPageSize=50) == every[950:1000]
    assert _ids(c, page=20, searchPageSize=50) == []  # starts after the 1,000th
    assert _ids(c, page=33, searchPageSize=30) == every[990:1000]  # cut at the 1,000th
    assert _ids(c, page=34, searchPageSize=30) == []
    oldest = _ids(c, page=19, searchPageSize=50, sortByOrder="ASC")
    assert oldest == every[::-1][950:1000]
    # Narrowed by creation date, everything is listed: the 1,000 newest, then the rest.
    served = c.search(page=19, searchPageSize=50).json()["caseSearchResultList"]
    boundary = served[-1]["creationDate"]  # the 1,000th case's
    newer = c.all_cases(creationDateFrom=boundary)
    older = c.all_cases(creationDateTo=boundary)
    assert (len(newer), len(older)) == (1000, 100)
    assert [r["caseId"] for r in newer + older] == every


def test_creation_date_from_inclusive_to_exclusive(client, truth):
    rows = client.all_cases()
    pick = rows[5]["creationDate"]
    inside = client.all_cases(creationDateFrom=pick, creationDateTo=pick + 1)
    assert [r["caseId"] for r in inside] == [r["caseId"] for r in rows
                                            if r["creationDate"] == pick]
    assert client.all_cases(creationDateFrom=pick, creationDateTo=pick) == []
    before = client.all_cases(creationDateTo=pick)
    assert [r["caseId"] for r in before] == [r["caseId"] for r in rows
                                            if r["creationDate"] < pick]
    window = client.all_cases(creationDateFrom=time.time() - 90 * DAY,
                              creationDateTo=time.time() - 30 * DAY)
    assert all(time.time() - 90 * DAY <= r["creationDate"] < time.time() - 30 * DAY
               for r in window)


@pytest.mark.parametrize("value", ["tomorrow", True, [1], {"t": 1}])
def test_creation_date_to_must_be_epoch_or_null(client, value):
    r = client.search(caseFilters={"creationDateTo": value})
    assert r.status == 400 and r.json()["error"] == "bad_request"
    assert client.search(caseFilters={"creationDateTo": None}).status == 200


# -- channels ---------------------------------------------------------------------------

def test_contacts_carry_channel_type_and_its_outbound_rule(threads):
    seen = set()
    for _, contacts in threads.values():
        for m in contacts:
            seen.add(m["channelType"])
            assert m["channelType"] in CHANNELS
            if m["channelType"] == "CHAT":  # the seller's contact, both sides' turns
                assert m["outbound"] is False and m["sender"] == EMAIL
                assert m["attachments"] is None
            elif m["channelType"] == "PHONE":  # Amazon's call notes
                assert m["outbound"] is True and m["sender"] == "Amazon"
                assert m["attachments"] is None
            else:
                assert m["sender"] == ("Amazon" if m["outbound"] else EMAIL)
    assert seen == set(CHANNELS)


def _full(client, case_id, m) -> str:
    if not m["messageTruncated"]:
        return m["message"]
    return client.contact(case_id, m["contactId"]).json()["message"]


def test_chat_is_a_transcript_and_call_notes_are_text(client, threads):
    chats = phones = 0
    for case_id, (_, contacts) in threads.items():
        for m in contacts:
            body = _full(client, case_id, m)
            if m["channelType"] == "CHAT":
                chats += 1
                lines = to_text(body).split("\n")
                assert len(lines) >= 4 and all(TURN.match(line) for line in lines), lines
                stamps = [line[:8] for line in lines]
                assert stamps[0] == time.strftime("%H:%M:%S", time.gmtime(m["timestamp"]))
            elif m["channelType"] == "PHONE":
                phones += 1
                assert re.fullmatch(r"[^<>]+(<br>[^<>]+)+", body), body
    assert chats >= 2 and phones >= 2


def test_chat_transcript_does_not_depend_on_time_zone(client, threads):
    case_id = next(cid for cid, (_, contacts) in threads.items()
                   if any(m["channelType"] == "CHAT" for m in contacts[:50]))
    views = [client.view_case(case_id, 50, tz=tz).json()["contactList"]
             for tz in ("America/Los_Angeles", "Asia/Tokyo", "Pacific/Chatham")]
    chats = [[m["message"] for m in v if m["channelType"] == "CHAT"] for v in views]
    assert chats[0] and chats[0] == chats[1] == chats[2]


def test_truth_agrees_with_json_including_channels(client, threads, truth):
    """Rebuild the export, channel included, from ViewCase and GetContactMessage alone."""
    for expected in truth["cases"]:
        meta, contacts = threads[expected["case_id"]]
        assert meta["viewCaseMetaData"]["caseStatus"] == expected["status"]
        rebuilt = [{"sender": "amazon" if m["outbound"] else "seller",
                    "sent_at": iso(m["timestamp"]),
                    "text": to_text(_full(client, expected["case_id"], m)),
                    "attachments": [{"name": a["fileName"], "size": a["fileSize"]}
                                    for a in m["attachments"] or []],
                    "channel": CHANNELS[m["channelType"]]} for m in reversed(contacts)]
        assert rebuilt == expected["messages"], expected["case_id"]
        assert iso(meta["viewCaseMetaData"]["creationDate"]) == expected["created_at"]


def test_truth_gives_channels_and_the_v1_format_when_asked(shared_portal, v2):
    cases = shared_portal.sim("truth?channel=0")["cases"]
    assert all(set(m) == {"sender", "sent_at", "text", "attachments"}
               for c in cases for m in c["messages"])
    assert "Transferred" not in {c["status"] for c in cases}
    asked = shared_portal.sim("truth")["cases"]
    assert {m["channel"] for c in asked for m in c["messages"]} == {"email"}
    assert [{k: v for k, v in m.items() if k != "channel"} for c in asked
            for m in c["messages"]] == [m for c in cases for m in c["messages"]]
    plain = v2.sim("truth?channel=0")["cases"]
    assert all("channel" not in m for c in plain for m in c["messages"])
    assert Client(v2.url).get("/__sim/truth?channel=yes").status == 400


# -- transfers and the reopen window -------------------------------------------------

def test_transferred_cases_name_their_continuation(client, threads, truth):
    listed = {r["caseId"]: r for r in client.all_cases()}
    transferred = [c for c in truth["cases"] if c["status"] == "Transferred"]
    assert transferred
    assert [r["caseId"] for r in client.all_cases(caseStatus="Transferred")] == [
        c["case_id"] for c in transferred]
    for case in transferred:
        meta, contacts = threads[case["case_id"]]
        meta = meta["viewCaseMetaData"]
        assert (meta["canEditCase"], meta["canReopenCase"]) == (False, False)
        last = contacts[0]
        assert last["outbound"] and last["channelType"] == "EMAIL"
        other = re.search(r"transferred to case (\d{8,14})", to_text(last["message"]))[1]
        assert other in listed and other != case["case_id"]
        assert listed[other]["creationDate"] > last["timestamp"]
        _, follow = threads[other]
        assert f"continues case {case['case_id']}" in to_text(follow[-1]["message"])
        assert listed[other]["shortDescription"] == case["subject"]


def test_german_portal_transfers_in_german(portal_factory):
    p = portal_factory("--cases", "40", "--seed", "7", "--v2-data", "--locale", "de_DE")
    case = next(c for c in p.sim("truth")["cases"] if c["status"] == "Transferred")
    text = case["messages"][-1]["text"]
    assert re.search(r"an Fall \d{8,14} übertragen", text), text
    assert "transferred" not in text


def test_answered_cases_reopen_only_within_five_days(client, threads, truth):
    now = time.time()
    sides = set()
    for case in truth["cases"]:
        if case["status"] != "Answered":
            continue
        meta, contacts = threads[case["case_id"]]
        age = now - contacts[0]["timestamp"]
        assert meta["viewCaseMetaData"]["canReopenCase"] is (age <= 5 * DAY)
        assert meta["viewCaseMetaData"]["canEditCase"] is True
        sides.add(age <= 5 * DAY)
    assert sides == {True, False}  # seeded v2 data holds both


def test_config_and_help_name_the_v2_flags(v2):
    config = v2.sim("config")
    assert (config["layout"], config["v2_data"], config["mixed_id_lengths"]) == (
        "a", True, True)
    out = subprocess.run([sys.executable, "-m", "fixtures", "--help"], capture_output=True,
                         text=True, timeout=60).stdout
    for flag in ("--layout [a|b]", "--v2-data", "--mixed-id-lengths", "--outage",
                 "--page-only-api", "--hostile-json-cases"):
        assert flag in out, flag
    assert "caselog portal --layout b --v2-data" in out


def test_v2_world_still_starts_fast():
    from fixtures.data import World

    start = time.process_time()  # CPU time: other work on the machine does not count
    world = World(7, 5000, EMAIL, v2_data=True, mixed_id_lengths=True)
    assert time.process_time() - start < 0.8  # threads stay lazy; a few are built
    assert sum(c.status == "Transferred" for c in world.cases.values()) == 5000 // 40
