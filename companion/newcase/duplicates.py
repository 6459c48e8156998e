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
    message's when the creation time is only a day, at most ``SLACK`` earlier: clocks)
    and within ``OFFER_DAYS`` of it (later ones are attached by hand, by case id);
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

from companion.newcase import topics
from companion.read.labels import WAITING_ON_AMAZON, WAITING_ON_SELLER
from companion.replies import panels, related, window
from companion.replies.drafts import PLACEHOLDER

OPEN = WAITING_ON_AMAZON + WAITING_ON_SELLER
ANSWERED = "Answered"  # the portal's word only (``labels.ANSWERED``)
SLACK = timedelta(minutes=10)
OFFER_DAYS = 30  # a case opened later than this after preparing is attached by hand
MIN_SHARED = 3
SHARE = 0.5
COVER = 0.4
MAX_SHOWN = 5
_STOP = related._STOP | set("""best dear greetings hello kind kindly regards sincerely
support team thank thanks""".split())

# The cases' own columns only: a thread is read (first seller message, first and last
# times) for the few candidates a cheap test left, one indexed seek each, so a page
# stays fast over 10,000 cases.
_CASES = ("select case_id, subject, status, category, created_at, last_amazon_reply_at, "
          "continues from cases where {where}")


def words(text: str | None) -> set[str]:
    """Distinctive words: four letters or more, not the greetings and fillers every
    message has, and not what is still a ``[placeholder]``."""
    text = PLACEHOLDER.sub(" ", text or "")
    return {w for w in (m.lower() for m in re.findall(r"[^\W\d_]{4,}", text))
            if w not in _STOP}


def resembles(description: str | None, message: str | None) -> tuple[bool, int]:
    """(whether the message reads as the description, the distinctive words shared)."""
    return _resembles(words(description), message)


def _resembles(d: set[str], message: str | None) -> tuple[bool, int]:
    m = words(message)
    shared = len(d & m)
    return (shared >= MIN_SHARED and shared >= SHARE * len(m) and shared >= COVER * len(d),
            shared)


class _Thread:
    """What the rules read of a case's thread, fetched once and only when asked."""

    def __init__(self, db, case_id: str):
        self.db, self.case_id, self._opener, self._span = db, case_id, False, None

    @property
    def opener(self) -> str | None:
        """The seller's first message: what a new case says it is about."""
        if self._opener is False:
            row = self.db.execute("select text from messages where case_id = ? and "
                                  "sender = 'seller' order by sent_at limit 1",
                                  [self.case_id]).fetchone()
            self._opener = row[0] if row else None
        return self._opener

    @property
    def span(self) -> tuple[str | None, str | None]:
        """(first, last) message time, any side, any channel."""
        if self._span is None:
            self._span = tuple(self.db.execute(
                "select min(sent_at), max(sent_at) from messages where case_id = ?",
                [self.case_id]).fetchone())
        return self._span


def _recent(row: dict, thread: _Thread, now: datetime) -> dict | None:
    """An Answered case's reopen window while it is open, else None."""
    found = panels.reopen_window(row, thread.span[1], now)
    return found if found and not found["passed"] else None


def _why_same_topic(topic: dict, row: dict, thread: _Thread) -> str | None:
    if not topics.same_category(topic, row["category"]):
        return None
    if not topic["keywords"]:
        return f"same category ({row['category']})"
    kw = topics.keyword_in(topic, row["subject"]) or topics.keyword_in(topic, thread.opener)
    return f"same topic ({row['category']}, mentions \u201c{kw}\u201d)" if kw else None


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
    for row in db.query(_CASES.format(where=f"status in ({marks})"), [*OPEN, ANSWERED]):
        if row["case_id"] == exclude:
            continue
        thread = _Thread(db, row["case_id"])
        reasons = [f"same {_kind(v)} {v}" for v in ids.get(row["case_id"], [])]
        topic_reason = _why_same_topic(topic, row, thread)
        reasons += [topic_reason] if topic_reason else []
        if not reasons:
            continue
        reopen = _recent(row, thread, now) if row["status"] == ANSWERED else None
        if row["status"] == ANSWERED and reopen is None:
            continue
        out.append({**_shown(row), "reasons": reasons, "reopen": reopen,
                    "by_id": bool(ids.get(row["case_id"])), "advice": _advice(row, reopen)})
    out.sort(key=lambda w: w["created_at"] or "", reverse=True)  # newest first, then:
    out.sort(key=lambda w: (not w["by_id"], w["status"] not in WAITING_ON_SELLER))
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


def _opened_at(row: dict, thread: _Thread) -> datetime | None:
    """When the case was opened: its creation time, or its first message's when the
    creation time is only a day (a case listed from the rendered lobby)."""
    created = window.parse(row["created_at"])
    if created is None or created.time() == datetime.min.time():
        first = window.parse(thread.span[0])
        return max(created, first) if created and first else (created or first)
    return created


_SINCE = ("(created_at >= :since or (substr(created_at, 12) = '00:00:00Z' and "
          "substr(created_at, 1, 10) >= :day)) and created_at < :until "
          "and continues is null and case_id not in "
          "(select case_id from prepared_cases where state = 'attached' and case_id is not "
          "null)")


def offers(db: sqlite_utils.Database, prepared: dict, topic: dict | None) -> list[dict]:
    """Stored cases the preparation may have become, the likeliest first; each with
    ``reasons``. ``topic`` None (its file was removed): only identifiers count."""
    if prepared["state"] not in ("draft", "ready"):
        return []
    since = window.parse(prepared["created_at"]) - SLACK
    text = f"{prepared['subject']}\n{prepared['description']}"
    mine = {"words": words(text), "ids": {v for vs in related.identifiers(text).values()
                                          for v in vs}}
    out = []
    span = {"since": window.iso(since), "day": window.iso(since)[:10],
            "until": window.iso(since + SLACK + timedelta(days=OFFER_DAYS))}
    for row in db.query(_CASES.format(where=_SINCE), span):
        thread = _Thread(db, row["case_id"])
        opened = _opened_at(row, thread)
        if opened is None or opened < since:
            continue
        found = _offer(topic, row, thread, mine)
        if found:
            out.append({**_shown(row), **found, "opened_at": window.iso(opened)})
    out.sort(key=lambda o: o["opened_at"])
    out.sort(key=lambda o: o["score"], reverse=True)
    return out[:MAX_SHOWN]


def _offer(topic: dict | None, row: dict, thread: _Thread, mine: dict) -> dict | None:
    theirs = f"{row['subject'] or ''}\n{thread.opener or ''}"
    ids = sorted(mine["ids"] & {v for vs in related.identifiers(theirs).values() for v in vs})
    same, shared = _resembles(mine["words"], thread.opener)
    on_topic = bool(ids) or (topic is not None and (
        topics.same_category(topic, row["category"]) or topics.keyword_in(topic, theirs)))
    if not on_topic or not (ids or same):
        return None
    reasons = [f"same {_kind(v)} {v}" for v in ids]
    if same:
        reasons.append(f"its first message shares {shared} words with your description")
    # the description pasted is the strongest sign, then shared identifiers, then words
    return {"reasons": reasons, "score": (same, len(ids), shared)}
