"""HTTP for the SP-API client: Amazon's SDK for the three Support operations, one urllib3
pool (the SDK's own HTTP library) for the token exchange and attachment downloads, all
run in the client's own worker threads so the asyncio caller never blocks.

What was checked in amzn-sp-api 1.13.0 before using it, and what this module does so:

- Endpoints: ``Configuration.host`` is joined to the operation's path as a plain string,
  so a region URL and ``http://127.0.0.1:PORT`` work alike.
- Raw bytes: ``*_with_http_info(..., _preload_content=False)`` returns urllib3's
  response unread, so the archive gets Amazon's exact bytes (no model round trip, which
  would also refuse an enum value the SDK does not know yet), with status and headers;
  a non-2xx raises ``ApiException`` carrying ``status``, ``headers`` and the raw ``body``.
- Logging at import time: ``spapi/client.py`` and ``spapi/auth/lwa_request.py`` call
  ``logging.basicConfig(level=INFO)``, and every ``Configuration()`` adds a stderr
  handler to the ``spapi`` and ``urllib3`` loggers, sets their levels and sets
  ``http.client.HTTPConnection.debuglevel``. The SDK is imported, and its one
  ``Configuration`` built, only inside ``contained_logging()``, which puts all of that
  back as it was (a lock keeps two clients from interleaving).
- Retries and redirects: the SDK does no retrying of its own, but its urllib3 pool
  silently retries connection errors three times and follows redirects, sending
  ``x-amz-access-token`` along to whatever host a redirect names. Its pool is replaced
  with one that neither retries nor follows redirects; the client retries, counted.
- Tokens: the generated client reads the token from ``configuration.access_token_cache``
  and stores it in ``ApiClient.default_headers``, shared by every call. Each worker
  thread has its own ``ApiClient`` and hands over the token of that one call, so we
  always know which token a 403 refused. Nothing here logs a header or a body; the SDK's
  one body log line (``spapi.rest`` at DEBUG) runs only when content is preloaded,
  which we never ask for.
- Time-outs: the SDK has none by default; every call passes (connect, read) seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from scrapers.spapi.lwa import FormAnswer, NetworkFailure
from scrapers.spapi.plan import retry_after_seconds

SDK_LOGGERS = ("spapi", "spapi.client", "spapi.auth.lwa_request", "spapi.rest", "urllib3")
_SDK_LOCK = threading.Lock()
_SDK: dict = {}  # filled on first use: the SDK's module objects, never at import


@dataclass
class Answer:
    """One HTTP answer: status, response headers (keys lower-cased), body bytes."""

    status: int
    headers: dict
    body: bytes
    truncated: bool = False  # the body stopped at a size cap


@contextlib.contextmanager
def contained_logging():
    """Undo whatever logging set-up the code inside does: root and SDK loggers' handlers,
    levels, propagation, and http.client's global debug level."""
    names = ("",) + SDK_LOGGERS
    saved = {}
    for name in names:
        logger = logging.getLogger(name or None)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate,
                       logger.disabled)
    debuglevel = http.client.HTTPConnection.debuglevel
    try:
        yield
    finally:
        for name, (handlers, level, propagate, disabled) in saved.items():
            logger = logging.getLogger(name or None)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled
        http.client.HTTPConnection.debuglevel = debuglevel


def load_sdk() -> dict:
    """Import the SDK's Support client (lazily, once), its logging set-up contained."""
    with _SDK_LOCK:
        if not _SDK:
            import urllib3.exceptions  # its own NullHandler is not the SDK's doing

            with contained_logging():
                from spapi.api.support_v2025_02_01.support_api import SupportApi
                from spapi.api_client import ApiClient
                from spapi.configuration import Configuration
                from spapi.rest import ApiException
            _SDK.update(SupportApi=SupportApi, ApiClient=ApiClient,
                        Configuration=Configuration, ApiException=ApiException,
                        HTTPError=urllib3.exceptions.HTTPError)
        return _SDK


class _ThreadToken:
    """The SDK's ``access_token_cache`` hook: the token handed over for the call running
    on this thread (an empty string outside one)."""

    def __init__(self):
        self._local = threading.local()

    def get_lwa_access_token(self) -> str:
        return getattr(self._local, "token", "")

    @contextlib.contextmanager
    def using(self, token: str):
        self._local.token = token
        try:
            yield
        finally:
            self._local.token = ""


def _pool(workers: int):
    # urllib3 (and ssl) only when a Support API run talks: every command imports this
    # package for its error classes.
    import certifi
    import urllib3

    class NoRedirectPool(urllib3.PoolManager):
        """Redirects are returned, not followed, unless a call asks (downloads do; they
        carry no token)."""

        def urlopen(self, method, url, redirect=False, **kw):
            return super().urlopen(method, url, redirect=redirect, **kw)

    return NoRedirectPool(num_pools=4, maxsize=max(1, workers), retries=False,
                          cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())


def _headers(raw) -> dict:
    return {str(k).lower(): str(v) for k, v in (raw or {}).items()}


