"""A case's situation as draft templates see it: which template applies (``asked``,
``appeal``, ``follow_up``, ``reopen``, ``new_case``, ``reply``; none for a transferred
case) and the values they may use.

``context`` only reads: the checklist and the asks are the in-memory ones
(``checklists.view``, ``checklists.case_asks``), so showing a draft writes nothing.
Values the data cannot give are None, and templates show them with ``ph()``; text quoted
from the portal never looks like a placeholder (its square brackets become round ones).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from companion.read.labels import status_label
from companion.replies import checklists, reminders, repeats, window
from companion.replies.sandbox import ph

TRANSFERRED = ("Transferred",)


def no_brackets(value):
    """Text quoted from the portal must not look like a placeholder."""
    if isinstance(value, str):
        return value.replace("[", "(").replace("]", ")")
    return value


def day(dt: datetime | None) -> str | None:
    return f"{dt:%B} {dt.day}, {dt:%Y}" if dt else None


def _ask_rows(all_asks: list[dict], items: list[dict], last_seller: str | None,
              status: str) -> list[dict]:
    """The asks still open, once per kind: those in Amazon's messages after the seller
    last wrote; if the seller owes an answer but wrote since, the latest Amazon message
    that asked anything."""
    open_asks = [a for a in all_asks if not last_seller or (a["sent_at"] or "") > last_seller]
    if not open_asks and status == "PendingMerchantAction" and all_asks:
        latest = all_asks[-1]["message_key"]
        open_asks = [a for a in all_asks if a["message_key"] == latest]
    rows, answered = [], set()
    for a in open_asks:
        if a["kind"] in answered:  # asked again in a later message: one answer is enough
            continue
        answered.add(a["kind"])
        mine = [it for it in items if it["ask_kind"] == a["kind"]]
        rows.append({
            "kind": a["kind"], "label": a["label"], "sentence": no_brackets(a["sentence"]),
            "sent_on": day(reminders.parse_time(a["sent_at"])),
            "evidence": [no_brackets(e["name"]) for it in mine for e in it["evidence"]],
            "items": [no_brackets(it["text"]) for it in mine],
        })
    return rows


def _with_repeats(ask_rows: list[dict], again: list[dict], now: datetime) -> None:
    """Each ask row learns what was sent for it before and how often Amazon asked
    (``companion.replies.repeats``): ``already_sent`` ("4 Nov and 10 Nov"), ``asked_on``
    and ``asked_times``, so a draft can say so."""
    by_kind = {r["kind"]: r for r in again}
    for row in ask_rows:
        rep = by_kind.get(row["kind"])
        row["asked_times"] = rep["times"] if rep else 1
        row["asked_on"] = repeats.listed(repeats._days(rep["asked"], now)) if rep else None
        row["already_sent"] = (repeats.listed(repeats._days(rep["sent"], now))
                               if rep and rep["sent"] else None)


def _closing(db, case_id: str) -> tuple[str | None, str | None]:
    """When a Closed case closed, as far as caselog saw it: (the earliest it can have
    closed, the moment a sync saw it closed). The change happened after the sync that
    last saw the old status and before the one that saw the new; (None, None) when the
    case was first synced already closed."""
    closed_at = closed_after = None
    for r in db.query("select status, previous_status, observed_at, sync_id from "
                      "status_history where case_id = ? order by observed_at", [case_id]):
        if r["status"] == "Closed" and r["previous_status"]:
            closed_at = r["observed_at"]
            closed_after = db.execute(
                "select max(started_at) from syncs where id < ? and started_at < ?",
                [r["sync_id"] or 0, closed_at]).fetchone()[0]
    return closed_after, closed_at


def _reopen(db, case: dict, t: dict, s: dict, now: datetime) -> dict | None:
    """The reopen window (``companion.replies.window``). Answered: Amazon's rule,
    counted from the thread's last message. Closed: estimated from the closing, which
    the draft names only when the syncs around it fall on one day; a case first synced
    as closed counts from Amazon's last message (the window's warning never comes
    late). Other statuses have none."""
    if case["status"] == "Answered":
        found = window.answered(window.last_activity(
            t["last_amazon"], t["last_seller"], case.get("last_amazon_reply_at")), s, now)
    elif case["status"] == "Closed":
        closed_after, closed_at = _closing(db, case["case_id"])
        start = window.parse(closed_after or closed_at or t["last_amazon"]
                             or case["created_at"])
        seen = window.parse(closed_at)
        same_day = bool(start and seen and seen.date() == start.date())
        found = window.closed(start, day(seen) if same_day else None, s, now)
    else:
        return None
    if found is None:
        return None
    return {**found, "can_reopen": case.get("can_reopen"), "can_reply": case.get("can_edit")}


def situation_of(status: str, category: str, ask_rows: list,
                 reopen: dict | None = None) -> str | None:
    """Which draft the case calls for; None for a transferred case, which takes no
    reply and no reopening (Amazon tracks it in the case that continues it)."""
    if status in TRANSFERRED:
        return None
    if status == "PendingMerchantAction" and "account health" in category.lower():
        return "appeal"
    if status in ("PendingMerchantAction", "Answered") and ask_rows:
        # "Answered" with asks after the seller's last message: Amazon's answer was a
        # request for documents, so the reply answers it (no reopen needed: the case
        # is still open to a reply).
        return "asked"
    if status in reminders.WAITING_ON_AMAZON:
        return "follow_up"
    if status in ("Closed", "Answered"):
        # Past the window (or no Reopen button on a closed case), Amazon's way is a
        # new case that cites this one.
        if reopen and (reopen["passed"] and not reopen["estimated"]
                       or status == "Closed" and reopen["can_reopen"] == 0):
            return "new_case"
        return "reopen"
    return "reply"


def _thread(db, case_id: str) -> dict:
    """Who wrote last, and what the seller marked sent since."""
    msgs = list(db.query("select message_key, sender, sent_at from messages "
                         "where case_id = ? order by sent_at", [case_id]))
    last_amazon = max((m["sent_at"] for m in msgs if m["sender"] == "amazon"), default=None)
    last_seller = max((m["sent_at"] for m in msgs if m["sender"] == "seller"), default=None)
    sent = [e["at"] for e in db.query(
        "select at from draft_events where case_id = ? and kind = 'draft_sent'", [case_id])]
    after_amazon = [m for m in msgs if m["sender"] == "seller"
                    and (not last_amazon or m["sent_at"] > last_amazon)]
    unsynced = [t for t in sent if not last_seller or t > last_seller]
    return {"last_amazon": last_amazon, "last_seller": last_seller,
            "seller_last": max([t for t in [last_seller, *sent] if t], default=None),
            "follow_ups": max(len(after_amazon) - 1, 0) + len(unsynced)}


def context(db: sqlite_utils.Database, case_id: str, now: datetime | None = None,
            items: list[dict] | None = None, asks: list[dict] | None = None) -> dict:
    """Everything a template may use, plus ``situation``. ``items``/``asks``: the
    checklist view and asks when the caller computed them already."""
    now = now or datetime.now(UTC)
    case = db["cases"].get(case_id)
    config = reminders.load_config()
    s = reminders.settings_for(config, case.get("category"))
    asks = checklists.case_asks(db, case_id) if asks is None else asks
    items = checklists.view(db, case_id, asks=asks) if items is None else items
    t = _thread(db, case_id)
    ask_rows = _ask_rows(asks, items, t["last_seller"], case["status"])
    again = repeats.find(asks, repeats.sends(db, case_id), now) if asks else []
    _with_repeats(ask_rows, again, now)
    seller_last_dt = reminders.parse_time(t["seller_last"])
    category = case.get("category") or ""
    reopen = _reopen(db, case, t, s, now)
    return {
        "situation": situation_of(case["status"], category, ask_rows, reopen),
        "case": {"case_id": case_id, "subject": no_brackets(case["subject"]),
                 "category": no_brackets(category) or None, "status": case["status"],
                 "status_label": status_label(case["status"]),
                 "continued_in": case.get("continued_in"), "continues": case.get("continues"),
                 "created_on": day(reminders.parse_time(case["created_at"]))},
        "today": day(now), "asks": ask_rows,
        "evidence": [no_brackets(e["name"]) for e in db.query(
            "select name from evidence where case_id = ? order by id", [case_id])],
        "open_items": [no_brackets(i["text"]) for i in items if not i["done"]],
        "last_seller_message_on": day(seller_last_dt),
        "days_waiting": (now - seller_last_dt).days if seller_last_dt else None,
        "last_amazon_message_on": day(reminders.parse_time(t["last_amazon"])),
        "amazon_replied_since": bool(t["last_amazon"] and (
            not t["seller_last"] or t["last_amazon"] > t["seller_last"])),
        "follow_up_after_days": s["follow_up_after_days"], "follow_ups": t["follow_ups"],
        "escalate": t["follow_ups"] >= s["escalate_after_follow_ups"],
        "reopen": reopen, "repeats": [r["sentence"] for r in again],
        "seller_name": no_brackets(str(config["seller"].get("name") or "")) or None,
        "ph": ph,
    }
