"""Sources of cases: where captures come from. A source lists cases, captures one case
whole, downloads an attachment, and says how it went; everything above it (deciding what
to open, building case units, saving, the run's state) is the same for every source.

- ``portal``: the seller's signed-in Seller Central session, through Chromium
  (``companion.capture.sources.portal``).

A source is an async context manager with these members::

    name: str                     # "portal", as stored in cases.source / syncs
    origin: str                   # what it talks to (the portal URL)
    note: str | None              # something the seller should know about this run
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


def open_source(opts, archive):
    """The source a sync's options ask for (not yet entered)."""
    from companion.capture.sources.portal import PortalSource

    return PortalSource(opts, archive)
