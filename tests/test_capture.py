"""The capture client against the simulated portal in a subprocess: the JSON calls, the
rendered case page, attachments, and every fault of PORTAL.md section 6 as the client
must meet it (retried, or stopped on, or reported)."""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from fixtures.harness import ThreadLoop, run_async, start_portal
from scrapers.browser.client import PortalClient
from scrapers.browser.login import login_with_password
from scrapers.browser.pacing import AdaptiveLimiter
from scrapers.browser.retry import Retrying, retry_after_seconds
from scrapers.errors import (
    AttachmentTooLarge,
    CaseNotFound,
    RobotCheck,
    SessionExpired,
    TransientExhausted,
)

NO_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "rate_limit": 0, "retry_after": 1,
             "error_rate": 0, "session_expiry_after": 0, "robot_after": 0,
             "failing_cases": []}
UNKNOWN_CASE = "99999999999"


def run(coro):
    return run_async(coro)


def sign_in(portal) -> dict:
    config = portal.sim("config")
    return run(login_with_password(portal.url, config["email"], config["password"]))


@pytest.fixture(scope="module")
def portal():
    p = start_portal("--cases", "40", "--seed", "7")
    yield p
    p.stop()


@pytest.fixture(scope="module")
def state(portal):
    return sign_in(portal)


@pytest.fixture(scope="module")
def truth(portal):
    return {c["case_id"]: c for c in portal.sim("truth")["cases"]}


@pytest.fixture(scope="module")
def loop():
    """One event loop for the module, so one client (one Chromium) serves many tests."""
    loop = ThreadLoop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def shared_client(loop, portal, state):
    client = PortalClient(portal.url, storage_state=state)
    loop.run_until_complete(client.__aenter__())
    yield client
    loop.run_until_complete(client.__aexit__(None, None, None))


@pytest.fixture
def client(shared_client):
    """The shared client with fresh counters, limiter and retry settings."""
    shared_client.retrying = policy()
    shared_client.on_request = None
    return shared_client


def policy(max_attempts: int = 6, backoff_base: float = 0.25) -> Retrying:
    return Retrying(8, max_attempts=max_attempts, max_throttled=12, backoff_base=backoff_base,
                    backoff_cap=10.0, max_retry_after=300.0)


@pytest.fixture(autouse=True)
def clean_faults(portal):
    portal.sim("faults", NO_FAULTS)
    portal.sim("robot", {"on": False})
    portal.sim("stats/reset", {})
    yield
    portal.sim("faults", NO_FAULTS)
    portal.sim("robot", {"on": False})


def longest(truth) -> str:
    return max(truth, key=lambda cid: len(truth[cid]["messages"]))


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_api_calls_return_the_documented_json(portal, client, loop, truth):
    kinds = []
    client.on_request = kinds.append
    case_id = longest(truth)

    async def go():
        first = await client.search_cases(0, page_size=50)
        second = await client.search_cases(1, page_size=10)
        pages = [await client.view_case(case_id, page_size=10)]
        while pages[-1].json()["currentToken"]:
            pages.append(await client.view_case(
                case_id, page_size=10, page_token=pages[-1].json()["currentToken"]))
        contacts = [c for p in pages for c in p.json()["contactList"]]
        cut = next(c for c in contacts if c["messageTruncated"])
        full = await client.get_contact_message(case_id, cut["contactId"])
        return first, second, pages, contacts, cut, full

    first, second, pages, contacts, cut, full = loop.run_until_complete(go())
    listed = first.json()
    assert listed["totalNumberOfResults"] == len(truth) == 40
    rows = listed["caseSearchResultList"]
    assert {r["caseId"] for r in rows} == set(truth)
    assert [r["creationDate"] for r in rows] == sorted((r["creationDate"] for r in rows),
                                                       reverse=True)
    assert set(rows[0]) >= {"caseId", "status", "shortDescription", "creationDate",
                            "lastAmazonReplyDate"}
    assert [r["caseId"] for r in second.json()["caseSearchResultList"]] == \
        [r["caseId"] for r in rows[10:20]]
    assert first.kind == "search" and first.status == 200 and first.params["page"] == 0
    assert first.params["caseFilters"] == {"caseOwner": "MerchantCases", "searchText": "",
                                           "creationDateFrom": None, "creationDateTo": None}
    assert "json" in first.content_type
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first.fetched_at)

    meta = pages[0].json()["viewCaseMetaData"]
    assert meta["caseTitle"] == truth[case_id]["subject"]
    assert pages[0].case_id == case_id and pages[0].params["timeZone"] == "UTC"
    assert len(pages) > 1 and pages[-1].json()["currentToken"] is None
    assert len(contacts) == pages[0].json()["totalNumberOfContacts"] == \
        len(truth[case_id]["messages"])
    assert len(full.json()["message"]) > len(cut["message"])

    sim = portal.sim("stats")
    assert sim["SearchForCases"] == 2
    assert sim["ViewCase"] == len(pages) and sim["GetContactMessage"] == 1
    assert client.stats["search"] == 2 and client.stats["viewcase"] == len(pages)
    assert kinds == ["search", "search", *["viewcase"] * len(pages), "message"]


