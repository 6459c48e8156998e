"""The parsed records of DESIGN.md ("Parsed records") and the operations on them that
do not depend on where they were parsed from: timestamps, message keys, joining the
pages of one thread, and putting the full text into truncated messages."""

from __future__ import annotations

import hashlib

from scrapers.errors import LayoutError
from scrapers.parse.channels import chat_turns
from scrapers.parse.shapes import epoch_iso
from scrapers.parse.text import html_to_text


def epoch_to_iso(value) -> str | None:
    """Epoch seconds (JSON number, decimals allowed) -> `YYYY-MM-DDTHH:MM:SSZ`; see
    `scrapers.parse.shapes.epoch_iso` (milliseconds, ISO strings, the 1990-2100 range:
    anything else is a LayoutError)."""
    return epoch_iso(value)


def html_message_key(sender: str, sent_at: str, text: str) -> str:
    """Key of a message seen only as rendered HTML (no contact id there).

    `"h:" + sha1("<sender>|<sent_at to the minute>|<text>")` where sender is
    `amazon`/`seller` (never the localised label) and sent_at is the UTC minute
    `YYYY-MM-DDTHH:MM`, so the same message saved in en_US and de_DE gets one key.
    The text is the plain text's first 200 characters with whitespace runs made one
    space: a truncated message (600 characters shown) and its expanded form share a key.
    """
    head = " ".join(text.split())[:200]
    digest = hashlib.sha1(f"{sender}|{sent_at[:16]}|{head}".encode()).hexdigest()
    return "h:" + digest


def message(*, contact_id, sender, sender_address, sent_at, html, truncated=False,
            attachments=None, text=None, message_key=None, channel="email") -> dict:
    """A ParsedMessage with its text, key and (for a chat) turns filled in."""
    if text is None:
        text = html_to_text(html)
    if message_key is None:
        message_key = contact_id or html_message_key(sender, sent_at, text)
    return {
        "contact_id": contact_id,
        "message_key": message_key,
        "sender": sender,
        "sender_address": sender_address,
        "sent_at": sent_at,
        "html": html,
        "text": text,
        "truncated": bool(truncated),
        "attachments": attachments or [],
        "channel": channel,
        "turns": chat_turns(text, sent_at) if channel == "chat" else [],
    }


def merge_pages(pages: list[dict]) -> dict:
    """Join the ViewCase pages of one case (first page first) into one ParsedCase.

    Case fields come from the first page (the newest view); messages keep the served
    order (newest first) and a message repeated across pages, as happens when a new
    message arrives between two page reads, is kept once (first seen wins). The
    result's `next_token` is the last page's, so a caller can resume.
    """
    if not isinstance(pages, list | tuple) or not pages:
        raise LayoutError("a list of parsed ViewCase pages", where="merge_pages",
                          found="none" if isinstance(pages, list | tuple) else type(pages).__name__)
    for n, page in enumerate(pages):
        _check_case(page, f"merge_pages page {n}")
    merged = {key: value for key, value in pages[0].items() if key != "messages"}
    seen: set[str] = set()
    messages = []
    for page in pages:
        for msg in page["messages"]:
            if msg["message_key"] in seen:
                continue
            seen.add(msg["message_key"])
            messages.append(msg)
    merged["messages"] = messages
    merged["next_token"] = pages[-1].get("next_token")
    if merged.get("total_messages") is None:
        merged["total_messages"] = next(
            (p["total_messages"] for p in pages if p.get("total_messages") is not None), None)
    if merged.get("case_id") is None:
        merged["case_id"] = next((p["case_id"] for p in pages if p.get("case_id")), None)
    return merged


def apply_full_messages(case: dict, full: dict[str, str],
                        texts: dict[str, str] | None = None) -> dict:
    """A copy of `case` whose truncated messages carry the full HTML from
    GetContactMessage: `{contact_id (or message_key): full_html}`. The input is not
    changed; messages not in `full` stay as they were (still marked truncated).
    `texts`, under the same keys, are those HTMLs' plain texts when the caller has them
    already (`parse_contact_message` made them): not worked out twice."""
    _check_case(case, "apply_full_messages")
    if not isinstance(full, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in full.items()):
        raise LayoutError("{contact id or message key: full HTML} of strings",
                          where="apply_full_messages", found=type(full).__name__)
    messages = []
    for msg in case["messages"]:
        key = msg["contact_id"] if msg["contact_id"] in full else msg["message_key"]
        html = full.get(key)
        if html is None:
            messages.append(msg)
            continue
        text = (texts or {}).get(key)
        if not isinstance(text, str):
            text = html_to_text(html)
        turns = chat_turns(text, msg.get("sent_at")) if msg.get("channel") == "chat" else \
            msg.get("turns", [])
        messages.append({**msg, "html": html, "text": text, "truncated": False,
                         "turns": turns})
    return {**case, "messages": messages}


def _check_case(case, where: str) -> None:
    """A ParsedCase as the parsers make it: a dict whose "messages" are dicts with a
    string "message_key" and a string-or-None "contact_id" (what the joins read)."""
    if not isinstance(case, dict) or not isinstance(case.get("messages"), list):
        raise LayoutError("a parsed case with a \"messages\" list", where=where,
                          found=type(case).__name__)
    for n, msg in enumerate(case["messages"]):
        if not (isinstance(msg, dict) and isinstance(msg.get("message_key"), str)
                and isinstance(msg.get("contact_id"), str | None)):
            raise LayoutError("a parsed message with a string \"message_key\"",
                              where=f"{where}, messages[{n}]", found=type(msg).__name__)
