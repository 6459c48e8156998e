"""Repeated asks: Amazon asking again for evidence it asked for before, or that the
seller already sent. Each repeat is a fact for an escalation ("Amazon asked for invoices
3 times: 2 Nov, 9 Nov, 20 Nov; you sent them on 4 Nov and 10 Nov"), so the case panel,
the draft, the dossier and home's queue all say it in the same words.

Asks are ``checklists.case_asks`` (stored, plus any in messages not scanned yet). What
the seller sent is read from two places: the seller's own messages with attachments
(a file whose name, or a message whose text, names the kind: "invoice-0412.pdf",
"Please find attached the invoice"), and the replies the person marked sent in caselog
whose text names it. Nothing is stored: the asks are (``checklists.case_asks``).
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlite_utils

from companion.read.local_days import local_time
from companion.replies import asks as asks_mod
from companion.replies import checklists

# How a kind reads in a sentence, and whether it is "them" or "it".
NOUNS = {
    "plan_of_action": ("a plan of action", "it"),
    "invoices": ("invoices", "them"),
    "letter_of_authorization": ("a letter of authorization", "it"),
    "proof_of_delivery": ("proof of delivery", "it"),
    "safety_data_sheet": ("a safety data sheet", "it"),
    "test_report": ("test reports or certificates", "them"),
    "photos": ("photos", "them"),
    "tracking_number": ("tracking numbers", "them"),
    "shipment_details": ("shipment details", "them"),
    "bank_statement": ("a bank statement or proof of address", "it"),
    "trademark": ("the trademark registration", "it"),
}


def kinds_named(text: str | None) -> set[str]:
    """The evidence kinds a text or a file name names (the asks' own vocabulary)."""
    text = (text or "").replace("_", " ").replace("-", " ")
    return {key for key, _, rx in asks_mod._KIND_RES if rx.search(text)}


def short_day(iso: str | None, now: datetime | None = None) -> str:
    """``2 Nov`` (``2 Nov 2025`` outside the current year), in this machine's zone."""
    t = local_time(iso)
    if t is None:
        return "?"
    now_year = (now.astimezone() if now else datetime.now().astimezone()).year
    return f"{t.day} {t:%b}" + ("" if t.year == now_year else f" {t.year}")


def listed(days: list[str]) -> str:
    """``4 Nov``, ``4 Nov and 10 Nov``, ``2 Nov, 9 Nov, 20 Nov``."""
    if len(days) <= 2:
        return " and ".join(days)
    return ", ".join(days)


def sends(db: sqlite_utils.Database, case_id: str) -> list[dict]:
    """What the seller sent, oldest first: ``{"at", "kinds", "how"}`` for each of the
    seller's messages with attachments and each reply marked sent in caselog."""
    out = []
    rows = db.query(
        """select m.sent_at, m.text, group_concat(a.name, ' | ') as names
           from messages m join attachments a
             on a.case_id = m.case_id and a.message_key = m.message_key
           where m.case_id = ? and m.sender = 'seller'
           group by m.rowid order by m.sent_at""", [case_id])
    for r in rows:
        kinds = kinds_named(r["names"]) | kinds_named(r["text"])
        if kinds:
            out.append({"at": r["sent_at"], "kinds": kinds, "how": "message"})
    for r in db.query("select sent_at, body from drafts where case_id = ? and "
                      "state = 'sent' order by sent_at", [case_id]):
        kinds = kinds_named(r["body"])
        if kinds and r["sent_at"]:
            out.append({"at": r["sent_at"], "kinds": kinds, "how": "caselog"})
    return out


def find(case_asks: list[dict], sent: list[dict], now: datetime | None = None) -> list[dict]:
    """The repeated asks, in the order Amazon first asked: a kind asked for in two or
    more messages, or asked for after the seller had sent it. Pure."""
    by_kind: dict[str, dict] = {}
    for a in case_asks:
        k = by_kind.setdefault(a["kind"], {"label": a["label"], "asked": {}})
        k["asked"].setdefault(a["message_key"], a["sent_at"] or "")
    out = []
    for kind, k in by_kind.items():
        asked = sorted(k["asked"].values())
        sent_at = sorted({s["at"] for s in sent if kind in s["kinds"]})
        if len(asked) < 2 and not any(s < asked[-1] for s in sent_at):
            continue
        out.append({"kind": kind, "label": k["label"], "asked": asked, "sent": sent_at,
                    "times": len(asked),
                    "sentence": sentence(kind, k["label"], asked, sent_at, now)})
    return out


def sentence(kind: str, label: str, asked: list[str], sent: list[str],
             now: datetime | None = None) -> str:
    """"Amazon asked for invoices 3 times: 2 Nov, 9 Nov, 20 Nov; you sent them on 4 Nov
    and 10 Nov"."""
    noun, pronoun = NOUNS.get(kind, (label.lower(), "them"))
    days = _days(asked, now)
    if len(asked) == 1:
        head = f"Amazon asked for {noun} on {days[0]}"
    else:
        times = "twice" if len(asked) == 2 else f"{len(asked)} times"
        head = f"Amazon asked for {noun} {times}: {listed(days)}"
    if not sent:
        return head
    return f"{head}; you sent {pronoun} on {listed(_days(sent, now))}"


def _days(times: list[str], now: datetime | None) -> list[str]:
    """Each moment as its day; with the time too when two fall on one day ("30 Nov
    09:10, 30 Nov 16:45"), so the repeats stay visible as repeats."""
    days = [short_day(t, now) for t in times]
    if len(set(days)) == len(days):
        return days
    return [f"{d} {local_time(t):%H:%M}" if local_time(t) else d
            for d, t in zip(days, times, strict=True)]


def for_case(db: sqlite_utils.Database, case_id: str, case_asks: list[dict] | None = None,
             now: datetime | None = None) -> list[dict]:
    """The case's repeated asks (``find``), from its asks and what the seller sent."""
    if case_asks is None:
        case_asks = checklists.case_asks(db, case_id)
    if not case_asks:
        return []
    return find(case_asks, sends(db, case_id), now)


def for_cases(db: sqlite_utils.Database, case_ids: list[str],
              now: datetime | None = None) -> dict[str, list[dict]]:
    """{case_id: repeated asks} for the open cases that have any (home's rows), as
    ``companion.queue.derive`` stored them, the sentences made again when ``now`` is in
    another year than they were made for (the year decides how a day reads)."""
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        return {}
    year = (now or datetime.now()).astimezone().year
    out = {}
    for cid, stored in db.execute(
            f"select case_id, found from case_repeats where case_id in "
            f"({','.join('?' * len(ids))})", ids):
        stored = json.loads(stored)
        out[cid] = stored["found"] if stored["year"] == year else [
            {**r, "sentence": sentence(r["kind"], r["label"], r["asked"], r["sent"], now)}
            for r in stored["found"]]
    return out
