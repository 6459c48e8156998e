"""The raw capture archive: every byte the portal sent, kept under its sha256 before any
parser looks at it, so that a parser bug or an unknown layout never loses data and
``caselog reparse`` can rebuild the database from captures alone.

Files live under ``CASELOG_HOME/captures/ab/cdef….json|html|bin`` (content-addressed, so a
page seen twice is stored once) and are written atomically: a temporary file in the same
folder, then ``os.replace``, so a killed process leaves either the whole file or none.
The ``captures`` table (one row per capture: kind, url, case, time, sha256, parse status)
is written by :mod:`companion.store` in the same transaction as the records parsed from it;
the same rows are appended to ``captures/index.jsonl`` so that even a lost database can be
rebuilt from this folder alone (``caselog reparse`` on an empty database).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from companion.folders import archive_dir, open_private, private_dir
from companion.procs import pid_alive

INDEX = "index.jsonl"


@dataclass
class Archived:
    """A capture once its bytes are safely on disk; what the captures row is made of."""

    kind: str                 # search | lobby | viewcase | message | html | attachment |
    url: str                  # import | error (see CAPTURE_KINDS)
    case_id: str | None
    fetched_at: str
    sha256: str
    path: str                 # relative to the archive root
    content_type: str | None
    status: int | None = None
    body: bytes = field(default=b"", repr=False)
    parse_status: str = "pending"
    parse_error: str | None = None
    id: int | None = None     # the captures row, once written
    params: dict = field(default_factory=dict)  # what was asked (page, filters, token)
    # What the parser made of it (``companion.capture.parsing``), so a capture read while
    # fetching is not read again when its case is put together. Never stored.
    parsed: object = field(default=None, repr=False, compare=False)
    failure: BaseException | None = field(default=None, repr=False, compare=False)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def row(self, sync_id: int | None) -> dict:
        return {
            "sync_id": sync_id, "case_id": self.case_id, "kind": self.kind, "url": self.url,
            "fetched_at": self.fetched_at, "sha256": self.sha256, "path": self.path,
            "content_type": self.content_type, "parse_status": self.parse_status,
            "parse_error": self.parse_error,
            "params": json.dumps(self.params, ensure_ascii=False) if self.params else None,
        }


# The archive's vocabulary of capture kinds: what the client returns (``Capture.kind``)
# plus what caselog makes itself (an imported file, the answer of a failed call).
CAPTURE_KINDS = ("search", "lobby", "viewcase", "message", "html", "attachment", "import",
                 "error", "spapi_cases", "spapi_case", "spapi_contacts")
LISTING_KINDS = ("search", "lobby", "spapi_cases")
# The Support API client's names for its answers, in the archive's vocabulary.
SPAPI_KINDS = {"list_cases": "spapi_cases", "get_case": "spapi_case",
               "list_contacts": "spapi_contacts", "attachment": "attachment"}


def _extension(content_type: str | None, kind: str) -> str:
    ct = (content_type or "").lower()
    if "json" in ct:
        return "json"
    if "html" in ct or kind in ("html", "import"):
        return "html"
    if kind in ("search", "viewcase", "message") or kind.startswith("spapi_"):
        return "json"
    return "bin"


class Archive:
    """Content-addressed file store rooted at ``root`` (default: CASELOG_HOME/captures)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = private_dir(Path(root)) if root else archive_dir()
        self._dirs: set[str] = set()
        self._index = None

    def put_bytes(self, data: bytes, ext: str) -> tuple[str, str]:
        """Store ``data``; returns (sha256, relative path). Idempotent."""
        sha = hashlib.sha256(data).hexdigest()
        rel = f"{sha[:2]}/{sha[2:]}.{ext}"
        path = self.root / rel
        if not path.exists():
            if sha[:2] not in self._dirs:
                private_dir(path.parent)
                self._dirs.add(sha[:2])
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(data)}.tmp")
            with open_private(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        return sha, rel

    def put(self, capture, kind: str | None = None) -> Archived:
        """Archive a scraper ``Capture`` (kind, url, status, body, content_type, fetched_at,
        case_id) and return its :class:`Archived` form."""
        body = capture.body
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        kind = kind or SPAPI_KINDS.get(capture.kind, capture.kind)
        ext = _extension(getattr(capture, "content_type", None), kind)
        sha, rel = self.put_bytes(data, ext)
        fetched = capture.fetched_at
        if not isinstance(fetched, str):  # a datetime or an epoch from the client
            fetched = _iso(fetched)
        return Archived(
            kind=kind, url=capture.url, case_id=getattr(capture, "case_id", None),
            fetched_at=fetched, sha256=sha, path=rel,
            content_type=getattr(capture, "content_type", None),
            status=getattr(capture, "status", None), body=data,
            params=dict(getattr(capture, "params", None) or {}),
        )

    def sweep(self) -> int:
        """Delete temporary files a killed writer left behind (``.name.<pid>.<n>.tmp``),
        unless their writer is still alive. Returns how many were removed."""
        removed = 0
        for tmp in self.root.glob("*/.*.tmp"):
            parts = tmp.name.rsplit(".", 3)
            try:
                pid = int(parts[1])
            except (IndexError, ValueError):
                pid = None
            if pid is not None and pid != os.getpid() and pid_alive(pid):
                continue
            try:
                tmp.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    # -- the index: what each file is, so the archive alone can rebuild a lost database --

    def log(self, captures: list[Archived], sync_id: int | None) -> None:
        """Append the captures rows to ``index.jsonl`` (after their transaction). A line
        cut short by a kill is skipped when read back."""
        if not captures:
            return
        lines = "".join(json.dumps({**c.row(sync_id), "status": c.status},
                                   ensure_ascii=False) + "\n" for c in captures)
        if self._index is None:
            self._index = open_private(self.root / INDEX, "a")
        self._index.write(lines)
        self._index.flush()  # in the OS's hands: survives a kill of this process

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    def read_log(self) -> list[dict]:
        rows = []
        try:
            fh = open(self.root / INDEX, encoding="utf-8")
        except FileNotFoundError:
            return rows
        with fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and row.get("path") and row.get("kind"):
                    rows.append(row)
        return rows

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def load(self, row: dict) -> Archived:
        """An :class:`Archived` from a captures row, its bytes read back from disk."""
        params = row.get("params")
        if isinstance(params, str):
            try:
                params = json.loads(params)
            except ValueError:
                params = None
        return Archived(
            kind=row["kind"], url=row["url"], case_id=row["case_id"],
            fetched_at=row["fetched_at"], sha256=row["sha256"], path=row["path"],
            content_type=row["content_type"], body=self.read(row["path"]),
            parse_status=row.get("parse_status") or "pending",
            parse_error=row.get("parse_error"), id=row.get("id"),
            params=params if isinstance(params, dict) else {},
        )


def _iso(value) -> str:
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
