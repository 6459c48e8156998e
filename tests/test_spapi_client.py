"""SpapiClient against a real HTTP server on a loopback port: a minimal stand-in for the
Selling Partner API for Support and its LWA token endpoint (SPAPI.md), defined here.

The stand-in has only what the client's behaviour needs: the token grant with its two
refusals, tokens that can be expired at will, the three operations over a tiny fixed
account (with an empty page in the middle of each listing), scripted faults per
operation (429 with or without Retry-After, 5xx, any status and body), attachment links
that expire, and a log of what each request carried. The real simulation (fixtures/,
another branch) is for the integration tests; this shares nothing with it.

Pacing and backoff run on a fake clock (``FakeClock``): no test waits for real time, and
nothing sleeps to synchronise; the server answers before the client's await returns.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
import logging
import random
import re
import socket
import subprocess
import sys
import threading
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from fixtures.harness import ROOT, run_async
from scrapers.spapi import (
    AttachmentTooLarge,
    BadRequest,
    CredentialsRejected,
    DownloadExpired,
    Forbidden,
    InvalidClient,
    InvalidGrant,
    LwaCredentials,
    NotFound,
    SpapiClient,
    TokenRejected,
    TransientExhausted,
    parse_case,
    parse_list_cases,
    parse_list_contacts,
    resolve_endpoint,
)
from scrapers.spapi.plan import (
    GET_CASE,
    LIST_CASES,
    LIST_CONTACTS,
    Backoff,
    TokenBucket,
    UsagePlan,
    retry_after_seconds,
)

CLIENT_ID = "amzn1.application-oa2-client.standin"
CLIENT_SECRET = "cs-SECRET-9f8e7d6c5b4a"
REFRESH_TOKEN = "Atzr|REFRESH-0123456789abcdef"
BASE = "/support/2025-02-01"


def _case(case_id: str, status: str, created: str) -> dict:
    return {"caseId": case_id, "status": status, "subject": f"Subject of {case_id}",
            "primaryEmail": "seller@example.com", "ccEmails": [], "createdDate": created,
            "lastUpdatedDate": created, "appointments": []}


CASES = [_case("300", "PENDING_MERCHANT_ACTION", "2026-03-03T10:00:00.000Z"),
         _case("200", "PENDING_AMAZON_ACTION", "2026-03-02T10:00:00.000Z"),
         _case("100", "RESOLVED", "2026-03-01T10:00:00.000Z")]
CONTACTS = [
    {"contactId": "c-2", "channel": "EMAIL", "createdDate": "2026-03-03T11:00:00.000Z",
     "emailContent": {"sender": {"displayName": "Amazon", "role": "AMAZON"},
                      "message": "<p>Please send the invoice.</p>", "attachments": []}},
    {"contactId": "c-1", "channel": "EMAIL", "createdDate": "2026-03-03T10:00:00.000Z",
     "emailContent": {"sender": {"displayName": "Acme", "role": "SELLING_PARTNER"},
                      "message": "Hello", "attachments": [{"name": "a.txt"}]}},
]


class StandIn:
    """The server's state; tests change it between calls (never while one runs)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.refresh_token = REFRESH_TOKEN
        self.valid: set[str] = set()
        self.issued: list[str] = []
        self.refuse_all_tokens = False
        self.faults: dict[str, deque] = {}
        self.calls: Counter = Counter()
        self.requests: list[dict] = []  # {"path", "headers"} of every request
        self.sent: dict[str, bytes] = {}  # last body served per operation
        self.rate_header: str | None = "0.1"
        self.now = 0.0  # the stand-in's clock for link expiry (tests set it)
        self._ids = itertools.count(1)

    def fault(self, operation: str, status: int, body=b"", headers=None, times: int = 1):
        """The next ``times`` calls of ``operation`` (listCases, getCase, listContacts,
        lwa, download) answer this instead."""
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        for _ in range(times):
            self.faults.setdefault(operation, deque()).append((status, body, headers or {}))

    def expire_tokens(self):
        self.valid.clear()

    def next_id(self) -> int:
        return next(self._ids)


