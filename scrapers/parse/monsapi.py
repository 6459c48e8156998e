"""Pure parsers for the portal's JSON (PORTAL.md section 4): SearchForCases, ViewCase,
GetContactMessage, and the error bodies. Bytes in, DESIGN.md records out; no network.

Which fields each object has, and how each is read, is declared once in
``scrapers.parse.contract`` (which ``caselog doctor`` checks against too). A body that
lacks a field the parser requires raises `LayoutError` naming the case and the field, so
the sync can keep the capture and say what changed.
"""

from __future__ import annotations

from scrapers.errors import LayoutError
from scrapers.parse.contract import (
    ATTACHMENT,
    CONTACT,
    CONTACT_MESSAGE,
    META,
    SEARCH,
    SEARCH_ROW,
    VIEW_CASE,
    read,
)
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
    top = read(Reader(load(body, what="SearchForCases JSON"), case_id=None,
                      where="SearchForCases", what="a SearchForCases object"), SEARCH)
    cases = []
    for i, raw in enumerate(top["caseSearchResultList"]):
        row = Reader(raw, case_id=None, where=f"caseSearchResultList[{i}]",
                     what="a case object")
        row.case_id = row.case_ident("caseId")  # errors below name the case
        v = read(row, SEARCH_ROW, known={"caseId": row.case_id})
        cases.append({
            "case_id": v["caseId"],
            "status": v["status"],
            "subject": v["shortDescription"],
            "created_at": v["creationDate"],
            "last_amazon_reply_at": v["lastAmazonReplyDate"],
        })
    return cases, top["totalNumberOfResults"]


def _attachment(raw, *, case_id, where: str) -> dict:
    v = read(Reader(raw, case_id=case_id, where=where, what="an attachment object"),
             ATTACHMENT)
    return {"attachment_id": v["attachmentId"], "name": v["fileName"],
            "size": v["fileSize"], "content_type": v["contentType"]}


def _contact(raw, *, case_id, index: int) -> dict:
    where = f"contactList[{index}]"
    v = read(Reader(raw, case_id=case_id, where=where, what="a contact object"), CONTACT)
    address = v["sender"]
    return make_message(
        contact_id=v["contactId"],
        # v2: outbound is Amazon's messages and call notes; a chat is the seller's contact.
        sender="amazon" if v["outbound"] else "seller",
        channel=v["channelType"],
        # `sender` is the literal "Amazon" on Amazon's messages: an address only if it is one.
        sender_address=address if address and "@" in address else None,
        sent_at=v["timestamp"],
        html=v["message"],
        truncated=bool(v["messageTruncated"]),
        attachments=[_attachment(a, case_id=case_id, where=f"{where}.attachments[{n}]")
                     for n, a in enumerate(v["attachments"])],
    )


def parse_view_case(body: bytes | str, case_id: str | None = None) -> dict:
    """One ViewCase page -> ParsedCase (messages newest first, as served).

    `next_token` is the page's `currentToken` (null on the last page); join pages
    with `merge_pages`. The JSON carries no case id, so pass the one you asked for.
    """
    if case_id is not None and not isinstance(case_id, str):
        raise LayoutError("a case id as a string", found=describe(case_id))
    top = Reader(load(body, case_id=case_id, what="ViewCase JSON"), case_id=case_id,
                 where="ViewCase", what="a ViewCase object")
    if case_id is None:
        meta = top.child("viewCaseMetaData")
        for holder in (meta, top):
            if "caseId" in holder.obj:
                case_id = holder.case_ident("caseId")
                break
        top.case_id = case_id
    v = read(top, VIEW_CASE)
    m = read(v["viewCaseMetaData"], META)
    tags = m["caseTags"]
    return {
        "case_id": case_id,
        "subject": m["caseTitle"],
        "status": m["caseStatus"],
        "tags": tags,
        "category": tags[0] if tags else None,
        "created_at": m["creationDate"],
        "primary_email": m["primaryEmail"],
        "can_edit": m["canEditCase"],
        "can_reopen": m["canReopenCase"],
        "reopen_notice": None,  # a page's notice; the JSON has no such field
        "escalated": m["escalated"],
        "total_messages": v["totalNumberOfContacts"],
        "next_token": v["currentToken"],
        "messages": [_contact(c, case_id=case_id, index=i)
                     for i, c in enumerate(v["contactList"])],
    }


def parse_contact_message(body: bytes | str) -> dict:
    """GetContactMessage answer -> {"contact_id", "html", "text"} (the full message)."""
    v = read(Reader(load(body, what="GetContactMessage JSON"), case_id=None,
                    where="GetContactMessage", what="a GetContactMessage object"),
             CONTACT_MESSAGE)
    return {"contact_id": v["contactId"], "html": v["message"],
            "text": html_to_text(v["message"])}
