"""The official source: Amazon's Selling Partner API for Support (SPAPI.md), no browser.

Listing: listCases, 50 a page, through every ``nextToken`` (empty pages included); it
names every case of the account, also those the lobby no longer shows. A case is opened
when it is new to this source or its ``lastUpdatedDate`` (its change signal: case
details and new contacts) moved. A case: listContacts newest first, stopping at the first
page that holds a message already stored (from either source: ids may differ, so by
identity, see ``companion.capture.merge``) once this source has read the case whole.
Attachments come by name; their bytes (``--download-attachments``) are fetched at once,
because the links expire 15 minutes after the answer that gave them.

The client (``scrapers.spapi.SpapiClient``) paces every operation to the usage plan
(0.1 requests a second, burst 10, by default) from the first call, so a sync gets almost
no 429s; before a long run the sync says how long the plan makes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from companion import credentials
from companion.capture.archive import Archive, Archived
from companion.capture.parsing import parse
from companion.capture.pipeline import Listing, StoredCase, listing
from companion.capture.store import source_state
from scrapers.errors import NoSavedCredentials, PortalError
from scrapers.spapi import LIST_CONTACTS, LwaCredentials, SpapiClient

PAGE_SIZE = 50
MAX_PAGES = 10_000
BROWSER_CALLS_PER_SECOND = 20  # the browser source's pace, for the comparison only


class SpapiSource:
    name = "spapi"
    transport = None
    downloads_by_id = False  # attachments come by (expiring) link, during the capture

    def __init__(self, opts, archive: Archive, client=None):
        self.opts, self.archive = opts, archive
        self.origin = opts.portal
        self.login_hint = f"caselog login --spapi {opts.portal}"
        self.note: str | None = None
        self.listing: Listing | None = None
        self.listing_captures: list[Archived] = []
        self.client = client
        self._own_client = client is None

    async def __aenter__(self) -> SpapiSource:
        if self.client is None:
            saved = credentials.load(self.origin, getattr(self.opts, "account", None))
            if saved is None:
                raise NoSavedCredentials(f"no Support API credentials for {self.origin}",
                                         url=self.origin)
            creds = LwaCredentials(saved.client_id, saved.client_secret, saved.refresh_token)
            self.client = SpapiClient(creds, endpoint=saved.endpoint,
                                      token_endpoint=saved.token_endpoint,
                                      **getattr(self.opts, "spapi_plan", None) or {})
            await self.client.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        if self._own_client and self.client is not None:
            await self.client.__aexit__(*exc)

    @property
    def stats(self) -> dict:
        stats = dict(getattr(self.client, "stats", {}) or {})
        per = stats.get("operations") or {}
        for op, kind in (("listCases", "spapi_cases"), ("listContacts", "spapi_contacts")):
            if isinstance(per.get(op), dict):
                stats[kind] = per[op].get("ok", 0)
        return stats

    @staticmethod
    def alive() -> bool:
        return True

    @staticmethod
    def stored_state(db) -> dict[str, dict]:
        return source_state(db, "spapi")

    @staticmethod
    def decide(rows: list[dict], stored: dict[str, dict], opts) -> list[tuple[dict, str]]:
        """New to this source, changed (``lastUpdatedDate`` moved, or the status), not read
        whole last time, or everything with ``--full``."""
        picks = []
        for lc in rows:
            s = stored.get(lc["case_id"])
            if s is None:
                why = "new"
            elif opts.full:
                why = "full"
            elif s["changed_at"] != lc.get("last_updated_at") or s["status"] != lc["status"]:
                why = "changed"
            elif not s["fully_captured"] or s["last_error"]:
                why = "incomplete"
            else:
                continue
            picks.append((lc, why))
        return picks

    def estimate(self, cases: int) -> str:
        """How long the usage plan makes a run that opens ``cases`` cases."""
        text = self.client.describe_estimate({LIST_CONTACTS: cases})
        seconds = cases / BROWSER_CALLS_PER_SECOND + 10
        browser = "a minute" if seconds < 90 else f"{round(seconds / 60)} minutes"
        return f"{text}; the browser source does this in about {browser}"

    def _put(self, capture) -> Archived:
        return self.archive.put(capture)

    # -- listing ---------------------------------------------------------------------------

    async def list_cases(self, stored: dict[str, dict]) -> AsyncIterator[list[dict]]:
        token = None
        for _ in range(MAX_PAGES):
            cap = self._put(await self.client.list_cases(next_token=token,
                                                         max_results=PAGE_SIZE))
            self.listing_captures.append(cap)
            rows, token = parse(cap)
            if rows:
                yield rows
            if token is None:
                break
        self.listing = listing(self.listing_captures)

    # -- one case --------------------------------------------------------------------------

    async def capture(self, listed: dict, stored: StoredCase | None,
                      captures: list[Archived]) -> None:
        cid = listed["case_id"]
        allow_stop = bool(not self.opts.full and stored and stored.fully_captured)
        token = None
        for _ in range(MAX_PAGES):
            cap = self._put(await self.client.list_contacts(cid, next_token=token,
                                                            max_results=PAGE_SIZE))
            captures.append(cap)
            messages, token = parse(cap)
            if self.opts.download_attachments:
                await self._downloads(cid, messages, captures)
            if token is None or (allow_stop and any(stored.knows(m) for m in messages)):
                break

    async def _downloads(self, cid: str, messages: list[dict],
                         captures: list[Archived]) -> None:
        for m in messages:
            for i, a in enumerate(m.get("attachments") or []):
                if not a.get("download_url"):
                    continue  # the API may leave the link out: the name is what we have
                try:
                    got = await self.client.download(a["download_url"],
                                                     self.opts.max_attachment_bytes,
                                                     case_id=cid)
                except PortalError:
                    continue  # too large, expired or failing: the name is what matters
                cap = self._put(got)
                cap.params = {"message_key": m["message_key"], "index": i, "name": a["name"]}
                cap.parse_status = "ok"
                captures.append(cap)

    async def download(self, case_id: str, attachment_id: str, max_bytes: int) -> Archived:
        raise PortalError("the Support API gives attachments by link only", case_id=case_id)
