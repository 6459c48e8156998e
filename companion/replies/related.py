"""Related cases: first the other end of a transfer (the case a transferred case
continues in, labelled so, or the one a continuation continues), then other cases about
the same order, ASIN or FBA shipment, or with a similar subject or opening message, so a
seller can cite an earlier case instead of opening a duplicate.

Identifiers are found with their documented shapes and looked up through the full-text
indexes (an order id ``113-1234567-7654321`` is the FTS phrase ``"113 1234567 7654321"``),
then confirmed against the text so that a token match alone never makes a relation.
"""

from __future__ import annotations

import re

import sqlite_utils

PATTERNS = {
    "order": re.compile(r"(?<![\d-])\d{3}-\d{7}-\d{7}(?![\d-])"),
    "asin": re.compile(r"\bB0[0-9A-Z]{8}\b"),
    "shipment": re.compile(r"\bFBA[0-9A-Z]{6,}\b"),
}
LABELS = {"order": "same order", "asin": "same ASIN", "shipment": "same shipment",
          "text": "similar subject", "message": "similar first message",
          "continued_in": "continues this case (transferred)",
          "continues": "the case this one continues"}
# A transfer is the strongest relation there is: the continuation first, then the case
# a continuation continues, then everything found in the text.
TRANSFER_WEIGHTS = {"continued_in": 1000.0, "continues": 500.0}
_STOP = set("""about after again also amazon and are been before being case could does
dear from have hello here into item items just listing more need only other over please
product products regarding seller should since some than that their them then there these
they this those through under until very were what when where which while will with would
your yours""".split())
MAX_IDS = 20


def identifiers(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind, rx in PATTERNS.items():
        found = list(dict.fromkeys(rx.findall(text or "")))
        if found:
            out[kind] = found
    return out


def _fts_phrase(value: str) -> str:
    return '"' + re.sub(r"[^0-9A-Za-z]+", " ", value).strip() + '"'


def cases_mentioning(db: sqlite_utils.Database, value: str, limit: int = 50) -> list[str]:
    """Cases whose subject or a message holds the identifier ``value``: found through
    FTS, confirmed in the text (a token match alone is no relation)."""
    phrase = _fts_phrase(value)
    return [r["case_id"] for r in db.query(
        "select distinct m.case_id from messages_fts f join messages m "
        "on m.rowid = f.rowid where messages_fts match ? and instr(m.text, ?) > 0 "
        "union select c.case_id from cases_fts f join cases c on c.rowid = f.rowid "
        "where cases_fts match ? and instr(c.subject, ?) > 0 limit ?",
        [phrase, value, phrase, value, limit])]


class _Found:
    """Related cases collected so far, each with its reasons and a score."""

    def __init__(self, case_id: str):
        self.case_id = case_id
        self.entries: dict[str, dict] = {}

    def add(self, other: str, reason: str, weight: float) -> None:
        if other == self.case_id:
            return
        entry = self.entries.setdefault(other, {"case_id": other, "reasons": [], "score": 0.0})
        if reason not in entry["reasons"]:
            entry["reasons"].append(reason)
            entry["score"] += weight


def _by_identifiers(db, case: dict, found: _Found) -> None:
    """Order ids, ASINs and shipment ids: found through FTS, confirmed in the text."""
    texts = [case["subject"] or ""] + [r["text"] or "" for r in db.query(
        "select text from messages where case_id = ?", [case["case_id"]])]
    n = 0
    for kind, values in identifiers("\n".join(texts)).items():
        for value in values:
            n += 1
            if n > MAX_IDS:
                break
            for other in cases_mentioning(db, value):
                found.add(other, f"{LABELS[kind]} {value}", 10.0)


def _by_subject(db, case: dict, found: _Found) -> None:
    """Subjects sharing at least two of this one's distinctive words."""
    words = [w.lower() for w in re.findall(r"[^\W\d_]{4,}", case["subject"] or "")]
    words = [w for w in dict.fromkeys(words) if w not in _STOP][:8]
    if not words:
        return
    rows = db.query(
        "select c.case_id, c.subject, bm25(cases_fts) as rank from cases_fts f "
        "join cases c on c.rowid = f.rowid where cases_fts match ? order by rank limit 8",
        [" OR ".join(f'"{w}"' for w in words)])
    for r in rows:
        shared = {w.lower() for w in re.findall(r"[^\W\d_]{4,}", r["subject"] or "")}
        if len(shared & set(words)) >= min(2, len(words)):
            found.add(r["case_id"], LABELS["text"], 1.0)


def _by_opener(db, case_id: str, found: _Found) -> None:
    """Similar text: the seller's opening message says what the case is about; other
    messages sharing most of its distinctive words (found through the FTS index, then
    counted on the text itself) point at the same problem."""
    opener = next(iter(db.query(
        "select text from messages where case_id = ? and sender = 'seller' "
        "order by sent_at limit 1", [case_id])), None)
    if not opener:
        return
    terms = [w.lower() for w in re.findall(r"[^\W\d_]{5,}", opener["text"] or "")]
    terms = [w for w in dict.fromkeys(terms) if w not in _STOP][:10]
    if len(terms) < 4:
        return
    need = max(4, len(terms) * 2 // 3)
    # AND of the first words narrows in the index itself (an OR ranked by bm25 would
    # score every message holding any of them: too slow on big archives)
    rows = db.query(
        "select m.case_id, m.text from messages_fts f join messages m "
        "on m.rowid = f.rowid where messages_fts match ? and m.case_id != ? "
        "limit 40", [" AND ".join(f'"{w}"' for w in terms[:4]), case_id])
    for r in rows:
        words = {w.lower() for w in re.findall(r"[^\W\d_]{5,}", r["text"] or "")}
        if len(words & set(terms)) >= need:
            found.add(r["case_id"], LABELS["message"], 2.0)


def find(db: sqlite_utils.Database, case_id: str, limit: int = 10) -> list[dict]:
    """Other cases related to this one, strongest first: each with ``reasons`` (e.g.
    ``["same order 113-...", "similar subject"]``) and ``earlier`` (opened before it)."""
    case = db["cases"].get(case_id)
    found = _Found(case_id)
    for key, weight in TRANSFER_WEIGHTS.items():
        if case.get(key):
            found.add(case[key], LABELS[key], weight)
    _by_identifiers(db, case, found)
    _by_subject(db, case, found)
    _by_opener(db, case_id, found)
    out = []
    for entry in found.entries.values():
        # a transfer's other end may not be synced yet: listed all the same
        other = next(iter(db.query("select subject, status, created_at from cases "
                                   "where case_id = ?", [entry["case_id"]])), None)
        other = other or {"subject": None, "status": None, "created_at": None}
        entry.update({"subject": other["subject"], "status": other["status"],
                      "created_at": other["created_at"], "stored": other["status"] is not None,
                      "transfer": any(r in entry["reasons"] for r in
                                      (LABELS["continued_in"], LABELS["continues"])),
                      "earlier": (other["created_at"] or "") < (case["created_at"] or "")})
        out.append(entry)
    out.sort(key=lambda e: (-e["score"], not e["earlier"], e["created_at"] or ""))
    return out[:limit]


def for_case(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    """The case's related cases (``find``), for the case page and the dossier."""
    return find(db, case_id)
