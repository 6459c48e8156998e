"""Which stored case a new case would duplicate, and which new case a preparation
became. Both rules read the stored cases only and write nothing.

**Warn** (before a new case is prepared, and on the preparation while it is open).
Amazon's guideline is to reply in, or reopen, the case already open on a problem
instead of opening another one. A stored case is warned about when it is
  * *open* (Work in progress, Needs your attention, Reopened) or *recently answered*
    (Answered, and its reopen window, ``panels.reopen_window``: 5 days after its last
    message, has not closed), and
  * it holds an order id, ASIN or FBA shipment id of the new case's text (any
    category), or its category is on the topic (``topics.same_category``) and its
    subject or first seller message holds one of the topic's keywords.

**Offer** (after a sync, to attach the prepared work to the case the seller opened).
A stored case is offered for a preparation still open (draft or ready) when
  * no preparation is attached to it yet, it does not continue a transferred case, and
    it was opened after the preparation was created (its creation time, or its first
    message's when the creation time is only a day, at most ``SLACK`` earlier: clocks);
  * it is on the same topic: its category is on the topic, or its subject or first
    seller message holds one of the topic's keywords, or it shares an identifier; and
  * its first seller message resembles the description (subject and text): they share
    an order id, ASIN or shipment id, or at least ``MIN_SHARED`` distinctive words that
    make at least ``SHARE`` of the message's distinctive words (it reads as the
    description pasted, perhaps edited) and at least ``COVER`` of the description's
    (it is not a short line that happens to use a few of its words).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlite_utils

from companion.replies import panels, related, topics, window
from companion.replies.drafts import PLACEHOLDER

OPEN = ("PendingAmazonAction", "PendingMerchantAction", "Reopened")
ANSWERED = "Answered"
SLACK = timedelta(minutes=10)
MIN_SHARED = 3
SHARE = 0.5
COVER = 0.4
MAX_SHOWN = 5
_STOP = related._STOP | set("""best dear greetings hello kind kindly regards sincerely
support team thank thanks""".split())

_CASES = """
select c.case_id, c.subject, c.status, c.category, c.created_at, c.last_amazon_reply_at,
  c.continues,
  (select m.text from messages m where m.case_id = c.case_id and m.sender = 'seller'
    order by m.sent_at limit 1) as opener,
  (select min(m.sent_at) from messages m where m.case_id = c.case_id) as first_at,
  (select max(m.sent_at) from messages m where m.case_id = c.case_id) as last_at
from cases c where {where}
"""


def words(text: str | None) -> set[str]:
    """Distinctive words: four letters or more, not the greetings and fillers every
    message has, and not what is still a ``[placeholder]``."""
    text = PLACEHOLDER.sub(" ", text or "")
    return {w for w in (m.lower() for m in re.findall(r"[^\W\d_]{4,}", text))
            if w not in _STOP}


def shared_ids(a: str | None, b: str | None) -> list[str]:
    """Order ids, ASINs and FBA shipment ids found in both texts."""
    left = {v for vs in related.identifiers(a or "").values() for v in vs}
    right = {v for vs in related.identifiers(b or "").values() for v in vs}
    return sorted(left & right)


def resembles(description: str | None, message: str | None) -> tuple[bool, int]:
    """(whether the message reads as the description, the distinctive words shared)."""
    d, m = words(description), words(message)
    shared = len(d & m)
    return (shared >= MIN_SHARED and shared >= SHARE * len(m) and shared >= COVER * len(d),
            shared)


def _rows(db, where: str, params: list) -> list[dict]:
    return list(db.query(_CASES.format(where=where), params))


def _recent(row: dict, now: datetime) -> dict | None:
    """An Answered case's reopen window while it is open, else None."""
    found = panels.reopen_window(row, row["last_at"], now)
    return found if found and not found["passed"] else None


def _why_same_topic(topic: dict, row: dict) -> str | None:
    if not topics.same_category(topic, row["category"]):
        return None
    kw = topics.keyword_in(topic, f"{row['subject'] or ''}\n{row['opener'] or ''}")
    if kw:
        return f"same topic ({row['category']}, mentions \u201c{kw}\u201d)"
    return None if topic["keywords"] else f"same category ({row['category']})"