class Handler(BaseHTTPRequestHandler):
    server_version = "standin/1"
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> StandIn:
        return self.server.state

    def log_message(self, *args):  # quiet
        pass

    def _answer(self, status: int, body: bytes, headers: dict | None = None,
                content_type: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("x-amzn-RequestId", f"rid-{self.state.next_id()}")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data, headers=None, operation: str | None = None):
        body = json.dumps(data).encode()
        if operation and status == 200:
            self.state.sent[operation] = body
            if self.state.rate_header:
                headers = {"x-amzn-RateLimit-Limit": self.state.rate_header, **(headers or {})}
        self._answer(status, body, headers)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _scripted(self, operation: str) -> bool:
        with self.state.lock:
            self.state.calls[operation] += 1
            self.state.requests.append({"path": self.path, "headers": dict(self.headers)})
            queue = self.state.faults.get(operation)
            fault = queue.popleft() if queue else None
        if fault is None:
            return False
        status, body, headers = fault
        self._answer(status, body, headers)
        return True

    def do_POST(self):
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/auth/o2/token":
            return self._token(body)
        if path == BASE + "/cases":
            return self._api("listCases", lambda: self._list_cases(body))
        self._json(404, {"errors": [{"code": "NotFound", "message": "no such path"}]})

    def do_GET(self):
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/files/"):
            return self._download(unquote(path[len("/files/"):]), parse_qs(parts.query))
        if path.startswith("/leak"):
            self.state.calls["leak"] += 1
            return self._answer(200, b"leaked")
        segments = path[len(BASE) + 1:].split("/") if path.startswith(BASE + "/cases/") else []
        if len(segments) == 2:
            return self._api("getCase", lambda: self._get_case(unquote(segments[1])))
        if len(segments) == 3 and segments[2] == "contacts":
            query = parse_qs(parts.query)
            return self._api("listContacts", lambda: self._contacts(query))
        self._json(404, {"errors": [{"code": "NotFound", "message": "no such path"}]})

    def _token(self, body: bytes):
        if self._scripted("lwa"):
            return
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        state = self.state
        if form.get("grant_type") != "refresh_token":
            return self._json(400, {"error": "unsupported_grant_type"})
        if (form.get("client_id"), form.get("client_secret")) != (state.client_id,
                                                                   state.client_secret):
            return self._json(401, {"error": "invalid_client",
                                    "error_description": "Client authentication failed"})
        if form.get("refresh_token") != state.refresh_token:
            return self._json(400, {"error": "invalid_grant",
                                    "error_description": "The request has an invalid grant "
                                                         "parameter : refresh_token"})
        token = f"Atza|ACCESS-{state.next_id()}-7c3e1f"
        with state.lock:
            state.valid.add(token)
            state.issued.append(token)
        self._json(200, {"access_token": token, "expires_in": 3600, "token_type": "bearer",
                         "refresh_token": state.refresh_token})

    def _api(self, operation: str, serve):
        token = self.headers.get("x-amz-access-token")
        if self._scripted(operation):
            return
        if self.state.refuse_all_tokens or token not in self.state.valid:
            return self._json(403, {"errors": [{
                "code": "Unauthorized", "details": "",
                "message": "The access token you provided has expired."}]})
        status, data = serve()
        self._json(status, data, operation=operation)

    def _list_cases(self, body: bytes):
        request = json.loads(body or b"{}")
        token = request.get("nextToken")
        pages = {None: ({"cases": CASES[:2], "nextToken": "page-2"}),
                 "page-2": {"cases": [], "nextToken": "page-3"},  # empty, yet a token
                 "page-3": {"cases": CASES[2:]}}
        if token not in pages:
            return 400, {"errors": [{"code": "InvalidInput", "details": "Invalid Input",
                                     "message": "The parameter 'nextToken' is not valid."}]}
        return 200, pages[token]

    def _get_case(self, case_id: str):
        for case in CASES:
            if case["caseId"] == case_id:
                return 200, case
        return 404, {"errors": [{"code": "NotFound", "message": "The resource specified "
                                 "does not exist.", "details": ""}]}

    def _contacts(self, query: dict):
        token = (query.get("nextToken") or [None])[0]
        if token is None:
            return 200, {"contacts": CONTACTS, "nextToken": "more"}
        return 200, {"contacts": []}  # a later page may be empty

    def _download(self, name: str, query: dict):
        if self._scripted("download"):
            return
        expires = float((query.get("expires") or ["inf"])[0])
        if self.state.now > expires:
            return self._answer(403, b"<Error><Code>AccessDenied</Code><Message>Request has "
                                b"expired</Message></Error>", content_type="application/xml")
        if name == "chunked":  # no Content-Length: the client must count
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(8):
                chunk = b"x" * 4096
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        size = int(name.split("-")[-1]) if name.startswith("size-") else 5
        self._answer(200, bytes(range(256)) * (size // 256) + b"z" * (size % 256),
                     content_type="application/pdf")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that stops reading at its cap closes the connection under us.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve() -> tuple[ThreadingHTTPServer, StandIn]:
    state = StandIn()
    server = Server(("127.0.0.1", 0), Handler)
    server.state = state
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state


# -- the tests ---------------------------------------------------------------------


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def server():
    srv, state = serve()
    yield srv, state
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def standin(server):
    srv, state = server
    state.reset()
    state.url = f"http://127.0.0.1:{srv.server_port}"
    return state


def creds(**changes) -> LwaCredentials:
    values = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
              "refresh_token": REFRESH_TOKEN, **changes}
    return LwaCredentials(**values)


