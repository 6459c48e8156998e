"""Rebuild every record from the capture archive alone.

A sync writes each case's captures in the same transaction as its records, so the
``captures`` table holds, in id order, one contiguous group per unit of work: a listing
(all listing pages of one sync), a case (its ViewCase pages, full messages or rendered
page), an import, an attachment download. Replaying those groups in order through the
same ``pipeline`` and ``store`` functions the sync used reproduces the database: cases,
messages, attachments and status history (times come from the captures, not the clock).
Groups the sync could not apply (a failure) are applied now if every capture in them
parses and the thread is whole; that is how a parser fix recovers a failed case. The
runs' own log (``syncs``, ``changes``) is history and is kept as is.
"""

from __future__ import annotations

import time
from itertools import groupby
from urllib.parse import parse_qs, urlsplit

import sqlite_utils

from companion.capture import pipeline, store
from companion.capture.archive import LISTING_KINDS, Archive, Archived
from companion.errors import describe
from companion.queue import derive
from companion.schema import search
from scrapers.errors import CaptureError

DERIVED_TABLES = ("attachments", "messages", "status_history", "case_sources",
                  "appointments", "cases")


def _groups(rows: list[dict]):
    """Consecutive captures of one unit of work."""
    def key(r):
        if r["kind"] in LISTING_KINDS:
            return ("listing", r["sync_id"], None)
        if r["kind"] in ("attachment", "import"):
            return (r["kind"], r["sync_id"], r["id"])
        return ("case", r["sync_id"], r["case_id"])
    for k, items in groupby(rows, key=key):
        yield k[0], list(items)


def _rows(db: sqlite_utils.Database, archive: Archive, stats: dict) -> list[dict]:
    rows = list(db.query("select * from captures order by id"))
    if rows:
        return rows
    # A new (or lost) database: the archive's own index says what every file is.
    logged = archive.read_log()
    if logged:
        columns = ("sync_id", "case_id", "kind", "url", "fetched_at", "sha256", "path",
                   "content_type", "parse_status", "parse_error", "params")
        with db.atomic():
            db["captures"].insert_all({c: r.get(c) for c in columns} for r in logged)
        stats["from_index"] = True
    return list(db.query("select * from captures order by id"))


def _listing(caps: list[Archived], timezone) -> pipeline.Listing | None:
    try:
        return pipeline.listing(caps, timezone)
    except CaptureError:
        return None


def reparse(db: sqlite_utils.Database, archive: Archive | None = None,
            timezone: str | None = None) -> dict:
    """Rebuild cases, messages, attachments and status history from the captures.
    All in one transaction: a reparse that fails or is killed changes nothing."""
    archive = archive or Archive()
    started = time.monotonic()
    stats = {"captures": 0, "cases": 0, "skipped": 0, "errors": []}
    rows = _rows(db, archive, stats)
    stats["captures"] = len(rows)
    groups = list(_groups(rows))
    # A sync saves its listing once all pages are in, after the cases it opened early:
    # read every listing first so each case finds what its sync listed.
    listings: dict = {}
    for kind, group in groups:
        if kind == "listing":
            try:
                found = _listing([archive.load(r) for r in group], timezone)
            except OSError:
                continue
            if found is not None:
                listings[group[0]["sync_id"]] = found
    portals = {r["id"]: r["portal"] for r in db.query("select id, portal from syncs")}
    with db.atomic(), search.deferred(db):
        for table in DERIVED_TABLES:
            db.execute(f"delete from [{table}]")
        for kind, group in groups:
            _replay(db, archive, kind, group, listings, portals, timezone, stats)
    derive.refresh(db)
    stats["seconds"] = round(time.monotonic() - started, 3)
    stats["cases_stored"] = db.execute("select count(*) from cases").fetchone()[0]
    return stats


def _replay(db, archive, kind, group, listings, portals, timezone, stats) -> None:
    try:
        caps = [archive.load(r) for r in group]
    except OSError as exc:  # a capture file deleted by hand: say so, go on
        stats["skipped"] += 1
        stats["errors"].append(f"case {group[0]['case_id']}: capture file missing "
                               f"({exc.filename})")
        return
    sync_id = group[0]["sync_id"]
    if kind == "listing":
        found = listings.get(sync_id)
        if found is not None:
            found = pipeline.Listing(found.rows, caps, found.complete, found.day_dates)
            store.record_listing(db, sync_id, found, replay=True)
        return
    if kind == "attachment":
        _replay_attachment(db, caps[0])
        return
    if not any(c.kind != "error" for c in caps):
        stats["skipped"] += 1  # only the portal's error answer: nothing to rebuild from
        return
    case_id = group[0]["case_id"]
    listed = listings[sync_id].rows.get(case_id) if sync_id in listings else None
    source = "spapi" if any(c.kind.startswith("spapi_") for c in caps) else "portal"
    try:
        unit = pipeline.case_unit(case_id, caps, store.stored_case(db, case_id, source)
                                  if case_id else None, listed, timezone)
    except Exception as exc:  # the capture still cannot be read: keep it as it was
        store.record_captures(db, sync_id, caps, replay=True)
        stats["skipped"] += 1
        stats["errors"].append(describe(exc, case_id=case_id))
        return
    if not all(r["parse_status"] == "ok" for r in group) and not unit.complete:
        stats["skipped"] += 1
        return
    unit.sync_id, unit.portal = sync_id, portals.get(sync_id)
    store.record(db, unit, replay=True)
    stats["cases"] += 1


def _replay_attachment(db, cap: Archived) -> None:
    values = parse_qs(urlsplit(cap.url).query).get("attachmentId")
    if values:
        db.execute("update attachments set local_path = ?, sha256 = ? "
                   "where case_id = ? and attachment_id = ?",
                   ["captures/" + cap.path, cap.sha256, cap.case_id, values[0]])