def test_opening_a_client_costs_no_api_call(portal, state, truth):
    """Opening loads nothing; the fetch transport (calls from the page) opens the lobby
    once, with its own SearchForCases blocked, and answers like context.request."""
    case_id = longest(truth)

    async def go():
        async with PortalClient(portal.url, storage_state=state, transport="fetch") as c:
            a = await c.view_case(case_id)
            c.transport = "request"
            b = await c.view_case(case_id)
            return portal.sim("stats"), a, b

    stats, a, b = run(go())
    assert stats["lobby"] == 1 and stats["SearchForCases"] == 0 and stats["ViewCase"] == 2
    assert a.json() == b.json() and a.status == b.status == 200


def test_attachment_download_and_size_cap(portal, client, loop, truth):
    case_id = next(cid for cid, c in truth.items()
                   if any(m["attachments"] for m in c["messages"]))

    async def go():
        contacts = (await client.view_case(case_id)).json()["contactList"]
        att = next(a for c in contacts for a in (c["attachments"] or []))
        got = await client.download_attachment(case_id, att["attachmentId"], 10_000_000)
        with pytest.raises(AttachmentTooLarge):
            await client.download_attachment(case_id, att["attachmentId"], att["fileSize"] - 1)
        return att, got

    att, got = loop.run_until_complete(go())
    assert got.kind == "attachment" and len(got.body) == att["fileSize"]
    assert got.content_type.split(";")[0] == att["contentType"]
    assert portal.sim("stats")["attachment"] == 2


def test_429_with_retry_after_is_retried_no_earlier_than_told(portal, client, loop, truth):
    ids = list(truth)[:2]

    async def go():
        portal.sim("faults", {"rate_limit": 1, "retry_after": 2})
        await client.view_case(ids[0])
        before = client.stats["429"]
        started = time.monotonic()
        cap = await client.view_case(ids[1])  # inside the same second: throttled
        return cap, time.monotonic() - started, client.stats["429"] - before

    cap, elapsed, throttled = loop.run_until_complete(go())
    assert cap.status == 200 and cap.json()["viewCaseMetaData"]
    assert throttled >= 1
    assert elapsed >= 2.0
    assert portal.sim("stats")["429"] >= 1