def client_for(standin, clock=None, credentials=None, **options) -> SpapiClient:
    clock = clock or FakeClock()
    return SpapiClient(credentials or creds(), endpoint=standin.url,
                       token_endpoint=standin.url + "/auth/o2/token", clock=clock,
                       sleep=clock.sleep, rng=random.Random(7), **options)


def run(standin, body, clock=None, **options):
    """Run ``body(client)`` on a fresh loop with a fresh client; returns its result."""
    async def main():
        async with client_for(standin, clock, **options) as client:
            return await body(client)
    return run_async(main())


FETCHED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_token_grant_then_every_page_with_raw_bytes_and_headers(standin):
    async def body(client):
        pages, token = [], None
        while True:
            cap = await client.list_cases(next_token=token)
            pages.append(cap)
            cases, token = parse_list_cases(cap.body)
            if token is None:
                return pages, client.stats

    pages, stats = run(standin, body)
    assert [len(parse_list_cases(p.body)[0]) for p in pages] == [2, 0, 1]  # empty page 2
    last = pages[-1]
    assert last.body == standin.sent["listCases"]  # the exact bytes served
    assert (last.kind, last.status, last.content_type) == ("list_cases", 200,
                                                           "application/json")
    assert last.url == standin.url + "/support/2025-02-01/cases"
    assert last.params == {"maxResults": 50, "sortOrder": "DESC", "nextToken": "page-3"}
    assert last.request_id.startswith("rid-") and last.rate_limit == "0.1"
    assert FETCHED_AT.fullmatch(last.fetched_at)
    assert standin.calls["lwa"] == 1 and stats["token_requests"] == 1  # cached
    sent = [r["headers"] for r in standin.requests if r["path"].startswith("/support")]
    assert {h["x-amz-access-token"] for h in sent} == {standin.issued[0]}
    assert stats["operations"]["listCases"] == {"requests": 3, "ok": 3, "429": 0,
                                                "retries": 0}
    assert stats["paced_seconds"] == 0  # three requests fit in the burst of ten


def test_get_case_and_contacts_pages(standin):
    async def body(client):
        return (await client.get_case("300"), await client.list_contacts("300"),
                await client.list_contacts("300", next_token="more", sort_order="ASC"))

    case, first, second = run(standin, body)
    assert parse_case(case.body)["status"] == "PENDING_MERCHANT_ACTION"
    assert (case.kind, case.case_id, case.params) == ("get_case", "300", {"caseId": "300"})
    messages, token = parse_list_contacts(first.body, case_id="300")
    assert [m["sender"] for m in messages] == ["amazon", "seller"] and token == "more"
    assert first.url.endswith("/cases/300/contacts?maxResults=50&sortOrder=DESC")
    assert second.params == {"caseId": "300", "maxResults": 50, "sortOrder": "ASC",
                             "nextToken": "more"}
    assert parse_list_contacts(second.body) == ([], None)
    assert "nextToken=more" in standin.requests[-1]["path"]


