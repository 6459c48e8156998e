"""A case's situation as draft templates see it: which template applies (``asked``,
``appeal``, ``follow_up``, ``reopen``, ``reply``) and the values they may use.

``context`` only reads: the checklist and the asks are the in-memory ones
(``checklists.view``, ``checklists.case_asks``), so showing a draft writes nothing.
Values the data cannot give are None, and templates show them with ``ph()``; text quoted
from the portal never looks like a placeholder (its square brackets become round ones).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlite_utils

from companion.replies import checklists, reminders
from companion.replies.sandbox import ph


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


def _reopen(db, case: dict, last_amazon: str | None, s: dict, now: datetime) -> dict | None:
    """The reopen window. The closing date is known only when caselog saw the change
    happen, and then only to within the syncs around it: closed after the sync that last
    saw the old status, before the one that saw the new. The draft names the day only
    when both fall on it; the window counts from the earlier bound, so its warning never
    comes late. A case first synced as closed has no such date: the window is estimated
    from Amazon's last message (said with "about" in the notes)."""
    closed_at = closed_after = None
    for r in db.query("select status, previous_status, observed_at, sync_id from "
                      "status_history where case_id = ? order by observed_at",
                      [case["case_id"]]):
        if r["status"] in ("Closed", "Answered") and r["previous_status"]:
            closed_at = r["observed_at"]
            closed_after = db.execute(
                "select max(started_at) from syncs where id < ? and started_at < ?",
                [r["sync_id"] or 0, closed_at]).fetchone()[0]
    closed_dt = reminders.parse_time(closed_after or closed_at or last_amazon
                                     or case["created_at"])
    if not closed_dt:
        return None
    seen_dt = reminders.parse_time(closed_at)
    same_day = seen_dt and seen_dt.date() == closed_dt.date()
    deadline = closed_dt + timedelta(days=s["reopen_window_days"])
    left = (deadline - now).days
    return {"closed_on": day(seen_dt) if same_day else None, "deadline": day(deadline),
            "days_left": left, "warn": 0 <= left <= s["reopen_warn_days"],
            "passed": left < 0, "can_reopen": case.get("can_reopen"),
            "can_reply": case.get("can_edit")}


def situation_of(status: str, category: str, ask_rows: list) -> str:
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
    seller_last_dt = reminders.parse_time(t["seller_last"])
    category = case.get("category") or ""
    return {
        "situation": situation_of(case["status"], category, ask_rows),
        "case": {"case_id": case_id, "subject": no_brackets(case["subject"]),
                 "category": no_brackets(category) or None, "status": case["status"],
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
        "reopen": _reopen(db, case, t["last_amazon"], s, now),
        "seller_name": no_brackets(str(config["seller"].get("name") or "")) or None,
        "ph": ph,
    }
