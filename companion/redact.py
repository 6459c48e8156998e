"""Where secrets leave: everything that reaches a person, a ``--json`` summary, the UI, a
log line or a database row passes through :func:`redact`, which removes cookies, session
tokens, passwords, TOTP and LWA secrets, auth headers and signed URL parts, whatever
library wrote them (Playwright's call logs print request headers, cookies included).

Patterns catch the secrets that announce themselves; the registry catches the rest: a
value this process knows to be secret (a session cookie it loaded, a password it was
given, LWA credentials) is removed wherever it appears, however it is labelled.
"""

from __future__ import annotations

import re
import threading

REDACTED = "[redacted]"
_known: set[str] = set()
_known_lock = threading.Lock()
_SECRET_HEADERS = r"cookie|set-cookie|authorization|proxy-authorization|x-amz-access-token"
_SECRET_NAMES = (r"access_token|refresh_token|client_secret|client_id_secret|password|passwd"
                 r"|totp_secret|mfa_secret|otp|secret|session[-_]token|token")
_PATTERNS = [
    # header lines, as Playwright's call log and HTTP dumps print them
    (re.compile(rf"(?im)^(\s*(?:-\s*)?(?:{_SECRET_HEADERS})\s*:\s*).+$"), rf"\1{REDACTED}"),
    # headers inside dict or JSON reprs
    (re.compile(rf"(?i)(['\"](?:{_SECRET_HEADERS})['\"]\s*:\s*['\"])[^'\"]*"),
     rf"\1{REDACTED}"),
    # cookie pairs anywhere: name=value; (the portal's and Amazon's session cookies)
    (re.compile(r"(?i)\b((?:session-token|session-id|sess-at-\w+|at-\w+|x-main|sst-\w+"
                r"|ubid-\w+|ap-remembered-device)=)[^;\s\"'&]+"), rf"\1{REDACTED}"),
    # key: value / key=value / "key": "value" for secret names
    (re.compile(rf"(?i)([\"']?\b(?:{_SECRET_NAMES})\b[\"']?\s*[:=]\s*[\"']?)"
                r"(?!\[redacted\])[^\"'\s,&;}]+"), rf"\1{REDACTED}"),
    # Login with Amazon tokens (Atza| access, Atzr| refresh)
    (re.compile(r"Atz[ar]\|[\w\-|.=+/%]+"), REDACTED),
    # signed URL parts (attachment download links)
    (re.compile(r"(?i)([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|sig"
                r"|signature|token)=)[^&\s\"']+"), rf"\1{REDACTED}"),
]


def remember_secret(value: str | None) -> None:
    """A value this process knows to be secret (a session cookie it loaded, a password
    it was given, LWA credentials): :func:`redact` removes it wherever it appears."""
    if value and len(value) >= 6:
        with _known_lock:
            _known.add(str(value))


def remember_session(state: dict | None) -> None:
    """Every cookie value of a Playwright storage state is a secret."""
    for cookie in (state or {}).get("cookies", []) or []:
        if isinstance(cookie, dict):
            remember_secret(cookie.get("value"))


def redact(text: str | None) -> str:
    """``text`` with every secret replaced by ``[redacted]``."""
    if not text:
        return text or ""
    text = str(text)
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text