def test_expired_token_is_refreshed_once_and_the_call_retried(standin):
    async def body(client):
        await client.get_case("100")
        standin.expire_tokens()
        cap = await client.get_case("200")
        return cap, client.stats

    cap, stats = run(standin, body)
    assert cap.status == 200 and stats["token_refreshes"] == 1
    assert stats["token_requests"] == 2 and len(standin.issued) == 2
    assert standin.requests[-1]["headers"]["x-amz-access-token"] == standin.issued[1]


def test_concurrent_403s_share_one_refresh(standin):
    async def body(client):
        await client.get_case("100")
        standin.expire_tokens()
        caps = await asyncio.gather(*(client.list_contacts(c) for c in ("100", "200", "300")))
        return caps, client.stats

    caps, stats = run(standin, body)
    assert [c.status for c in caps] == [200, 200, 200]
    assert len(standin.issued) == 2  # one new token for the three refused calls


def test_a_second_403_means_the_credentials_are_rejected(standin):
    standin.refuse_all_tokens = True
    with pytest.raises(TokenRejected) as err:
        run(standin, lambda client: client.get_case("100"))
    assert isinstance(err.value, CredentialsRejected) and err.value.status == 403
    assert standin.calls["getCase"] == 2 and standin.calls["lwa"] == 2


def test_a_403_that_is_not_about_the_token_is_not_refreshed(standin):
    standin.fault("getCase", 403, {"errors": [{"code": "Unauthorized", "details": "",
                                               "message": "Access to requested resource "
                                                          "is denied."}]})
    with pytest.raises(Forbidden, match="access denied"):
        run(standin, lambda client: client.get_case("100"))
    assert standin.calls["lwa"] == 1 and standin.calls["getCase"] == 1


@pytest.mark.parametrize("change, error, words", [
    ({"client_secret": "wrong-secret"}, InvalidClient, "client id or client secret"),
    ({"refresh_token": "Atzr|revoked"}, InvalidGrant, "refresh token"),
])
def test_lwa_refusals_name_the_mistake_at_once(standin, change, error, words):
    clock = FakeClock()
    with pytest.raises(error, match=words) as err:
        run(standin, lambda client: client.list_cases(), clock=clock,
            credentials=creds(**change))
    assert standin.calls["lwa"] == 1 and clock.sleeps == []  # not retried
    assert standin.calls["listCases"] == 0
    assert err.value.operation == "lwa" and err.value.code in str(err.value)


def test_lwa_transient_failures_are_retried(standin):
    standin.fault("lwa", 503, {"error": "temporarily_unavailable"}, times=2)
    cap = run(standin, lambda client: client.get_case("100"))
    assert cap.status == 200 and standin.calls["lwa"] == 3


def test_429_backs_off_honouring_retry_after_then_succeeds(standin):
    standin.fault("listContacts", 429, {"errors": [{"code": "QuotaExceeded",
                                                    "message": "You exceeded your quota"}]},
                  headers={"Retry-After": "7"})
    standin.fault("listContacts", 429, {"errors": []})
    clock = FakeClock()

    async def body(client):
        return await client.list_contacts("100"), client.stats

    cap, stats = run(standin, body, clock=clock)
    assert cap.status == 200
    assert stats["429"] == 2 and stats["retries"] == 2
    assert stats["operations"]["listContacts"]["429"] == 2
    assert max(clock.sleeps) >= 7  # never sooner than told
    # After a 429 the bucket is empty: the retry waits for a token at 0.1/s as well.
    assert clock.now - 1000.0 >= 10


