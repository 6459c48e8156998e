"""The raw answer a capture call returns, before anything is parsed: the exact bytes for
the archive (hashed and kept, so a reparse can rebuild everything) and where and when
they came from. The same fields as the portal's ``scrapers.browser.client.Capture``, plus
Amazon's request id and rate-limit header."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Capture:
    """One raw answer, as ``scrapers.browser.client.Capture`` is for the portal.

    ``kind``: list_cases | get_case | list_contacts | attachment. ``params`` is what was
    asked; ``request_id`` and ``rate_limit`` are Amazon's ``x-amzn-RequestId`` and
    ``x-amzn-RateLimit-Limit`` response headers when given. An attachment's ``url`` is
    its link without the query (a signature valid for 15 minutes: useless to keep).
    """

    kind: str
    url: str
    status: int
    body: bytes
    content_type: str
    fetched_at: str
    case_id: str | None = None
    params: dict = field(default_factory=dict)
    request_id: str | None = None
    rate_limit: str | None = None

    def json(self):
        return json.loads(self.body)


def now_iso() -> str:
    """Now, ISO 8601 UTC with milliseconds and ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
