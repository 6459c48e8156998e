"""Rebuild every record from the capture archive alone.

The sync writes each case's captures in the same transaction as its records, so the
``captures`` table holds, in id order, one contiguous group per unit of work: a listing
(all SearchForCases pages of one sync), a case (its ViewCase pages, full messages or its
rendered page), an import, an attachment download. Replaying those groups in order through
the same parsers and the same :func:`companion.store.save_case` reproduces the database:
cases, messages, attachments and status history (times come from the captures, not the
clock). Groups the sync could not apply (a failure) are applied now if every capture in
them parses and the thread is whole; that is how a parser fix recovers a failed case.
The sync's own log (``syncs``, ``changes``) is history and is kept as is.
"""

from __future__ import annotations

import time
from itertools import groupby

import sqlite_utils

from companion.capture import store
from companion.capture.archive import Archive, Archived
from companion.capture.parsing import (
    PARSE_ERRORS,
    mark,
    parse_listing,
    parse_message,
    parse_page,
    parse_viewcase,
    whole_thread,
)

DERIVED_TABLES = ("attachments", "messages", "status_history", "cases")


def _groups(rows: list[dict]):
    """Consecutive captures of one unit of work."""
    def key(r):
        if r["kind"] in ("search", "lobby"):  # lobby: listed from the rendered lobby
            return ("search", r["sync_id"], None)
        if r["kind"] == "attachment":
            return ("attachment", r["sync_id"], r["id"])
        if r["kind"] == "import":
            return ("import", r["sync_id"], r["id"])
        return ("case", r["sync_id"], r["case_id"])
    for k, items in groupby(rows, key=key):
        yield k[0], list(items)


def _read_listing(caps: list[Archived]) -> tuple[dict[str, dict], bool] | None:
    """The cases one sync listed, and whether the list was complete; None if unreadable."""
    seen: dict[str, dict] = {}
    totals = set()
    lobby = any(c.kind == "lobby" for c in caps)
    for cap in caps:
        try:
            rows, total = parse_listing(cap)
        except PARSE_ERRORS as exc:
            mark(cap, exc)
            if lobby and cap.kind == "search":  # the sync listed from the lobby instead
                continue
            return None
        mark(cap, None)
        totals.add(total)
        for r in rows:
            seen.setdefault(r["case_id"], r)
    return seen, len(totals) == 1 and len(seen) >= next(iter(totals))


def _replay_listing(db, caps: list[Archived], sync_id) -> None:
    read = _read_listing(caps)
    if read is not None:
        seen, complete = read
        store.save_listing(db, sync_id, list(seen.values()), caps, complete,
                           caps[0].fetched_at, replay=True)


def _case_unit(db, caps: list[Archived], listed: dict | None, timezone) -> store.CaseUnit:
    """The CaseUnit the sync built from these captures, rebuilt (raises on parse errors)."""
    from scrapers.parse.records import merge_pages

    cid = caps[0].case_id
    html = [c for c in caps if c.kind in ("html", "import")]
    if html:
        parsed = parse_page(html[-1], timezone)
        mark(html[-1], None)
        cid = cid or parsed["case_id"]
        source = "import" if html[-1].kind == "import" else "html"
        return store.CaseUnit(case_id=cid, parsed=parsed, captures=caps, listed=listed,
                              complete=whole_thread(parsed), source=source,
                              observed_at=caps[0].fetched_at)
    pages = []
    for cap in caps:
        if cap.kind == "viewcase":
            pages.append(parse_viewcase(cap))
            mark(cap, None)
    if not pages:
        raise ValueError(f"case {cid}: no ViewCase capture in this group")
    full_texts = {}
    for cap in caps:
        if cap.kind == "message":
            full = parse_message(cap)
            mark(cap, None)
            full_texts[full["contact_id"]] = (full["html"], full["text"])
    parsed = merge_pages(pages)
    complete = not pages[-1].get("next_token")
    if not complete:
        # The sync stopped early on a page holding a message it already had.
        row = next(db.query("select fully_captured from cases where case_id = ?", [cid]), None)
        known = store.message_state(db, cid) if row else {}
        complete = bool(row and row["fully_captured"]
                        and any(m["message_key"] in known for m in pages[-1]["messages"]))
    keys = {m["contact_id"]: m["message_key"] for m in parsed["messages"] if m["contact_id"]}
    return store.CaseUnit(case_id=cid, parsed=parsed, captures=caps, listed=listed,
                          full_texts={keys.get(k, k): v for k, v in full_texts.items()},
                          complete=complete, source="json", observed_at=caps[0].fetched_at)


