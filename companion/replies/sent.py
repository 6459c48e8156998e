"""A sent reply is a fact: once the person marks a draft sent, the case page shows that
text in the thread, marked "sent from caselog", until a sync brings the portal's copy of
it; from then on the portal's message stands in its place (the two are merged), marked
as the reply sent from caselog.

The local copy is the sent draft itself (``drafts`` with state ``sent``: its body and
``sent_at``, which the person can no longer edit), so nothing new is stored and
``caselog export`` (which reads ``messages`` only) stays equal to the portal's truth.
Merging is decided when a page reads the thread (``merge``, pure): a seller message
matches a sent copy when it is an e-mail from the seller, was sent within ``NEAR`` of
the moment the person marked it sent (before or after: people send and mark in either
order), and its text is the copy's (the same words, whitespace and case aside; the
portal may add a signature or quote the thread, so containment counts, and so does a
close match of ``SIMILAR``). Each message stands for one copy at most, the closest in
time first.
"""

from __future__ import annotations

from datetime import timedelta
from difflib import SequenceMatcher

import sqlite_utils

from companion.replies.reminders import parse_time

NEAR = timedelta(days=3)
SIMILAR = 0.6
COMPARED = 4000  # characters of each text compared (a reply's opening says enough)


def _normal(text: str | None) -> str:
    return " ".join((text or "").split()).lower()[:COMPARED]


def similarity(a: str | None, b: str | None) -> float:
    """1.0 when one text holds the other (whitespace and case aside), else difflib's
    ratio; 0 for an empty one."""
    a, b = _normal(a), _normal(b)
    if not a or not b:
        return 0.0
    if a in b or b in a:
        return 1.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.quick_ratio() < SIMILAR:
        return 0.0
    return matcher.ratio()


def copies(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    """The case's replies marked sent in caselog, oldest first."""
    return list(db.query("select id, body, sent_at, situation from drafts where case_id = ? "
                         "and state = 'sent' and sent_at is not null order by sent_at, id",
                         [case_id]))


def _seconds(a, b) -> float:
    return abs((a - b).total_seconds())


def merge(messages: list[dict], sent: list[dict]) -> dict[int, str]:
    """{draft id: message_key of the portal message that stands for it}. Pure."""
    pairs = []
    for c in sent:
        at = parse_time(c["sent_at"])
        for m in messages:
            t = parse_time(m.get("sent_at"))
            if (m.get("sender") != "seller" or (m.get("channel") or "email") != "email"
                    or at is None or t is None or abs(t - at) > NEAR):
                continue
            score = similarity(c["body"], m.get("text"))
            if score >= SIMILAR:
                pairs.append((-score, _seconds(t, at), c["id"], m["message_key"]))
    out: dict[int, str] = {}
    taken: set[str] = set()
    for _, _, draft_id, key in sorted(pairs):
        if draft_id not in out and key not in taken:
            out[draft_id] = key
            taken.add(key)
    return out


def local_message(c: dict) -> dict:
    """A sent copy as the thread shows it (the shape of ``cases.case_detail``'s
    messages, with ``local`` set)."""
    return {"rowid": None, "message_key": f"caselog-{c['id']}", "contact_id": None,
            "sender": "seller", "sender_address": None, "sent_at": _z(c["sent_at"]),
            "html": None, "text": c["body"], "truncated": 0, "channel": "email",
            "channel_label": "", "turns": [], "attachments": [],
            "local": {"draft_id": c["id"], "marked_at": c["sent_at"]}}


def _z(value: str) -> str:
    """Whole seconds, like the portal's times."""
    return value[:19] + "Z" if value and len(value) > 19 and value[19] == "." else value


def thread(db: sqlite_utils.Database, case_id: str, messages: list[dict],
           newest_first: bool = False) -> list[dict]:
    """The case's messages with its sent copies: a merged one marks its portal message
    (``from_caselog``), one the portal does not show yet joins the thread as a local
    message at the moment it was marked sent."""
    sent = copies(db, case_id)
    if not sent:
        return messages
    merged = merge(messages, sent)
    by_key = {key: draft_id for draft_id, key in merged.items()}
    out = [{**m, "from_caselog": by_key[m["message_key"]]} if m["message_key"] in by_key
           else m for m in messages]
    out += [local_message(c) for c in sent if c["id"] not in merged]
    out.sort(key=lambda m: m["sent_at"] or "", reverse=newest_first)
    return out


def answered(db: sqlite_utils.Database, case_id: str, messages: list[dict] | None = None
             ) -> dict | None:
    """{"at", "by": "caselog"|"message", "amazon_wrote": bool} when the seller's last
    word (a reply marked sent, or a message of theirs) comes after Amazon's last
    message; None when Amazon wrote last. For "You answered on …; waiting for Amazon"."""
    if messages is None:
        messages = list(db.query("select sender, sent_at from messages where case_id = ?",
                                 [case_id]))
    last_amazon = max((m["sent_at"] for m in messages if m["sender"] == "amazon"
                       and m["sent_at"]), default=None)
    mine = [(m["sent_at"], "message") for m in messages
            if m["sender"] == "seller" and m["sent_at"] and not m.get("local")]
    mine += [(_z(c["sent_at"]), "caselog") for c in copies(db, case_id)]
    if not mine:
        return None
    at, by = max(mine)
    if last_amazon and at <= last_amazon:
        return None
    return {"at": at, "by": by, "amazon_wrote": last_amazon is not None}
