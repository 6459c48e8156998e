"""Import saved case pages (a browser's "Save page as", HTML) as cases and messages.

Each file is checked before anything is read into caselog: a regular file (a symlink is
followed and the file it names checked the same way; devices, FIFOs and folders are
refused, so nothing can hang or stream forever), under the size cap, read with a bound.
Only bytes that look like a saved Seller Central case page are archived (kind
``import``) and parsed by the same HTML parser the sync uses on rendered pages, through
the same pipeline, and saved with source ``import``. Saved pages carry no contact ids and
times only to the minute, so their messages are keyed by content (``h:`` keys); a later
sync of the same case replaces them by the portal's own records.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from companion.capture import pipeline, runs, store
from companion.capture.archive import Archive, Archived
from companion.errors import describe, strip_case
from companion.queue import derive
from companion.schema import utcnow
from scrapers.errors import ParseError
from scrapers.parse.text import decode_html

MAX_BYTES = 50 * 1024 * 1024  # a real saved case page with a 200-message thread is ~3 MB
HOW_TO_SAVE = ("open the case in Seller Central (Case Log, then the case), wait until the "
               "whole thread shows, and use your browser's \"Save page as\" (Web page, "
               "complete or HTML only)")
PAGE_MARKERS = ("view-case", "case-summary", "Case Log", "Fallprotokoll", "caseID=")


class ImportRefused(Exception):
    """A file that is not imported; the message says why and what to do."""


@dataclass
class ImportResult:
    path: str
    case_id: str | None = None
    messages: int = 0
    new_case: bool = False
    error: str | None = None


def read_page(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a saved page, or ``ImportRefused``; never blocks on a FIFO or reads
    a device, and never reads past ``max_bytes``."""
    name = path.name or str(path)
    try:
        target = path.resolve(strict=True)
        info = os.stat(target)
    except FileNotFoundError:
        raise ImportRefused(f"{name}: there is no such file") from None
    except (OSError, RuntimeError) as exc:  # a symlink loop, no permission
        raise ImportRefused(f"{name}: cannot be opened ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ImportRefused(f"{name}: is a folder; give the saved .html file itself")
    if not stat.S_ISREG(info.st_mode):
        raise ImportRefused(f"{name}: is not a regular file (a device, pipe or socket)")
    if info.st_size > max_bytes:
        raise ImportRefused(f"{name}: is {info.st_size // (1024 * 1024)} MB, over the "
                            f"{max_bytes // (1024 * 1024)} MB import limit (--max-mb raises "
                            "it); a saved case page is a few MB at most")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        raise ImportRefused(f"{name}: cannot be opened ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # swapped since the check
            raise ImportRefused(f"{name}: is not a regular file")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImportRefused(f"{name}: is over the {max_bytes // (1024 * 1024)} MB limit")
    return data


def looks_like_case_page(data: bytes) -> bool:
    text = decode_html(data[:2_000_000])
    return "<" in text[:4096] and any(m in text for m in PAGE_MARKERS)


def _not_a_page(name: str) -> str:
    return f"{name}: this is not a saved Seller Central case page. To save one, {HOW_TO_SAVE}."


def import_pages(db: sqlite_utils.Database, paths: list[str | Path],
                 archive: Archive | None = None, timezone: str | None = None,
                 max_bytes: int = MAX_BYTES) -> list[ImportResult]:
    archive = archive or Archive()
    runs.mark_interrupted(db)
    sync_id = runs.start_sync(db, None, "import")
    runs.update_sync(db, sync_id, total=len(paths))
    results = [_import_one(db, Path(p), archive, sync_id, timezone, max_bytes) for p in paths]
    archive.close()
    derive.refresh(db, [r.case_id for r in results if r.case_id])
    failed = [r.error for r in results if r.error]
    runs.finish_sync(db, sync_id, "partial" if failed else "ok",
                     {"imported": [r.case_id for r in results if r.case_id],
                      "failures": failed})
    return results


def _import_one(db, path: Path, archive: Archive, sync_id: int, timezone,
                max_bytes: int) -> ImportResult:
    result = ImportResult(str(path))
    try:
        data = read_page(path, max_bytes)
    except ImportRefused as exc:
        result.error = str(exc)
        return result
    if not looks_like_case_page(data):
        result.error = _not_a_page(path.name)
        return result
    sha, rel = archive.put_bytes(data, "html")
    cap = Archived(kind="import", url=path.resolve().as_uri(), case_id=None,
                   fetched_at=utcnow(), sha256=sha, path=rel, content_type="text/html",
                   body=data)
    try:
        unit = pipeline.case_unit(None, [cap], None, timezone=timezone)
        if not unit.case_id:
            raise ParseError("the page names no case id (no ID: line, no caseID= link)")
    except Exception as exc:
        words = describe(exc) if not isinstance(exc, ParseError) else strip_case(exc)
        result.error = (f"{path.name}: looks like a Seller Central page, but caselog could "
                        f"not read a case from it ({words}). It is kept for `caselog "
                        f"reparse`; if it is a case page, {HOW_TO_SAVE}.")
        cap.parse_status, cap.parse_error = "error", result.error
        archive.log([cap], sync_id)
        store.record_failure(db, sync_id, None, result.error, [cap])
        return result
    cap.case_id = unit.case_id
    unit.sync_id = sync_id
    unit.captures = [cap]
    archive.log([cap], sync_id)
    out = store.record(db, unit)
    result.case_id, result.new_case = unit.case_id, out.new_case
    result.messages = len(unit.parsed.get("messages") or [])
    return result