def reparse(db: sqlite_utils.Database, archive: Archive | None = None,
            timezone: str | None = None) -> dict:
    """Rebuild cases, messages, attachments and status history from the captures.
    All in one transaction: a reparse that fails or is killed changes nothing."""
    archive = archive or Archive()
    started = time.monotonic()
    stats = {"captures": 0, "cases": 0, "skipped": 0, "errors": []}
    rows = list(db.query("select * from captures order by id"))
    if not rows:
        # A new (or lost) database: the archive's own index says what every file is.
        logged = archive.read_log()
        if logged:
            columns = ("sync_id", "case_id", "kind", "url", "fetched_at", "sha256", "path",
                       "content_type", "parse_status", "parse_error")
            with db.atomic():
                db["captures"].insert_all({c: r.get(c) for c in columns} for r in logged)
            rows = list(db.query("select * from captures order by id"))
            stats["from_index"] = True
    stats["captures"] = len(rows)
    # The sync saves a listing once all its pages are in, after the cases it opened
    # early: read every listing first so each case finds what its sync listed.
    listings: dict = {}
    groups = list(_groups(rows))
    for kind, group in groups:
        if kind == "search":
            try:
                read = _read_listing([archive.load(r) for r in group])
            except OSError:
                continue
            if read is not None:
                listings[group[0]["sync_id"]] = read[0]
    portals = {r["id"]: r["portal"] for r in db.query("select id, portal from syncs")}
    with db.atomic():
        for table in DERIVED_TABLES:
            db.execute(f"delete from [{table}]")
        for kind, group in groups:
            try:
                caps = [archive.load(r) for r in group]
            except OSError as exc:  # a capture file deleted by hand: say so, go on
                stats["skipped"] += 1
                stats["errors"].append(f"case {group[0]['case_id']}: capture file missing "
                                       f"({exc.filename})")
                continue
            originally_ok = all(r["parse_status"] == "ok" for r in group)
            sync_id = group[0]["sync_id"]
            if kind == "search":
                _replay_listing(db, caps, sync_id)
                continue
            if kind == "attachment":
                cap = caps[0]
                aid = _attachment_id(cap.url)
                if aid:
                    db.execute("update attachments set local_path = ?, sha256 = ? "
                               "where case_id = ? and attachment_id = ?",
                               ["captures/" + cap.path, cap.sha256, cap.case_id, aid])
                continue
            listed = listings.get(sync_id, {}).get(group[0]["case_id"])
            useful = [c for c in caps if c.kind != "error"]
            if not useful:  # only the portal's error answer: nothing to rebuild from
                stats["skipped"] += 1
                continue
            try:
                unit = _case_unit(db, useful, listed, timezone)
            except PARSE_ERRORS as exc:
                for cap in caps:
                    if cap.parse_status == "pending":
                        mark(cap, exc)
                store._insert_captures(db, sync_id, caps, replay=True)
                stats["skipped"] += 1
                stats["errors"].append(str(exc))
                continue
            if not originally_ok and not unit.complete:
                stats["skipped"] += 1
                continue
            unit.sync_id = sync_id
            unit.portal = portals.get(sync_id)
            store.save_case(db, unit, replay=True)
            stats["cases"] += 1
    stats["seconds"] = round(time.monotonic() - started, 3)
    stats["cases_stored"] = db.execute("select count(*) from cases").fetchone()[0]
    return stats


def _attachment_id(url: str) -> str | None:
    from urllib.parse import parse_qs, urlsplit

    values = parse_qs(urlsplit(url).query).get("attachmentId")
    return values[0] if values else None