def test_many_calls_under_a_rate_limit_lose_nothing(portal, client, loop, truth):
    ids = list(truth)

    async def go():
        portal.sim("faults", {"rate_limit": 10, "retry_after": 1})
        started = time.monotonic()
        caps = await asyncio.gather(*(client.view_case(cid) for cid in ids))
        return caps, time.monotonic() - started

    caps, elapsed = loop.run_until_complete(go())
    assert [c.case_id for c in caps] == ids and all(c.status == 200 for c in caps)
    sim = portal.sim("stats")
    assert sim["ViewCase"] == len(ids)  # every case once: nothing lost, nothing doubled
    assert client.stats["429"] == sim["429"] > 0
    assert client.limiter.rate is not None and 5 <= client.limiter.rate <= 12
    assert elapsed >= (len(ids) - 10) / 10 * 0.9  # the portal's limit held


def test_transient_5xx_are_retried(portal, client, loop, truth):
    ids = list(truth)[:20]
    client.retrying = policy(12, 0.01)

    async def go():
        portal.sim("faults", {"error_rate": 0.3})
        return await asyncio.gather(*(client.view_case(cid) for cid in ids))

    caps = loop.run_until_complete(go())
    assert all(c.status == 200 for c in caps)
    assert client.stats["5xx"] > 0 and client.stats["5xx"] == portal.sim("stats")["5xx"]
    assert client.stats["requests"] == len(ids) + client.stats["5xx"]


def test_a_case_failing_every_time_gives_up_after_the_budget(portal, client, loop, truth):
    failing = list(truth)[0]
    client.retrying = policy(3, 0.01)
    portal.sim("faults", {"failing_cases": [failing]})  # first in the list: 500

    with pytest.raises(TransientExhausted) as info:
        loop.run_until_complete(client.view_case(failing))
    assert info.value.case_id == failing and info.value.status == 500
    assert portal.sim("stats")["5xx"] == 3


def test_robot_check_stops_at_once(portal, client, loop, state, truth):
    portal.sim("robot", {"on": True})
    with pytest.raises(RobotCheck):
        loop.run_until_complete(client.view_case(list(truth)[0]))
    assert portal.sim("stats")["total"] == 1  # one API call: nothing retried

    async def reopen():
        async with PortalClient(portal.url, storage_state=state) as fresh:
            assert portal.sim("stats")["total"] == 1  # opening costs no request at all
            await fresh.search_cases(0)

    with pytest.raises(RobotCheck):  # a fresh client's first call meets it, once
        run(reopen())
    assert portal.sim("stats")["total"] == 2
    assert portal.sim("stats")["robot"] == 2


def test_unknown_case_is_case_not_found(client, loop):
    with pytest.raises(CaseNotFound):
        loop.run_until_complete(client.view_case(UNKNOWN_CASE))
    with pytest.raises(CaseNotFound):
        loop.run_until_complete(client.case_page_html(UNKNOWN_CASE))


def test_expired_session_raises_and_is_not_retried(portal_factory, tmp_path, monkeypatch):
    small = portal_factory("--cases", "3", "--seed", "5")
    state = sign_in(small)
    case_id = small.sim("truth")["cases"][0]["case_id"]
    monkeypatch.setenv("CASELOG_HOME", str(tmp_path))

    async def go():
        async with PortalClient(small.url, storage_state=state) as client:
            small.sim("expire-sessions", {})
            small.sim("stats/reset", {})
            with pytest.raises(SessionExpired):
                await client.view_case(case_id)
            assert small.sim("stats")["total"] == 1
            with pytest.raises(SessionExpired):
                await client.case_page_html(case_id)
            with pytest.raises(SessionExpired):  # a page route: 302 to sign-in
                await client.download_attachment(case_id, "any", 1000)
        with pytest.raises(SessionExpired):  # a stale state: refused at the first call
            async with PortalClient(small.url, storage_state=state) as stale:
                await stale.search_cases(0)
        with pytest.raises(SessionExpired):  # ... and at the lobby a download opens
            async with PortalClient(small.url, storage_state=state) as stale:
                await stale.download_attachment(case_id, "any", 1000)
        with pytest.raises(SessionExpired, match="no session"):  # none given at all
            async with PortalClient(small.url):
                pass

    run(go())