def test_429_past_the_budget_gives_up(standin):
    standin.fault("getCase", 429, {"errors": [{"code": "QuotaExceeded", "message": "slow"}]},
                  times=5)
    with pytest.raises(TransientExhausted, match="429, 3 times") as err:
        run(standin, lambda client: client.get_case("100"), max_throttled=3)
    assert err.value.status == 429 and err.value.code == "QuotaExceeded"
    assert standin.calls["getCase"] == 3


def test_5xx_is_retried_a_bounded_number_of_times(standin):
    standin.fault("getCase", 500, {"errors": [{"code": "InternalFailure", "message": "x"}]})
    standin.fault("getCase", 503, b"Service Unavailable", headers={"Retry-After": "2"})
    clock = FakeClock()

    async def body(client):
        return await client.get_case("100"), client.stats

    cap, stats = run(standin, body, clock=clock)
    assert cap.status == 200 and stats["5xx"] == 2 and stats["retries"] == 2
    assert 2 <= clock.sleeps[-1]
    standin.fault("getCase", 502, b"bad gateway", times=4)
    with pytest.raises(TransientExhausted, match="HTTP 502, 4 times"):
        run(standin, lambda client: client.get_case("100"), max_attempts=4)


def test_network_errors_are_retried_then_reported(standin):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening

    async def body(client):
        try:
            await client.get_case("100")
        finally:
            stats.update(client.stats)

    stats = {}
    clock = FakeClock()

    async def main():
        async with SpapiClient(creds(), endpoint=closed,
                               token_endpoint=standin.url + "/auth/o2/token", clock=clock,
                               sleep=clock.sleep, max_attempts=3) as client:
            await body(client)

    with pytest.raises(TransientExhausted, match="no answer") as err:
        run_async(main())
    assert stats["network_errors"] == 3 and stats["retries"] == 2
    assert err.value.status is None


@pytest.mark.parametrize("status, error", [(404, NotFound), (400, BadRequest),
                                           (413, BadRequest), (415, BadRequest)])
def test_refusals_map_to_errors_with_amazons_words(standin, status, error):
    standin.fault("getCase", status, {"errors": [{"code": "Code" + str(status),
                                                  "message": "what went wrong"}]})
    with pytest.raises(error, match="what went wrong") as err:
        run(standin, lambda client: client.get_case("999"))
    assert err.value.case_id == "999" and err.value.code == f"Code{status}"
    assert err.value.request_id.startswith("rid-")


def test_unknown_case_is_not_found(standin):
    with pytest.raises(NotFound, match="case 999"):
        run(standin, lambda client: client.get_case("999"))


def test_redirects_are_not_followed_so_the_token_stays_home(standin):
    standin.fault("getCase", 302, b"", headers={"Location": standin.url + "/leak"})
    with pytest.raises(BadRequest, match="HTTP 302"):
        run(standin, lambda client: client.get_case("100"))
    assert standin.calls["leak"] == 0


def test_pacing_starts_with_the_first_call_and_follows_the_rate_header(standin):
    clock = FakeClock()
    standin.rate_header = None

    waits = []

    async def call(client):
        before = client.plan.waited
        await client.get_case("100")
        waits.append(client.plan.waited - before)

    async def body(client):
        for _ in range(5):
            await call(client)
        standin.rate_header = "2"
        await call(client)  # still paced at 0.5/s; its answer says 2/s
        for _ in range(2):
            await call(client)
        return client.stats

    stats = run(standin, body, clock=clock, rate=0.5, burst=3)
    # Three go at once (the burst), then one each 2 s, then one each 0.5 s ...
    assert waits == pytest.approx([0, 0, 0, 2.0, 2.0, 2.0, 0.5, 0.5])
    assert stats["paced_seconds"] == pytest.approx(7.0)
    # ... each wait slept in slices, so a rate that rises meanwhile is heard at once
    assert max(clock.sleeps) <= 1.0
    assert standin.calls["listCases"] == 0 and standin.calls["getCase"] == 8


def test_each_operation_has_its_own_bucket(standin):
    clock = FakeClock()

    async def body(client):
        for _ in range(2):
            await client.get_case("100")
        for _ in range(2):
            await client.list_contacts("100")

    run(standin, body, clock=clock, burst=2)
    assert clock.sleeps == []


