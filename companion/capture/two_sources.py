"""What a case's row says when two sources speak of it: the portal (its mons-api JSON, a
rendered or saved page) and the Support API.

Each source's own word on the status is kept as given in ``case_sources``; the row shows
the more detailed one: the portal's six statuses unless the Support API saw the case
more recently and says something the portal's status does not mean (SPAPI.md maps the
six onto four). A Support API unit never blanks what only the portal knows (category,
tags, whether it can be replied to or reopened), and its attachments carry no sizes.
"""

from __future__ import annotations

import json

from companion.capture.pipeline import CaseUnit

# SPAPI.md: the portal's six statuses as the Support API says them.
SPAPI_STATUS = {"PendingAmazonAction": "PENDING_AMAZON_ACTION",
                "Reopened": "PENDING_AMAZON_ACTION",
                "PendingMerchantAction": "PENDING_MERCHANT_ACTION",
                "Answered": "PENDING_MERCHANT_ACTION",
                "Resolved": "RESOLVED", "Closed": "RESOLVED", "Transferred": "TRANSFERRED"}


def source_of(unit: CaseUnit) -> str:
    """``portal`` for anything read from the portal (JSON, a rendered or saved page)."""
    return "spapi" if unit.source == "spapi" else "portal"


def shown_status(portal: dict | None, spapi: dict | None) -> str | None:
    """The status the row shows, from each source's last word (``status``, ``seen_at``)."""
    if portal and (not spapi or SPAPI_STATUS.get(portal["status"]) == spapi["status"]
                   or (portal["seen_at"] or "") >= (spapi["seen_at"] or "")):
        return portal["status"]
    return (spapi or portal or {}).get("status")


def note_source(db, unit: CaseUnit, at: str, fully_captured: bool) -> None:
    """This source's word on the case, as given."""
    p = unit.parsed
    db.execute(
        "insert into case_sources (case_id, source, status, changed_at, seen_at, "
        "fully_captured) values (?, ?, ?, ?, ?, ?) on conflict (case_id, source) do update "
        "set status = excluded.status, changed_at = excluded.changed_at, "
        "seen_at = excluded.seen_at, fully_captured = excluded.fully_captured",
        [unit.case_id, source_of(unit), p.get("status") or (unit.listed or {}).get("status"),
         p.get("last_updated_at"), at, int(fully_captured)])


def status_now(db, case_id: str) -> str | None:
    words = {r[0]: {"status": r[1], "seen_at": r[2]} for r in db.execute(
        "select source, status, seen_at from case_sources where case_id = ?", [case_id])}
    return shown_status(words.get("portal"), words.get("spapi"))


def case_row(unit: CaseUnit, old: dict | None, at: str) -> dict:
    """The columns of the cases row this unit sets."""
    p, listed = unit.parsed, unit.listed or {}
    row = {
        "subject": p.get("subject") or listed.get("subject") or (old or {}).get("subject")
        or "",
        "status": p.get("status") or listed.get("status") or (old or {}).get("status"),
        "created_at": p.get("created_at") or listed.get("created_at"),
        "last_captured_at": at, "last_error": None, "source": unit.source,
    }
    if unit.portal:
        row["portal"] = unit.portal
    if p.get("primary_email"):
        row["primary_email"] = p["primary_email"]
    if unit.source == "spapi":
        return row  # it knows no category, tags, edit/reopen flags or lobby
    tags = p.get("tags") or []
    row.update({
        "category": p.get("category") or (tags[0] if tags else None),
        "tags": json.dumps(tags, ensure_ascii=False), "primary_email": p.get("primary_email"),
        "can_edit": p.get("can_edit"), "can_reopen": p.get("can_reopen"),
        "escalated": p.get("escalated"),
    })
    if unit.listed is not None:
        if listed.get("dates") != "day":  # the rendered lobby shows days, not times
            row["last_amazon_reply_at"] = listed.get("last_amazon_reply_at")
        row["in_lobby"] = 1
        row["last_listed_at"] = at
    return row


def save_appointments(db, unit: CaseUnit, at: str) -> None:
    """Amazon's scheduled call-backs, as the Support API last listed them."""
    for a in unit.parsed.get("appointments") or []:
        phone = a.get("phone_number")
        if isinstance(phone, dict):
            phone = " ".join(x for x in (phone.get("country_code") and
                                         "+" + phone["country_code"].lstrip("+"),
                                         phone.get("number"),
                                         phone.get("extension") and "ext. " + phone["extension"])
                             if x)
        db.execute(
            "insert into appointments (case_id, appointment_id, status, earliest, latest, "
            "phone, seen_at) values (?, ?, ?, ?, ?, ?, ?) on conflict (case_id, "
            "appointment_id) do update set status = excluded.status, earliest = "
            "excluded.earliest, latest = excluded.latest, phone = excluded.phone, "
            "seen_at = excluded.seen_at",
            [unit.case_id, a["appointment_id"], a.get("status"), a.get("earliest"),
             a.get("latest"), phone, at])


def link_downloads(db, unit: CaseUnit) -> None:
    """Attachment files a source downloaded while capturing (the Support API's links
    expire in 15 minutes, so they are fetched at once): the file and its size."""
    for cap in unit.captures:
        if cap.kind != "attachment" or "message_key" not in (cap.params or {}):
            continue
        aid = f"{cap.params['message_key']}#{cap.params['index']}:{cap.params['name']}"
        db.execute("update attachments set local_path = ?, sha256 = ?, size = ? "
                   "where case_id = ? and attachment_id = ?",
                   ["captures/" + cap.path, cap.sha256, len(cap.body), unit.case_id, aid])
