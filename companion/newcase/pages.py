"""Read models of the "New case" pages (``/cases/new``): the topic chooser with the
preparations not yet found in Seller Central, one topic with the cases it would
duplicate, one preparation with its text, checklist, files and the cases a sync brought
that it may have become; and the one act that needs several rooms, ``prepare``.

Building a page writes nothing (the crawl test holds the database bytes): warnings and
offers are computed on every view from the stored cases (``matching``). Problems with the
person's topic files become messages on the page, never errors.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from companion.newcase import duplicates as matching
from companion.newcase import prepared, topics
from companion.read.queries import portal_url
from companion.replies import evidence
from companion.replies.drafts import TYPED_HINT


def index_page(db: sqlite_utils.Database) -> dict:
    """The chooser: every topic under its category, the preparations still waiting to
    be opened in Seller Central (each with the new cases it may have become), the
    latest ones attached, and the problems of the person's topic files."""
    problems: list[str] = []
    lib = topics.library(problems)
    waiting = [{**p, "offers": matching.offers(db, p, lib.get(p["topic"]))}
               for p in prepared.open_list(db)]
    return {"groups": topics.grouped(lib), "count": len(lib), "problems": problems,
            "prepared": waiting, "attached": prepared.attached_list(db)}


def topic_page(db: sqlite_utils.Database, topic_id: str, ids_text: str = "",
               now: datetime | None = None) -> dict | None:
    """One topic before anything is written: what Amazon needs, the evidence list, and
    the open or recently answered cases the new one would duplicate. None when there
    is no such topic."""
    problems: list[str] = []
    topic = topics.library(problems).get(topic_id)
    if topic is None:
        return None
    found = matching.warnings(db, topic, ids_text, now)
    return {"topic": topic, "ids": ids_text, "warnings": found[:matching.MAX_SHOWN],
            "more": max(0, len(found) - matching.MAX_SHOWN), "problems": problems}


def prepare(db: sqlite_utils.Database, topic_id: str, ids_text: str = "",
            now: datetime | None = None) -> dict:
    """Store a new preparation of the topic (the person went on, warned or not); the
    description cites the cases they were warned about. Raises TopicError or
    DraftTemplateError with the words to show."""
    topic = topics.get(topic_id)
    cite = matching.warnings(db, topic, ids_text, now)[:matching.MAX_SHOWN]
    return prepared.create(db, topic, ids_text, cite)


def prepared_page(db: sqlite_utils.Database, pid: int, now: datetime | None = None) -> dict:
    """One preparation; raises PreparedError when there is none."""
    now = now or datetime.now(UTC)
    p = prepared.get(db, pid)
    problems: list[str] = []
    topic = topics.library(problems).get(p["topic"])
    if topic is None and p["state"] in prepared.OPEN_STATES:
        problems.append(f"The topic {p['topic']!r} is no longer in the library (its file "
                        "was removed or is broken); your text and files are kept.")
    is_open = p["state"] in prepared.OPEN_STATES
    template, typed = prepared.split_placeholders(db, p) if is_open else ([], [])
    text = f"{p['subject']}\n{p['description']}"
    items = [{**it, "n": n} for n, it in enumerate(prepared.items(db, pid), 1)]
    return {
        "p": p, "topic": topic, "open": is_open, "problems": problems, "items": items,
        "done": sum(1 for it in items if it["done"]),
        "loose": [f for f in prepared.files(db, pid) if f["item_key"] is None],
        "placeholders": template, "typed_brackets": typed, "typed_hint": TYPED_HINT,
        "history": prepared.history(db, pid),
        "warnings": (matching.warnings(db, topic, text, now)[:matching.MAX_SHOWN]
                     if topic and is_open else []),
        "offers": matching.offers(db, p, topic),
        "portal": portal_url(db),
        "max_mb": evidence.max_bytes() // (1024 * 1024),
        "accept": ",".join("." + ext for ext in sorted(evidence.ALLOWED)),
    }


def on_case(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    """The prepared work attached to a case, for its page: topic, subject, description
    and a link back to the preparation (its checklist and files are the case's own now)."""
    return prepared.for_case(db, case_id)