def test_estimate_before_a_long_run(standin):
    client = client_for(standin)
    plan = {"listCases": 7, "listContacts": 300, "getCase": 5}
    assert client.estimate_seconds(plan) == pytest.approx((300 - 10) / 0.1)
    assert client.describe_estimate(plan) == (
        "312 requests: about 50 minutes at Amazon's 0.1 requests a second")
    with pytest.raises(ValueError):
        client.estimate_seconds({"searchCases": 1})


def test_download_reads_the_file_without_a_token(standin):
    link = standin.url + "/files/size-1000?expires=60&X-Amz-Signature=abc"

    async def body(client):
        return await client.download(link, 10_000, case_id="100")

    cap = run(standin, body)
    assert cap.kind == "attachment" and len(cap.body) == 1000
    assert cap.content_type == "application/pdf" and cap.case_id == "100"
    assert cap.url == standin.url + "/files/size-1000"  # the signature is not kept
    assert "x-amz-access-token" not in {k.lower() for k in standin.requests[-1]["headers"]}


@pytest.mark.parametrize("name", ["size-5000", "chunked"])
def test_download_stops_at_the_cap(standin, name):
    with pytest.raises(AttachmentTooLarge, match="4096"):
        run(standin, lambda client: client.download(standin.url + "/files/" + name, 4096))


def test_download_at_exactly_the_cap_is_whole(standin):
    cap = run(standin, lambda client: client.download(standin.url + "/files/size-4096", 4096))
    assert len(cap.body) == 4096


def test_expired_download_link_says_so(standin):
    standin.now = 100.0
    with pytest.raises(DownloadExpired, match="list the case's contacts again") as err:
        run(standin, lambda client: client.download(
            standin.url + "/files/size-10?expires=60&X-Amz-Signature=abc", 100))
    assert err.value.status == 403 and "Signature" not in str(err.value)


def test_arguments_are_checked_before_anything_is_sent(standin):
    client = client_for(standin)
    for call in (lambda: client.list_cases(max_results=0),
                 lambda: client.list_cases(max_results=51),
                 lambda: client.list_contacts("1", sort_order="desc"),
                 lambda: client.get_case(""),
                 lambda: client.download("file:///etc/passwd", 10)):
        with pytest.raises(ValueError):
            run_async(call())
    assert standin.requests == []


def test_regions_and_urls():
    assert resolve_endpoint("NA") == "https://sellingpartnerapi-na.amazon.com"
    assert resolve_endpoint("eu") == "https://sellingpartnerapi-eu.amazon.com"
    assert resolve_endpoint("fe") == "https://sellingpartnerapi-fe.amazon.com"
    assert resolve_endpoint("http://127.0.0.1:8731/") == "http://127.0.0.1:8731"
    with pytest.raises(ValueError):
        resolve_endpoint("mars")


def test_no_secret_in_captures_errors_logs_or_reprs(standin, caplog):
    caplog.set_level(logging.DEBUG)
    standin.fault("getCase", 429, {"errors": []}, headers={"Retry-After": "1"})
    seen: list[str] = []

    async def body(client):
        seen.append(repr(client))
        await client.get_case("100")
        standin.expire_tokens()
        await client.list_contacts("100")  # 403, refresh, retry
        token = standin.issued[-1]
        # A server that echoes the token back must not get it into the archive.
        standin.fault("getCase", 200, json.dumps({"caseId": token}).encode())
        cap = await client.get_case("100")
        seen.append(repr(cap) + cap.body.decode())
        standin.fault("getCase", 400, {"errors": [{"code": "InvalidInput",
                                                   "message": "bad " + token}]})
        with pytest.raises(BadRequest) as err:
            await client.get_case("100")
        seen.extend([str(err.value), repr(err.value), err.value.body.decode()])
        seen.append(json.dumps(client.stats))

    run(standin, body)
    for change in ({"client_secret": "wrong-" + CLIENT_SECRET},
                   {"refresh_token": REFRESH_TOKEN + "-revoked"}):
        with pytest.raises(CredentialsRejected) as err:
            run(standin, lambda client: client.list_cases(), credentials=creds(**change))
        seen.extend([str(err.value), repr(err.value), err.value.body.decode()])
    seen.append(repr(creds()))
    seen.extend(record.getMessage() for record in caplog.records)
    assert any("retry" in r.getMessage() for r in caplog.records)  # logging did happen
    text = "\n".join(seen)
    for secret in [CLIENT_SECRET, REFRESH_TOKEN, *standin.issued]:
        assert secret not in text
    assert "[redacted]" in text


