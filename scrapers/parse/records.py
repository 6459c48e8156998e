"""The parsed records of DESIGN.md ("Parsed records") and the operations on them that
do not depend on where they were parsed from: timestamps, message keys, joining the
pages of one thread, and putting the full text into truncated messages."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime

from scrapers.parse.text import html_to_text


def epoch_to_iso(value) -> str | None:
    """Epoch seconds (JSON number, decimals allowed) -> `YYYY-MM-DDTHH:MM:SSZ`.

    Fractions are dropped (floor), as `strftime` would. Values too large to be seconds
    are read as milliseconds; an ISO string is passed through normalised.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not an epoch time: {value!r}")
    seconds = float(value)
    if seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    moment = datetime.fromtimestamp(math.floor(seconds), tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


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
            attachments=None, text=None, message_key=None) -> dict:
    """A ParsedMessage with its text and key filled in."""
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
    }


def merge_pages(pages: list[dict]) -> dict:
    """Join the ViewCase pages of one case (first page first) into one ParsedCase.

    Case fields come from the first page (the newest view); messages keep the served
    order (newest first) and a message repeated across pages, as happens when a new
    message arrives between two page reads, is kept once (first seen wins). The
    result's `next_token` is the last page's, so a caller can resume.
    """
    if not pages:
        raise ValueError("merge_pages needs at least one page")
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


def apply_full_messages(case: dict, full: dict[str, str]) -> dict:
    """A copy of `case` whose truncated messages carry the full HTML from
    GetContactMessage: `{contact_id (or message_key): full_html}`. The input is not
    changed; messages not in `full` stay as they were (still marked truncated)."""
    messages = []
    for msg in case["messages"]:
        html = full.get(msg["contact_id"]) if msg["contact_id"] else None
        if html is None:
            html = full.get(msg["message_key"])
        if html is None:
            messages.append(msg)
            continue
        messages.append({**msg, "html": html, "text": html_to_text(html), "truncated": False})
    return {**case, "messages": messages}
