"""Sources of cases: where captures come from. A source lists cases, captures one case
whole, downloads an attachment, and says how it went; everything above it (deciding what
to open, building case units, saving, the run's state) is the same for every source.

- ``portal``: the seller's signed-in Seller Central session, through Chromium
  (``companion.capture.sources.portal``);
- ``spapi``: Amazon's Selling Partner API for Support, no browser
  (``companion.capture.sources.spapi``).

A source is an async context manager with these members::

    name: str                     # "portal" | "spapi", as stored in case_sources / syncs
    origin: str                   # what it talks to (the portal URL, the API endpoint)
    login_hint: str               # the command that signs in again for it
    note: str | None              # something the seller should know about this run
    downloads_by_id: bool         # can ``download`` fetch an attachment by its id
    def stored_state(db) -> dict  # what decisions compare against, by case id
    def decide(rows, stored, opts) -> [(row, why)]   # which listed cases to open
    stats: dict                   # requests by kind, retries, 429s, ... (for the summary)
    async def list_cases(expected: int) -> AsyncIterator[list[dict]]   # ListedCase rows
    listing: Listing              # after list_cases: every page, complete or not
    async def capture(listed, stored: StoredCase | None, captures: list) -> None
    async def download(case_id, attachment_id, max_bytes) -> Archived
    def alive() -> bool           # False once the source can no longer work at all

``capture`` appends every archived capture to ``captures`` as it arrives, so a failure
part-way still has them to record. Errors are ``scrapers.errors``; the situations in
``scrapers.errors.STOPS`` end a sync, anything else fails one case.
"""

from __future__ import annotations

from companion.capture.sources.portal import PortalSource
from companion.capture.sources.spapi import SpapiSource


def open_source(opts, archive):
    """The source a sync's options ask for (not yet entered)."""
    if getattr(opts, "source", "portal") == "spapi":
        return SpapiSource(opts, archive)
    return PortalSource(opts, archive)