def _reason(exc: BaseException) -> str:
    """A short cause for a failed connection, without URLs (a download URL's query is a
    signature) or anything else the exception text may hold."""
    while exc.__context__ is not None and not isinstance(exc, OSError):
        exc = exc.__context__
    return type(exc).__name__


class Transport:
    """Worker threads plus the HTTP machinery they share; ``close()`` when done."""

    def __init__(self, endpoint: str, *, timeout: float = 60.0, connect_timeout: float = 10.0,
                 workers: int = 4):
        self.endpoint = endpoint
        self.workers = max(1, int(workers))
        # A tuple: the SDK reads a bare number as a total only when it is an int.
        self._timeout = (float(connect_timeout), float(timeout))
        self._executor: ThreadPoolExecutor | None = None
        self._tokens = _ThreadToken()
        self._local = threading.local()
        self._config = None
        self._http = None
        self._lock = threading.Lock()

    async def run(self, fn, *args, **kwargs):
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="spapi")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._http is not None:
            self._http.clear()

    def _pool(self):
        with self._lock:
            if self._http is None:
                self._http = _pool(self.workers)
            return self._http

    def prepare(self) -> None:
        """Import the SDK and build its configuration; done on the caller's thread (both
        touch global logging state, which must not change under another thread)."""
        sdk = load_sdk()
        if self._config is None:
            with _SDK_LOCK, contained_logging():
                config = sdk["Configuration"]()
            config.host = self.endpoint
            config.access_token_cache = self._tokens
            self._config = config

    def _support_api(self):
        api = getattr(self._local, "api", None)
        if api is None:
            sdk = load_sdk()
            client = sdk["ApiClient"](configuration=self._config)
            client.rest_client.pool_manager = self._pool()
            api = self._local.api = sdk["SupportApi"](client)
        return api

    def support_call(self, operation: str, token: str, **kwargs) -> Answer:
        """Run one Support operation with ``token``; blocking, for a worker thread.
        Raises ``NetworkFailure`` when no HTTP answer came."""
        sdk = load_sdk()
        api = self._support_api()
        method = {"listCases": api.list_cases_with_http_info,
                  "getCase": api.get_case_with_http_info,
                  "listContacts": api.list_contacts_with_http_info}[operation]
        try:
            with self._tokens.using(token):
                response, status, headers = method(
                    **kwargs, _preload_content=False, _request_timeout=self._timeout)
            try:
                body = response.data
            finally:
                response.release_conn()
            return Answer(int(status), _headers(headers), bytes(body or b""))
        except sdk["ApiException"] as exc:
            if not exc.status:  # the SDK's own "no answer" (TLS failure and the like)
                raise NetworkFailure("TLS or request error") from None
            return Answer(int(exc.status), _headers(exc.headers), bytes(exc.body or b""))
        except (sdk["HTTPError"], OSError) as exc:
            raise NetworkFailure(_reason(exc)) from None
        finally:
            api.api_client.default_headers.pop("x-amz-access-token", None)

    def post_form(self, url: str, fields: dict) -> FormAnswer:
        """The LWA token request: a urlencoded form POST, no redirects, no retries."""
        import urllib3  # only when a Support API run talks (see _pool)

        try:
            response = self._pool().request(
                "POST", url, fields=fields, encode_multipart=False,
                headers={"Accept": "application/json"},
                timeout=urllib3.Timeout(connect=self._timeout[0], read=self._timeout[1]))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise NetworkFailure(_reason(exc)) from None
        return FormAnswer(response.status, bytes(response.data or b""),
                          retry_after_seconds(response.headers.get("Retry-After")))

    def get_capped(self, url: str, max_bytes: int, chunk: int = 64 * 1024) -> Answer:
        """GET ``url`` without any token, reading at most ``max_bytes + 1`` bytes (one
        more tells "too large" from "exactly at the cap"); stops early on a
        Content-Length above the cap. Up to 3 redirects are followed."""
        import urllib3  # only when a Support API run talks (see _pool)

        retries = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0,
                                redirect=3)
        try:
            response = self._pool().request(
                "GET", url, preload_content=False, redirect=True, retries=retries,
                timeout=urllib3.Timeout(connect=self._timeout[0], read=self._timeout[1]))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise NetworkFailure(_reason(exc)) from None
        headers = _headers(response.headers)
        whole = False
        try:
            declared = headers.get("content-length", "")
            if 200 <= response.status < 300 and declared.isdigit() and int(declared) > max_bytes:
                return Answer(response.status, headers, b"", truncated=True)
            parts, size = [], 0
            for part in response.stream(chunk):
                parts.append(part)
                size += len(part)
                if size > max_bytes:
                    break
            else:
                whole = True
            body = b"".join(parts)
            return Answer(response.status, headers, body[:max_bytes], truncated=not whole)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise NetworkFailure(_reason(exc)) from None
        finally:
            if not whole:
                response.close()  # unread bytes left: this connection cannot be reused
            response.release_conn()