def _logging_state() -> dict:
    state = {}
    for name in ("", "spapi", "urllib3"):
        logger = logging.getLogger(name or None)
        state[name] = (list(logger.handlers), logger.level, logger.propagate)
    state["http.client"] = http.client.HTTPConnection.debuglevel
    return state


def test_using_the_client_leaves_logging_as_it_was(standin):
    before = _logging_state()
    run(standin, lambda client: client.get_case("100"))
    assert _logging_state() == before


SUBPROCESS_CHECK = r"""
import asyncio, importlib, json, logging, sys
import urllib3  # as any program using urllib3 has it (it adds its own NullHandler)
root = logging.getLogger()
def state():
    return {"root": [len(root.handlers), root.level],
            "urllib3": [len(logging.getLogger("urllib3").handlers),
                        logging.getLogger("urllib3").level],
            "spapi": [len(logging.getLogger("spapi").handlers)]}
before = state()
from scrapers.spapi import LwaCredentials, SpapiClient
url, client_id, secret, refresh = sys.argv[1:5]
async def main():
    async with SpapiClient(LwaCredentials(client_id, secret, refresh), endpoint=url,
                           token_endpoint=url + "/auth/o2/token") as client:
        return (await client.get_case("100")).status
status = asyncio.run(main())
after = state()
import spapi.client, spapi.configuration  # control: the SDK does change them uncontained
importlib.reload(spapi.client)
spapi.configuration.Configuration()
print(json.dumps({"status": status, "before": before, "after": after,
                  "control": state(), "sdk": "spapi" in sys.modules}))
"""


def test_sdk_logging_set_up_is_contained_in_a_fresh_interpreter(standin):
    out = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_CHECK, standin.url, CLIENT_ID, CLIENT_SECRET,
         REFRESH_TOKEN], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == 200 and result["sdk"]
    assert result["after"] == result["before"] == {
        "root": [0, logging.WARNING], "urllib3": [1, logging.NOTSET], "spapi": [0]}
    assert result["control"]["root"] == [1, logging.INFO]  # basicConfig, had we let it
    assert result["control"]["spapi"] == [1]
    assert out.stderr == ""  # nothing printed: no handler was left behind


# -- the usage plan on its own, on a fake clock --------------------------------------


def test_bucket_does_not_sleep_while_it_has_tokens():
    clock = FakeClock()
    plan = UsagePlan(0.1, 10, clock=clock, sleep=clock.sleep)

    async def main():
        return [await plan.acquire(LIST_CASES) for _ in range(12)]

    waits = run_async(main())
    assert waits[:10] == [0.0] * 10 and waits[10:] == pytest.approx([10.0, 10.0])
    assert len(clock.sleeps) == 20 and sum(clock.sleeps) == pytest.approx(20.0)  # slices


def test_bucket_refills_at_its_rate_up_to_its_burst():
    clock = FakeClock()
    bucket = TokenBucket(rate=0.5, burst=2, clock=clock)
    bucket.take(), bucket.take()
    assert bucket.available() == 0.0
    clock.now += 3
    assert bucket.available() == pytest.approx(1.5)
    clock.now += 100
    assert bucket.available() == 2.0  # never above the burst


def test_cancelled_waiter_gives_its_token_back():
    clock = FakeClock()
    gate = asyncio.Event()

    async def never(_seconds):
        await gate.wait()

    plan = UsagePlan(1.0, 1, clock=clock, sleep=never)

    async def main():
        await plan.acquire(GET_CASE)
        waiting = asyncio.ensure_future(plan.acquire(GET_CASE))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return plan.bucket(GET_CASE).available()

    assert run_async(main()) == 0.0


