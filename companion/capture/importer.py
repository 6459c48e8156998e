"""Import saved case pages (a browser's "Save page as", HTML) as cases and messages.

The file is archived like any capture (kind ``import``), parsed by the same HTML parser
the sync uses on rendered pages, and saved with source ``import``. Saved pages carry no
contact ids and times only to the minute, so their messages are keyed by content
(``h:`` keys); a later sync of the same case replaces them by the portal's own records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from companion.capture import store
from companion.capture.archive import Archive, Archived
from companion.capture.parsing import PARSE_ERRORS, mark, parse_page, whole_thread
from companion.schema import utcnow


@dataclass
class ImportResult:
    path: str
    case_id: str | None = None
    messages: int = 0
    new_case: bool = False
    error: str | None = None


def import_pages(db: sqlite_utils.Database, paths: list[str | Path],
                 archive: Archive | None = None, timezone: str | None = None) -> list[ImportResult]:
    archive = archive or Archive()
    store.mark_interrupted(db)
    sync_id = store.start_sync(db, None, "import")
    store.update_sync(db, sync_id, total=len(paths))
    results = []
    for path in paths:
        path = Path(path)
        result = ImportResult(str(path))
        results.append(result)
        data = path.read_bytes()
        sha, rel = archive.put_bytes(data, "html")
        cap = Archived(kind="import", url=path.resolve().as_uri(), case_id=None,
                       fetched_at=utcnow(), sha256=sha, path=rel,
                       content_type="text/html", body=data)
        try:
            parsed = parse_page(cap, timezone)
        except PARSE_ERRORS as exc:
            mark(cap, exc)
            result.error = f"{path.name}: {exc}"
            archive.log([cap], sync_id)
            store.record_failure(db, sync_id, None, result.error, [cap])
            continue
        mark(cap, None)
        cap.case_id = parsed.get("case_id")
        if not cap.case_id:
            result.error = f"{path.name}: the page names no case id"
            cap.parse_status, cap.parse_error = "error", result.error
            archive.log([cap], sync_id)
            store.record_failure(db, sync_id, None, result.error, [cap])
            continue
        unit = store.CaseUnit(case_id=cap.case_id, parsed=parsed, captures=[cap],
                              sync_id=sync_id, complete=whole_thread(parsed),
                              source="import", observed_at=cap.fetched_at)
        archive.log([cap], sync_id)
        out = store.save_case(db, unit)
        result.case_id, result.new_case = cap.case_id, out.new_case
        result.messages = len(parsed.get("messages") or [])
    archive.close()
    failed = sum(1 for r in results if r.error)
    store.finish_sync(db, sync_id, "partial" if failed else "ok",
                      {"imported": [r.case_id for r in results if r.case_id],
                       "failures": [r.error for r in results if r.error]})
    return results
