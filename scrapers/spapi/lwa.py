"""Login with Amazon: a refresh token exchanged for an access token, kept until shortly
before it expires, and the secrets kept out of everything we show.

caselog does this itself rather than with the SDK's ``AccessTokenCache`` because that
class (amzn-sp-api 1.13.0, ``spapi/auth/lwa_request.py``) tests ``if e.response`` on a
``requests`` response, which is false for every 4xx, so ``invalid_client`` and
``invalid_grant`` both come out as ``server_error`` "Token request failed."; it retries
them anyway, blocking the thread in ``time.sleep`` for 2 + 4 + 8 seconds; it has no way
to drop a token the API refused; and its module calls ``logging.basicConfig`` on import.
Here the exchange is one form POST through the client's transport, wrong credentials
fail at once with the kind of mistake named, and only 429/5xx/network errors are retried.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scrapers.spapi.errors import (
    CredentialsRejected,
    InvalidClient,
    InvalidGrant,
    SpapiError,
    TransientExhausted,
)
from scrapers.spapi.plan import Backoff

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
REGIONS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
EXPIRY_MARGIN = 60.0  # seconds before `expires_in` runs out that a token is renewed
REDACTED = "[redacted]"


def resolve_endpoint(endpoint: str) -> str:
    """``na`` / ``eu`` / ``fe`` (any case) -> Amazon's regional endpoint; any other value
    must be an http(s) URL (a simulation on ``http://127.0.0.1:PORT``), kept without a
    trailing slash."""
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise ValueError("endpoint: a region (na, eu, fe) or an http(s) URL")
    region = REGIONS.get(endpoint.strip().casefold())
    if region:
        return region
    try:
        return check_url(endpoint.strip(), what="endpoint").rstrip("/")
    except ValueError:
        raise ValueError(f"endpoint: a region (na, eu, fe) or an http(s) URL, not "
                         f"{endpoint[:80]!r}") from None


def check_url(url: str, *, what: str) -> str:
    """``url`` if it is an absolute http(s) URL. The message never repeats the URL: a
    download link's query is a signature."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        scheme = f"{parts.scheme}:" if parts and parts.scheme else "no scheme"
        raise ValueError(f"{what}: expected an absolute http(s) URL, got {scheme}")
    return url


@dataclass(frozen=True)
class LwaCredentials:
    """A self-authorised app's credentials. The secrets never show in ``repr``."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    def __post_init__(self):
        for name in ("client_id", "client_secret", "refresh_token"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"LWA credentials: {name} is missing")


class Redactor:
    """Replaces every secret this client knows (client secret, refresh token, every
    access token it was given) in text it is about to show or keep. Amazon has no reason
    to echo one back; this makes sure a server that does cannot put it in an archive,
    an exception or a log line."""

    def __init__(self, *secrets: str):
        self._secrets: set[str] = {s for s in secrets if s}

    def add(self, secret: str) -> None:
        if secret:
            self._secrets.add(secret)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def bytes(self, value: bytes) -> bytes:
        for secret in self._secrets:
            raw = secret.encode()
            if raw in value:
                value = value.replace(raw, REDACTED.encode())
        return value


@dataclass
class FormAnswer:
    """What the transport's form POST gives back (no request headers, ever)."""

    status: int
    body: bytes
    retry_after: float | None = None


PostForm = Callable[[str, dict], Awaitable[FormAnswer]]


class NetworkFailure(Exception):
    """The transport got no HTTP answer; ``str()`` is a safe one-line reason."""


class LwaAuth:
    """One access token at a time, shared by every call of a client.

    ``token()`` returns the cached token or fetches one (concurrent callers wait for the
    same fetch). ``invalidate(token)`` drops it after the API refused it, unless a newer
    one already replaced it, so several calls refused at once cause one refresh.
    """

    def __init__(self, credentials: LwaCredentials, post: PostForm, *,
                 token_endpoint: str = LWA_TOKEN_URL, redactor: Redactor,
                 backoff: Backoff, max_attempts: int = 6,
                 clock: Callable[[], float] = time.monotonic):
        self._credentials, self._post = credentials, post
        self.token_endpoint = check_url(token_endpoint, what="token endpoint")
        self._redactor, self._backoff, self._clock = redactor, backoff, clock
        self.max_attempts = max(1, int(max_attempts))
        self._token: str | None = None
        self._expires_at = float("-inf")
        self._lock = asyncio.Lock()
        self.requests = 0  # token requests sent (attempts)

    async def token(self) -> str:
        if self._token and self._clock() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token and self._clock() < self._expires_at:
                return self._token  # another caller fetched it while we waited
            self._token, self._expires_at = await self._fetch()
            return self._token

    def invalidate(self, token: str) -> None:
        if token == self._token:
            self._token, self._expires_at = None, float("-inf")

    async def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "refresh_token",
                "refresh_token": self._credentials.refresh_token,
                "client_id": self._credentials.client_id,
                "client_secret": self._credentials.client_secret}
        status, body, last = None, b"", "no attempt"
        for attempt in range(1, self.max_attempts + 1):
            self.requests += 1
            retry_after = None
            try:
                answer = await self._post(self.token_endpoint, form)
            except NetworkFailure as exc:
                status, body, last = None, b"", f"no answer ({exc})"
            else:
                if answer.status == 200:
                    return self._accept(answer.body)
                if answer.status != 429 and answer.status < 500:
                    raise self._rejected(answer.status, answer.body)
                status, body, last = answer.status, answer.body, f"HTTP {answer.status}"
                retry_after = answer.retry_after
            if attempt < self.max_attempts:
                await self._backoff.wait(attempt, retry_after)
        raise TransientExhausted(
            f"Login with Amazon: token endpoint kept failing ({last}) after "
            f"{self.max_attempts} attempts", operation="lwa", url=self.token_endpoint,
            status=status, body=self._redactor.bytes(body))

    def _accept(self, body: bytes) -> tuple[str, float]:
        data = _json_object(body)
        token, expires_in = data.get("access_token"), data.get("expires_in", 3600)
        if not isinstance(token, str) or not token:
            raise SpapiError("Login with Amazon answered 200 without an access_token",
                             operation="lwa", url=self.token_endpoint, status=200)
        self._redactor.add(token)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            expires_in = 3600
        lifetime = max(0.0, float(expires_in) - EXPIRY_MARGIN)
        return token, self._clock() + lifetime

    def _rejected(self, status: int, body: bytes) -> SpapiError:
        """The token endpoint's refusal as the mistake it names (SPAPI.md: 401
        ``invalid_client`` = wrong client id or secret, 400 ``invalid_grant`` = wrong or
        revoked refresh token)."""
        data = _json_object(body)
        code = data.get("error") if isinstance(data.get("error"), str) else None
        about = data.get("error_description")
        about = self._redactor.text(about[:300]) if isinstance(about, str) else ""
        if code in ("invalid_client", "unauthorized_client") or (code is None and status == 401):
            cls, meaning = InvalidClient, "the app's client id or client secret is wrong"
        elif code == "invalid_grant":
            cls, meaning = InvalidGrant, ("the refresh token is wrong, expired or revoked; "
                                          "authorise the app again in Seller Central")
        else:
            cls, meaning = CredentialsRejected, "the token request was refused"
        detail = f" ({about})" if about else ""
        return cls(f"Login with Amazon: {code or 'HTTP ' + str(status)}: {meaning}{detail}",
                   operation="lwa", url=self.token_endpoint, status=status,
                   body=self._redactor.bytes(body), code=code)


def _json_object(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except (ValueError, TypeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}