def test_a_429_empties_the_bucket_and_the_header_sets_the_rate():
    clock = FakeClock()
    plan = UsagePlan(0.1, 10, clock=clock, sleep=clock.sleep)
    plan.throttled(LIST_CONTACTS)
    assert plan.bucket(LIST_CONTACTS).available() == 0.0  # the next token is 10 s away
    plan.observe(LIST_CONTACTS, "2")
    assert plan.bucket(LIST_CONTACTS).rate == 2.0
    for junk in (None, "", "fast", "-1", "0", "nan", "inf", "1e9"):
        plan.observe(LIST_CONTACTS, junk)
    assert plan.bucket(LIST_CONTACTS).rate == 2.0
    assert plan.bucket(LIST_CASES).rate == 2.0  # not heard from yet: the plan's rate
    plan.observe(LIST_CASES, "0.5")
    plan.observe(LIST_CONTACTS, "3")
    assert plan.bucket(LIST_CASES).rate == 0.5  # heard from: each operation its own


def test_estimates_count_the_tokens_in_hand_and_the_queue():
    clock = FakeClock()
    plan = UsagePlan(0.1, 10, clock=clock, sleep=clock.sleep)
    assert plan.estimate_seconds({LIST_CASES: 10}) == 0.0
    assert plan.estimate_seconds({LIST_CASES: 11, GET_CASE: 3}) == pytest.approx(10.0)
    both = {LIST_CASES: 30, GET_CASE: 20}
    assert plan.estimate_seconds(both) == pytest.approx(200.0)
    assert plan.estimate_seconds(both, sequential=True) == pytest.approx(300.0)
    for _ in range(10):
        plan.bucket(LIST_CASES).take()  # the burst spent
    assert plan.estimate_seconds({LIST_CASES: 1}) == pytest.approx(10.0)
    assert plan.describe_estimate({GET_CASE: 1}) == (
        "1 request: under a second at Amazon's 0.1 requests a second")
    assert plan.describe_estimate({GET_CASE: 20}) == (
        "20 requests: about 2 minutes at Amazon's 0.1 requests a second")
    assert "about 2.5 hours" in plan.describe_estimate({GET_CASE: 910})
    with pytest.raises(ValueError):
        plan.estimate_seconds({GET_CASE: -1})


def test_backoff_grows_with_jitter_and_never_undercuts_retry_after():
    backoff = Backoff(1.0, 60.0, rng=random.Random(3))
    for attempt in range(1, 10):
        step = min(60.0, 2 ** (attempt - 1))
        assert step / 2 <= backoff.delay(attempt) <= step
    assert backoff.delay(1, retry_after=30) == 30
    assert backoff.delay(1, retry_after=10_000) == 300  # capped


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:00 GMT") == 0.0
    for junk in (None, "", "soon", "nan"):
        assert retry_after_seconds(junk) is None


def test_the_token_is_renewed_shortly_before_it_expires(standin):
    clock = FakeClock()

    async def body(client):
        await client.get_case("100")
        clock.now += 3600 - 61  # still inside expires_in minus the margin
        await client.get_case("100")
        first = len(standin.issued)
        clock.now += 2  # now within a minute of expiry
        await client.get_case("100")
        return first

    assert run(standin, body, clock=clock) == 1 and len(standin.issued) == 2
    assert standin.calls["getCase"] == 3  # renewed before, not after a 403


def test_lwa_refusals_without_a_code(standin):
    standin.fault("lwa", 401, b"")
    with pytest.raises(InvalidClient, match="HTTP 401"):
        run(standin, lambda client: client.get_case("100"))
    standin.fault("lwa", 400, {"error": "invalid_request"})
    with pytest.raises(CredentialsRejected, match="invalid_request"):
        run(standin, lambda client: client.get_case("100"))


def test_credentials_must_be_complete():
    with pytest.raises(ValueError, match="client_secret"):
        LwaCredentials(CLIENT_ID, "", REFRESH_TOKEN)
    assert CLIENT_SECRET not in repr(LwaCredentials(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN))
