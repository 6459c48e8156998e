"""Pure parsers for the portal's JSON (PORTAL.md section 4): SearchForCases, ViewCase,
GetContactMessage, and the error bodies. Bytes in, DESIGN.md records out; no network.

A body that lacks a field the contract promises raises `LayoutError` naming the case
and the field, so the sync can keep the capture and say what changed.
"""

from __future__ import annotations

from scrapers.errors import LayoutError
from scrapers.parse.channels import channel_of_type
from scrapers.parse.records import (
    apply_full_messages,
    epoch_to_iso,
    merge_pages,
)
from scrapers.parse.records import message as make_message
from scrapers.parse.shapes import Reader, describe, load
from scrapers.parse.text import html_to_text

__all__ = ["parse_search", "parse_view_case", "parse_contact_message", "merge_pages",
           "apply_full_messages", "epoch_to_iso", "load"]


def parse_search(body: bytes | str) -> tuple[list[dict], int]:
    """SearchForCases answer -> (ListedCase records in served order, totalNumberOfResults)."""
    top = Reader(load(body, what="SearchForCases JSON"), case_id=None,
                 where="SearchForCases", what="a SearchForCases object")
    rows = top.items("caseSearchResultList", required=True)
    total = top.count("totalNumberOfResults", required=True)
    cases = []
    for i, raw in enumerate(rows):
        where = f"caseSearchResultList[{i}]"
        row = Reader(raw, case_id=None, where=where, what="a case object")
        row.case_id = case_id = row.case_ident("caseId")
        cases.append({
            "case_id": case_id,
            "status": row.text("status", required=True, max_chars=100),
            "subject": row.text("shortDescription"),
            "created_at": row.time("creationDate", required=True),
            "last_amazon_reply_at": row.time("lastAmazonReplyDate"),
        })
    return cases, total


def _attachment(raw, *, case_id, where: str) -> dict:
    item = Reader(raw, case_id=case_id, where=where, what="an attachment object")
    return {
        "attachment_id": item.ident("attachmentId"),
        "name": item.text("fileName", max_chars=1000),
        "size": item.count("fileSize"),
        "content_type": item.text("contentType", empty=None, max_chars=200),
    }


def _contact(raw, *, case_id, index: int) -> dict:
    where = f"contactList[{index}]"
    contact = Reader(raw, case_id=case_id, where=where, what="a contact object")
    contact_id = contact.ident("contactId", required=True)
    outbound = contact.flag("outbound", required=True)
    address = contact.text("sender", empty=None, max_chars=1000)
    sent_at = contact.time("timestamp", required=True)
    return make_message(
        contact_id=contact_id,
        # v2: outbound is Amazon's messages and call notes; a chat is the seller's contact.
        sender="amazon" if outbound else "seller",
        channel=_channel(contact),
        # `sender` is the literal "Amazon" on Amazon's messages: an address only if it is one.
        sender_address=address if address and "@" in address else None,
        sent_at=sent_at,
        html=contact.text("message"),
        truncated=bool(contact.flag("messageTruncated")),
        attachments=[_attachment(a, case_id=case_id, where=f"{where}.attachments[{n}]")
                     for n, a in enumerate(contact.items("attachments"))],
    )


def _channel(contact: Reader) -> str:
    """`channelType` (EMAIL, CHAT, PHONE; absent before v2) -> the record's channel."""
    value = contact.raw("channelType", required=False)
    try:
        return channel_of_type(value)
    except LayoutError as exc:
        return contact.fail("channelType", "EMAIL, CHAT or PHONE", found=exc.found)


def _tags(meta: Reader) -> list[str]:
    """caseTags: a list of strings (a single string is taken as a list of one)."""
    value = meta.raw("caseTags", required=False)
    if isinstance(value, str):
        value = [value]
    tags = meta.items("caseTags") if not isinstance(value, list) else value
    for n, tag in enumerate(tags):
        if not isinstance(tag, str) or len(tag) > 1000:
            meta.fail(f"caseTags[{n}]", "a string", tag)
    return list(tags)


def parse_view_case(body: bytes | str, case_id: str | None = None) -> dict:
    """One ViewCase page -> ParsedCase (messages newest first, as served).

    `next_token` is the page's `currentToken` (null on the last page); join pages
    with `merge_pages`. The JSON carries no case id, so pass the one you asked for.
    """
    if case_id is not None and not isinstance(case_id, str):
        raise LayoutError("a case id as a string", found=describe(case_id))
    top = Reader(load(body, case_id=case_id, what="ViewCase JSON"), case_id=case_id,
                 where="ViewCase", what="a ViewCase object")
    meta = top.child("viewCaseMetaData")
    if case_id is None:
        for holder in (meta, top):
            if "caseId" in holder.obj:
                case_id = holder.case_ident("caseId")
                break
        top.case_id = meta.case_id = case_id
    contacts = top.items("contactList", required=True)
    tags = _tags(meta)
    created_at = meta.time("creationDate", required=True)
    status = meta.text("caseStatus", required=True, empty=None, max_chars=100)
    if not status:
        meta.fail("caseStatus", "a status", found=describe(status))
    return {
        "case_id": case_id,
        "subject": meta.text("caseTitle", required=True),
        "status": status,
        "tags": tags,
        "category": tags[0] if tags else None,
        "created_at": created_at,
        "primary_email": meta.text("primaryEmail", empty=None, max_chars=1000),
        "can_edit": meta.flag("canEditCase"),
        "can_reopen": meta.flag("canReopenCase"),
        "reopen_notice": None,  # a page's notice; the JSON has no such field
        "escalated": meta.flag("escalated"),
        "total_messages": top.count("totalNumberOfContacts"),
        "next_token": _token(top),
        "messages": [_contact(c, case_id=case_id, index=i) for i, c in enumerate(contacts)],
    }


def _token(top: Reader) -> str | None:
    """currentToken: a string (or a number) when more pages follow, null/"" on the last."""
    value = top.raw("currentToken", required=False)
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return top.text("currentToken", max_chars=4096)


def parse_contact_message(body: bytes | str) -> dict:
    """GetContactMessage answer -> {"contact_id", "html", "text"} (the full message)."""
    top = Reader(load(body, what="GetContactMessage JSON"), case_id=None,
                 where="GetContactMessage", what="a GetContactMessage object")
    contact_id = top.ident("contactId", required=True)
    html = top.text("message", required=True)
    return {"contact_id": contact_id, "html": html, "text": html_to_text(html)}
