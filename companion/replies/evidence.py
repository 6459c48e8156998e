"""Evidence files a seller attaches to a case: copied into ``CASELOG_HOME/evidence`` under
their sha256 (``evidence/<h[:2]>/<h>``), so the stored path never comes from a file name
and the same file attached twice is stored once.

Every file is bad input until proven otherwise: the size is capped while copying (nothing
larger is ever fully written), the type must be on the allowlist by extension AND by its
first bytes, and the name is only ever a display name, cleaned of directories, control
characters and excess length.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from typing import BinaryIO

import sqlite_utils

from companion.folders import evidence_dir, home
from companion.schema import utcnow

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
MAX_NAME = 120

# extension -> (content type, sniffer family)
ALLOWED = {
    "pdf": ("application/pdf", "pdf"),
    "png": ("image/png", "png"),
    "jpg": ("image/jpeg", "jpeg"),
    "jpeg": ("image/jpeg", "jpeg"),
    "gif": ("image/gif", "gif"),
    "webp": ("image/webp", "webp"),
    "txt": ("text/plain; charset=utf-8", "text"),
    "csv": ("text/csv; charset=utf-8", "text"),
    "doc": ("application/msword", "ole"),
    "xls": ("application/vnd.ms-excel", "ole"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "docx"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


class EvidenceError(ValueError):
    """Refused file; the message says why in words a seller understands."""


def max_bytes() -> int:
    try:
        return int(os.environ.get("CASELOG_EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES))
    except ValueError:
        return DEFAULT_MAX_BYTES


def safe_name(name: str | None) -> str:
    """A display name: last path component, NFC, no control characters, at most
    MAX_NAME characters (the extension kept). Raises for names that are nothing."""
    if name is None:
        raise EvidenceError("the file has no name")
    if "\x00" in name:
        raise EvidenceError("the file name contains a NUL byte")
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    name = name.lstrip(".").strip()
    if not name:
        raise EvidenceError("the file name is empty once folders and dots are removed")
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot else ""
        keep = MAX_NAME - len(ext) - 2
        name = (stem if dot else name)[:keep] + "…" + ("." + ext if ext else "")
    return name


def _extension(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def sniff(head: bytes, path: Path | None = None) -> str | None:
    """The family the first bytes belong to, or None when they match no allowed type."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"PK\x03\x04") and path is not None:
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError):
            return None
        if "[Content_Types].xml" in names:
            if any(n.startswith("word/") for n in names):
                return "docx"
            if any(n.startswith("xl/") for n in names):
                return "xlsx"
        return None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"  # UTF-16 with a byte-order mark ("Unicode text" from Excel)
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text"
        except UnicodeDecodeError as exc:
            # a multi-byte character cut at the end of the sniffed window is still text
            if exc.start >= len(head) - 3:
                return "text"
        # a legacy 8-bit export (Windows-1252, Latin-1): no control bytes but whitespace
        if not any(b < 32 and b not in (9, 10, 12, 13) for b in head):
            return "text"
    return None


def _copy_capped(src: BinaryIO, dst: BinaryIO, limit: int) -> tuple[str, int, bytes]:
    h = hashlib.sha256()
    size = 0
    head = b""
    while True:
        chunk = src.read(1024 * 1024)
        if not chunk:
            break
        if not isinstance(chunk, bytes):
            raise EvidenceError("the upload is not binary data")
        size += len(chunk)
        if size > limit:
            raise EvidenceError(
                f"the file is larger than the {limit // (1024 * 1024) or limit} "
                f"{'MB' if limit >= 1024 * 1024 else 'bytes'} limit")
        if len(head) < 8192:
            head += chunk[: 8192 - len(head)]
        h.update(chunk)
        dst.write(chunk)
    return h.hexdigest(), size, head


def _store(stream: BinaryIO, display: str, ext: str, limit: int) -> tuple[Path, str, int]:
    """Copy the upload (capped) into a temporary file in the evidence folder, check its
    content against its extension, and move it to ``evidence/<h[:2]>/<h>``: (the stored
    file, its sha256, its size). Nothing is left behind when a check fails."""
    root = evidence_dir()
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest, size, head = _copy_capped(stream, out, limit)
        if size == 0:
            raise EvidenceError(f"'{display}' is empty")
        family = sniff(head, tmp)
        if family != ALLOWED[ext][1]:
            found = family or "an unknown or disallowed type"
            raise EvidenceError(
                f"'{display}' is named .{ext} but its content is {found}; "
                "attach the original file")
        final = root / digest[:2] / digest
        final.parent.mkdir(exist_ok=True, mode=0o700)
        if final.exists():
            tmp.unlink()
        else:
            os.replace(tmp, final)
            final.chmod(0o600)
    finally:
        if tmp.exists():
            tmp.unlink()
    return final, digest, size