def _by_ids(db, text: str) -> dict[str, list[str]]:
    """{case_id: [identifier, ...]} of stored cases mentioning an identifier of text."""
    out: dict[str, list[str]] = {}
    values = [v for vs in related.identifiers(text or "").values() for v in vs]
    for value in values[:related.MAX_IDS]:
        for cid in related.cases_mentioning(db, value):
            out.setdefault(cid, []).append(value)
    return out


def warnings(db: sqlite_utils.Database, topic: dict, text: str = "",
             now: datetime | None = None, exclude: str | None = None) -> list[dict]:
    """Open or recently answered stored cases on the same topic as a new case of
    ``topic`` whose text is ``text`` (identifiers typed in, or the description); the
    strongest first (an identifier, then waiting on the seller, then the newest)."""
    now = now or datetime.now(UTC)
    ids = _by_ids(db, text)
    marks = ",".join("?" * (len(OPEN) + 1))
    out = []
    for row in _rows(db, f"c.status in ({marks})", [*OPEN, ANSWERED]):
        if row["case_id"] == exclude:
            continue
        reopen = _recent(row, now) if row["status"] == ANSWERED else None
        if row["status"] == ANSWERED and reopen is None:
            continue
        reasons = [f"same {_kind(v)} {v}" for v in ids.get(row["case_id"], [])]
        topic_reason = _why_same_topic(topic, row)
        if topic_reason:
            reasons.append(topic_reason)
        if reasons:
            out.append({**_shown(row), "reasons": reasons, "reopen": reopen,
                        "by_id": bool(ids.get(row["case_id"])),
                        "advice": _advice(row, reopen)})
    out.sort(key=lambda w: w["created_at"] or "", reverse=True)  # newest first, then:
    out.sort(key=lambda w: (not w["by_id"], w["status"] != "PendingMerchantAction"))
    return out


def _kind(value: str) -> str:
    for kind, rx in related.PATTERNS.items():
        if rx.fullmatch(value):
            return {"order": "order", "asin": "ASIN", "shipment": "shipment"}[kind]
    return "identifier"


def _shown(row: dict) -> dict:
    return {k: row[k] for k in ("case_id", "subject", "status", "category", "created_at")}


def _advice(row: dict, reopen: dict | None) -> str:
    if reopen:
        return (f"Answered: reopen case {row['case_id']} in Seller Central (until "
                f"{reopen['closes']}) instead of opening a new one.")
    return f"Reply in case {row['case_id']} instead of opening a new one."


def _opened_at(row: dict) -> datetime | None:
    """When the case was opened: its creation time, or its first message's when the
    creation time is only a day (a case listed from the rendered lobby)."""
    created, first = window.parse(row["created_at"]), window.parse(row["first_at"])
    if created and first and created.time() == datetime.min.time():
        return max(created, first)
    return created or first


def offers(db: sqlite_utils.Database, prepared: dict, topic: dict | None) -> list[dict]:
    """Stored cases the preparation may have become, the likeliest first; each with
    ``reasons``. ``topic`` None (its file was removed): only identifiers count."""
    if prepared["state"] not in ("draft", "ready"):
        return []
    since = window.parse(prepared["created_at"]) - SLACK
    text = f"{prepared['subject']}\n{prepared['description']}"
    out = []
    for row in _rows(db, "substr(c.created_at, 1, 10) >= ? and c.case_id not in (select "
                     "case_id from prepared_cases where case_id is not null and state = "
                     "'attached')", [since.strftime("%Y-%m-%d")]):
        opened = _opened_at(row)
        if row["continues"] or opened is None or opened < since:
            continue
        found = _offer(topic, row, text)
        if found:
            out.append({**_shown(row), **found, "opened_at": window.iso(opened)})
    out.sort(key=lambda o: o["opened_at"])
    out.sort(key=lambda o: o["score"], reverse=True)
    return out[:MAX_SHOWN]


def _offer(topic: dict | None, row: dict, text: str) -> dict | None:
    theirs = f"{row['subject'] or ''}\n{row['opener'] or ''}"
    ids = shared_ids(text, theirs)
    same, shared = resembles(text, row["opener"])
    on_topic = bool(ids) or (topic is not None and (
        topics.same_category(topic, row["category"]) or topics.keyword_in(topic, theirs)))
    if not on_topic or not (ids or same):
        return None
    reasons = [f"same {_kind(v)} {v}" for v in ids]
    if same:
        reasons.append(f"its first message shares {shared} words with your description")
    # the description pasted is the strongest sign, then shared identifiers, then words
    return {"reasons": reasons, "score": (same, len(ids), shared)}
