"""Pure parsers for the portal's JSON (PORTAL.md section 4): SearchForCases, ViewCase,
GetContactMessage, and the error bodies. Bytes in, DESIGN.md records out; no network.

A body that lacks a field the contract promises raises `LayoutError` naming the case
and the field, so the sync can keep the capture and say what changed.
"""

from __future__ import annotations

import json

from scrapers.errors import LayoutError
from scrapers.parse.records import (
    apply_full_messages,
    epoch_to_iso,
    merge_pages,
)
from scrapers.parse.records import message as make_message
from scrapers.parse.text import html_to_text

__all__ = ["parse_search", "parse_view_case", "parse_contact_message", "merge_pages",
           "apply_full_messages", "load"]


def load(body: bytes | str, *, case_id: str | None = None, what: str = "JSON body"):
    """Decode a captured body; a non-JSON body (an HTML error page) is a LayoutError."""
    try:
        return json.loads(body)
    except (ValueError, TypeError) as exc:
        raise LayoutError(what, case_id=case_id, found=f"unparseable body ({exc})") from None


def _need(obj: dict, key: str, *, case_id, where: str):
    if not isinstance(obj, dict) or key not in obj:
        raise LayoutError(f'"{key}"', case_id=case_id, where=where)
    return obj[key]


def parse_search(body: bytes | str) -> tuple[list[dict], int]:
    """SearchForCases answer -> (ListedCase records in served order, totalNumberOfResults)."""
    data = load(body, what="SearchForCases JSON")
    rows = _need(data, "caseSearchResultList", case_id=None, where="SearchForCases")
    total = _need(data, "totalNumberOfResults", case_id=None, where="SearchForCases")
    cases = []
    for i, row in enumerate(rows or []):
        where = f"caseSearchResultList[{i}]"
        case_id = str(_need(row, "caseId", case_id=None, where=where))
        cases.append({
            "case_id": case_id,
            "status": _need(row, "status", case_id=case_id, where=where),
            "subject": row.get("shortDescription") or "",
            "created_at": epoch_to_iso(_need(row, "creationDate", case_id=case_id,
                                             where=where)),
            "last_amazon_reply_at": epoch_to_iso(row.get("lastAmazonReplyDate")),
        })
    return cases, int(total)


def _attachment(raw: dict) -> dict:
    size = raw.get("fileSize")
    return {
        "attachment_id": None if raw.get("attachmentId") is None else str(raw["attachmentId"]),
        "name": raw.get("fileName") or "",
        "size": int(size) if size is not None else None,
        "content_type": raw.get("contentType"),
    }


def _contact(raw: dict, *, case_id, index: int) -> dict:
    where = f"contactList[{index}]"
    contact_id = _need(raw, "contactId", case_id=case_id, where=where)
    outbound = bool(_need(raw, "outbound", case_id=case_id, where=where))
    address = raw.get("sender")
    html = raw.get("message") or ""
    return make_message(
        contact_id=str(contact_id),
        sender="amazon" if outbound else "seller",
        # `sender` is the literal "Amazon" on Amazon's messages: an address only if it is one.
        sender_address=address if isinstance(address, str) and "@" in address else None,
        sent_at=epoch_to_iso(_need(raw, "timestamp", case_id=case_id, where=where)),
        html=html,
        truncated=bool(raw.get("messageTruncated")),
        attachments=[_attachment(a) for a in raw.get("attachments") or []],
    )


def parse_view_case(body: bytes | str, case_id: str | None = None) -> dict:
    """One ViewCase page -> ParsedCase (messages newest first, as served).

    `next_token` is the page's `currentToken` (null on the last page); join pages
    with `merge_pages`. The JSON carries no case id, so pass the one you asked for.
    """
    data = load(body, case_id=case_id, what="ViewCase JSON")
    meta = _need(data, "viewCaseMetaData", case_id=case_id, where="ViewCase")
    if case_id is None:
        found = meta.get("caseId") or data.get("caseId")
        case_id = str(found) if found is not None else None
    contacts = _need(data, "contactList", case_id=case_id, where="ViewCase") or []
    tags = [str(t) for t in meta.get("caseTags") or []]
    total = data.get("totalNumberOfContacts")
    token = data.get("currentToken")
    return {
        "case_id": case_id,
        "subject": _need(meta, "caseTitle", case_id=case_id, where="viewCaseMetaData") or "",
        "status": _need(meta, "caseStatus", case_id=case_id, where="viewCaseMetaData"),
        "tags": tags,
        "category": tags[0] if tags else None,
        "created_at": epoch_to_iso(_need(meta, "creationDate", case_id=case_id,
                                         where="viewCaseMetaData")),
        "primary_email": meta.get("primaryEmail"),
        "can_edit": _opt_bool(meta.get("canEditCase")),
        "can_reopen": _opt_bool(meta.get("canReopenCase")),
        "escalated": _opt_bool(meta.get("escalated")),
        "total_messages": int(total) if total is not None else None,
        "next_token": str(token) if token not in (None, "") else None,
        "messages": [_contact(c, case_id=case_id, index=i) for i, c in enumerate(contacts)],
    }


def _opt_bool(value) -> bool | None:
    return None if value is None else bool(value)


def parse_contact_message(body: bytes | str) -> dict:
    """GetContactMessage answer -> {"contact_id", "html", "text"} (the full message)."""
    data = load(body, what="GetContactMessage JSON")
    contact_id = _need(data, "contactId", case_id=None, where="GetContactMessage")
    html = _need(data, "message", case_id=None, where="GetContactMessage") or ""
    return {"contact_id": str(contact_id), "html": html, "text": html_to_text(html)}