def checked_name(name: str | None) -> tuple[str, str]:
    """(display name, extension) of a file name on the allowlist; EvidenceError if not."""
    display = safe_name(name)
    ext = _extension(display)
    if ext not in ALLOWED:
        raise EvidenceError(
            f"'{display}': type .{ext or '(none)'} is not allowed; allowed: "
            + ", ".join(sorted(ALLOWED)))
    return display, ext


def _checked_name(db, case_id: str, name: str | None, item_id: int | None) -> tuple[str, str]:
    """(display name, extension) once the name, the case and the item are acceptable."""
    display, ext = checked_name(name)
    if db["cases"].count_where("case_id = ?", [case_id]) == 0:
        raise EvidenceError(f"no case {case_id}")
    if item_id is not None and db["checklist_items"].count_where(
            "id = ? and case_id = ?", [item_id, case_id]) == 0:
        raise EvidenceError(f"no checklist item {item_id} in case {case_id}")
    return display, ext


def store(src: BinaryIO | bytes, name: str | None, limit: int | None = None) -> dict:
    """Check and store one upload under its sha256 without tying it to a case (a case
    being prepared keeps its own rows): the columns an evidence row takes from a file."""
    limit = max_bytes() if limit is None else limit
    display, ext = checked_name(name)
    stream = io.BytesIO(src) if isinstance(src, bytes) else src
    final, digest, size = _store(stream, display, ext, limit)
    return {"name": display, "sha256": digest, "size": size,
            "content_type": ALLOWED[ext][0], "path": str(final.relative_to(home())),
            "added_at": utcnow()}


def attach(db: sqlite_utils.Database, case_id: str, src: BinaryIO | bytes | str | Path,
           name: str | None = None, item_id: int | None = None,
           limit: int | None = None) -> dict:
    """Store a file as evidence for a case (and optionally one checklist item).
    ``src`` is an open binary stream, bytes, or a local path (its name used when ``name``
    is not given). Returns the evidence row."""
    limit = max_bytes() if limit is None else limit
    if isinstance(src, (str, Path)):
        path = Path(src)
        if not path.is_file():
            raise EvidenceError(f"not a file: {path}")
        name = path.name if name is None else name
        display, ext = _checked_name(db, case_id, name, item_id)
        with path.open("rb") as stream:
            final, digest, size = _store(stream, display, ext, limit)
    else:
        display, ext = _checked_name(db, case_id, name, item_id)
        stream = io.BytesIO(src) if isinstance(src, bytes) else src
        final, digest, size = _store(stream, display, ext, limit)
    same = list(db.query(
        "select name from evidence where case_id = ? and sha256 = ? and item_id is ?",
        [case_id, digest, item_id]))
    if same:  # the bytes stay stored for the existing row
        raise EvidenceError(f"this file is already attached as '{same[0]['name']}'")
    row = {"case_id": case_id, "item_id": item_id, "name": display, "sha256": digest,
           "size": size, "content_type": ALLOWED[ext][0],
           "path": str(final.relative_to(home())), "added_at": utcnow()}
    with db.conn:
        row_id = db["evidence"].insert(row).last_pk
    return db["evidence"].get(row_id)


def list_for_case(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    return list(db.query("select * from evidence where case_id = ? order by id", [case_id]))


def get(db: sqlite_utils.Database, case_id: str, evidence_id: int) -> dict:
    rows = list(db.query("select * from evidence where case_id = ? and id = ?",
                         [case_id, evidence_id]))
    if not rows:
        raise EvidenceError(f"no evidence {evidence_id} in case {case_id}")
    return rows[0]


def file_path(row: dict) -> Path:
    """Where the bytes are; refuses any stored path that would leave the evidence folder
    (a hand-edited database must not turn downloads into a file reader)."""
    root = evidence_dir().resolve()
    path = (home() / row["path"]).resolve()
    if not path.is_relative_to(root) or path.name != row["sha256"]:
        raise EvidenceError("evidence path outside the evidence folder")
    return path


def remove(db: sqlite_utils.Database, case_id: str, evidence_id: int) -> dict:
    """Detach a file from a case; the bytes are deleted only when no other evidence row
    (in any case) still uses them."""
    row = get(db, case_id, evidence_id)
    with db.conn:
        db["evidence"].delete(evidence_id)
    forget_bytes(db, row)
    return row


def forget_bytes(db: sqlite_utils.Database, row: dict) -> None:
    """Delete a file's bytes once no evidence row (of any case, or of a case being
    prepared) uses them any more."""
    users = db.execute("select (select count(*) from evidence where sha256 = :h) + "
                       "(select count(*) from prepared_evidence where sha256 = :h)",
                       {"h": row["sha256"]}).fetchone()[0]
    if users == 0:
        try:
            file_path(row).unlink(missing_ok=True)
        except EvidenceError:
            pass