def test_network_errors_are_retried_then_reported(portal_factory):
    gone = portal_factory("--cases", "2", "--seed", "3")
    state = sign_in(gone)
    case_id = gone.sim("truth")["cases"][0]["case_id"]

    async def go():
        async with PortalClient(gone.url, storage_state=state, max_attempts=3,
                                backoff_base=0.01) as client:
            gone.stop()  # the portal vanishes: connection refused from now on
            with pytest.raises(TransientExhausted) as info:
                await client.view_case(case_id)
            return info.value, dict(client.stats)

    exc, stats = run(go())
    assert exc.case_id == case_id and exc.status is None
    assert stats["network_errors"] == 3 and stats["retries"] == 2


def test_case_page_html_holds_every_message_in_full(client, loop, truth):
    case_id = longest(truth)
    messages = truth[case_id]["messages"]
    assert len(messages) > 10 and any(len(m["text"]) > 600 for m in messages)

    cap = loop.run_until_complete(client.case_page_html(case_id))
    assert cap.kind == "html" and cap.case_id == case_id and cap.status == 200
    tree = HTMLParser(cap.body.decode())
    assert len(tree.css("kat-box")) == len(messages)
    assert not tree.css('kat-button[label="See more"]')
    assert not tree.css('kat-button[label="Show older messages"]')
    page_text = squash(tree.body.text(separator=" "))
    for m in messages:
        text = squash(m["text"])
        assert text[:60] in page_text and text[-60:] in page_text


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("3") == 3.0
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= retry_after_seconds(later) <= 30
    assert retry_after_seconds("Mon, 01 Jan 2001 00:00:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_limiter_halves_on_429_and_paces_at_the_sampled_rate():
    """A 429 samples the allowed rate from the requests sent in the second before it that
    succeeded, counted once they have all answered (they answer after the 429 does)."""
    clock = [0.0]

    async def go():
        limiter = AdaptiveLimiter(8, clock=lambda: clock[0])
        admitted = []
        for i in range(5):  # five sent inside one second, still in flight
            clock[0] = i * 0.1
            admitted.append(await limiter.acquire())
        clock[0] = 0.5
        await limiter.release("throttled", await limiter.acquire())
        assert limiter.limit == 4 and limiter.rate == 1.0  # provisional: nothing answered
        clock[0] = 0.55
        for ticket in admitted:
            await limiter.release("ok", ticket)
        assert limiter.rate == pytest.approx(5 * 0.98)
        assert limiter.limit == 5  # four successes in a row won one slot back
        for _ in range(5):
            clock[0] += 1.0  # each in its own paced slot, so nothing waits
            await limiter.release("ok", await limiter.acquire())
        assert limiter.limit == 6

    run(go())


def test_case_page_html_recovers_from_the_pages_own_failed_calls(portal, client, loop, truth):
    """With 5xx on a third of requests, the page load, the shell's ViewCase, "Show older
    messages" and "See more" all fail now and then; the capture still holds everything."""
    case_id = longest(truth)
    client.retrying = policy(10, 0.01)
    portal.sim("faults", {"error_rate": 0.3})
    cap = loop.run_until_complete(client.case_page_html(case_id))
    tree = HTMLParser(cap.body.decode())
    assert len(tree.css("kat-box")) == len(truth[case_id]["messages"])
    assert not tree.css('kat-button[label="See more"], kat-button[label="Show older messages"]')
    assert portal.sim("stats")["5xx"] > 0


def test_a_cancelled_request_gives_its_slot_back():
    async def go():
        limiter = AdaptiveLimiter(1)
        limiter.rate = 0.5  # requests two seconds apart
        await limiter.release("ok", await limiter.acquire())
        waiting = asyncio.ensure_future(limiter.acquire())
        while limiter.in_flight == 0:  # until it holds the only slot
            await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert limiter.in_flight == 0
        limiter.rate = None
        await asyncio.wait_for(limiter.acquire(), 1)  # the slot is free again

    run(go())
