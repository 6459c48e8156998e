"""Pure parsers for the Support API's JSON (2025-02-01 model): bytes in, DESIGN.md
records out, no network.

Total by construction: every body is size-checked before decoding, every field is
type-checked before use, every date is matched against ISO 8601 before it is read, and
HTML is depth-checked before ``html_to_text`` (whose block walk is quadratic in nesting
depth). Anything malformed raises ``LayoutError`` (a ``ParseError``) naming the case, the
field expected and where; nothing else escapes. Fields the model requires and caselog
needs (ids, status, channel, sender role, dates) must be there; descriptive ones
(subject, e-mail addresses, message text, phone number) may be missing.

Records (see ``parse_list_cases``, ``parse_list_contacts``): a case is ListedCase-like
with the API's status as given (``PENDING_AMAZON_ACTION``...); a contact is a
ParsedMessage plus ``channel``, ``sender_name`` and ``turns``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from html import escape

from scrapers.errors import LayoutError
from scrapers.parse.text import html_to_text
from scrapers.spapi.times import iso_time, millis, seconds
from scrapers.spapi.transcript import transcript_turns

__all__ = ["parse_list_cases", "parse_case", "parse_list_contacts", "api_errors",
           "STATUSES", "CHANNELS", "ROLES", "iso_time"]

MAX_BODY = 64 * 1024 * 1024  # bytes of one answer
MAX_ITEMS = 100_000  # entries of one list (a page holds at most 50 cases or contacts)
MAX_HTML_DEPTH = 1000  # nested block elements in one e-mail message
STATUSES = ("PENDING_AMAZON_ACTION", "PENDING_MERCHANT_ACTION", "RESOLVED", "TRANSFERRED")
CHANNELS = {"EMAIL": "email", "CHAT": "chat", "PHONE": "phone"}
ROLES = {"AMAZON": "amazon", "SELLING_PARTNER": "seller"}
# Blocks that nest when left open (a new <p> or <li> closes the last one instead).
_NESTING = re.compile(r"<(/?)(div|blockquote|ul|ol|dl|table|section|article|header|footer|"
                      r"aside|nav|main|address|figure|form|fieldset|details|center|pre)\b",
                      re.ASCII | re.IGNORECASE)


def load(body, *, what: str, case_id: str | None = None) -> dict:
    """Decode one answer into its top-level JSON object."""
    if isinstance(body, bytearray | memoryview):
        body = bytes(body)
    if not isinstance(body, bytes | str):
        raise LayoutError(what, case_id=case_id, found=type(body).__name__)
    if len(body) > MAX_BODY:
        raise LayoutError(f"{what} of at most {MAX_BODY} bytes", case_id=case_id,
                          found=f"{len(body)}")
    try:
        data = json.loads(body)
    except (ValueError, TypeError, RecursionError) as exc:
        raise LayoutError(what, case_id=case_id,
                          found=f"unparseable body ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise LayoutError(f"{what} (an object)", case_id=case_id, found=_kind(data))
    return data


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _get(obj: dict, key: str, types, *, where: str, case_id, required: bool = True):
    """``obj[key]`` if it has one of ``types``; None if absent/null and not required."""
    value = obj.get(key)
    if value is None:
        if required:
            raise LayoutError(f'"{key}"', case_id=case_id, where=where)
        return None
    if not isinstance(value, types) or isinstance(value, bool):
        wanted = {str: "a string", list: "a list", dict: "an object"}[types]
        raise LayoutError(f'"{key}" as {wanted}', case_id=case_id, where=where,
                          found=_kind(value))
    if isinstance(value, list) and len(value) > MAX_ITEMS:
        raise LayoutError(f'"{key}" with at most {MAX_ITEMS} entries', case_id=case_id,
                          where=where, found=f"{len(value)}")
    if isinstance(value, str) and required and not value.strip():
        raise LayoutError(f'"{key}" (not empty)', case_id=case_id, where=where,
                          found="an empty string")
    return value


def _time(obj: dict, key: str, *, where: str, case_id, required: bool = True):
    value = _get(obj, key, str, where=where, case_id=case_id, required=required)
    if value is None:
        return None
    moment = iso_time(value)
    if moment is None:
        raise LayoutError(f'"{key}" as an ISO 8601 time with a zone', case_id=case_id,
                          where=where, found=repr(value[:40]))
    return moment


def _next_token(data: dict, *, what: str, case_id=None) -> str | None:
    token = _get(data, "nextToken", str, where=what, case_id=case_id, required=False)
    return token or None


def parse_list_cases(body) -> tuple[list[dict], str | None]:
    """listCases page -> (case records in served order, nextToken or None). A page may
    be empty while it still gives a nextToken."""
    data = load(body, what="listCases JSON")
    rows = _get(data, "cases", list, where="listCases", case_id=None)
    cases = [_case(row, where=f"cases[{i}]") for i, row in enumerate(rows)]
    return cases, _next_token(data, what="listCases")


def parse_case(body) -> dict:
    """getCase answer -> one case record (the same shape as a listCases entry)."""
    return _case(load(body, what="getCase JSON"), where="getCase")


def _case(raw, *, where: str) -> dict:
    """{"case_id", "status", "subject", "created_at", "last_updated_at", "resolved_at",
    "primary_email", "cc_emails", "appointments"}; times ``YYYY-MM-DDTHH:MM:SSZ``."""
    if not isinstance(raw, dict):
        raise LayoutError("a Case object", where=where, found=_kind(raw))
    case_id = _get(raw, "caseId", str, where=where, case_id=None)
    get = {"where": where, "case_id": case_id}
    status = _get(raw, "status", str, **get)
    resolved = _time(raw, "resolvedDate", **get, required=False)
    cc = _get(raw, "ccEmails", list, **get, required=False) or []
    appointments = _get(raw, "appointments", list, **get, required=False) or []
    return {
        "case_id": case_id,
        "status": status,
        "subject": _get(raw, "subject", str, **get, required=False) or "",
        "created_at": seconds(_time(raw, "createdDate", **get)),
        "last_updated_at": seconds(_time(raw, "lastUpdatedDate", **get)),
        "resolved_at": seconds(resolved) if resolved else None,
        "primary_email": _get(raw, "primaryEmail", str, **get, required=False),
        "cc_emails": [e for e in cc if isinstance(e, str)],
        "appointments": [_appointment(a, case_id=case_id, where=f"{where}.appointments[{i}]")
                         for i, a in enumerate(appointments)],
    }


def _appointment(raw, *, case_id, where: str) -> dict:
    """{"appointment_id", "status", "earliest", "latest", "phone_number"}; the phone
    number is {"country_code", "number", "extension"} or None when not given."""
    if not isinstance(raw, dict):
        raise LayoutError("an Appointment object", case_id=case_id, where=where,
                          found=_kind(raw))
    get = {"where": where, "case_id": case_id}
    timing = _get(raw, "callbackTiming", dict, **get)
    phone = _get(raw, "phoneNumber", dict, **get, required=False)
    number = None
    if phone is not None:
        pget = {"where": where + ".phoneNumber", "case_id": case_id, "required": False}
        number = {"country_code": _get(phone, "countryCode", str, **pget),
                  "number": _get(phone, "number", str, **pget),
                  "extension": _get(phone, "extension", str, **pget)}
    tget = {"where": where + ".callbackTiming", "case_id": case_id}
    return {
        "appointment_id": _get(raw, "appointmentId", str, **get),
        "status": _get(raw, "status", str, **get),
        "earliest": seconds(_time(timing, "earliestCallbackTime", **tget)),
        "latest": seconds(_time(timing, "latestCallbackTime", **tget)),
        "phone_number": number,
    }


def parse_list_contacts(body, case_id: str | None = None) -> tuple[list[dict], str | None]:
    """listContacts page -> (ParsedMessage records in served order, nextToken or None).

    Each record: ``contact_id``, ``message_key`` (the contact id), ``channel`` (email |
    chat | phone), ``sender`` (amazon | seller; a chat is the seller's, a call's notes
    Amazon's), ``sender_address`` (None: the API gives names, not addresses),
    ``sender_name``, ``sent_at`` (to the second), ``html``, ``text``, ``truncated``
    (False), ``attachments`` (with ``download_url``), ``turns`` (a chat's
    ``{"at", "name", "text"}``; empty for e-mail and calls).
    """
    data = load(body, what="listContacts JSON", case_id=case_id)
    rows = _get(data, "contacts", list, where="listContacts", case_id=case_id)
    messages = [_contact(row, case_id=case_id, where=f"contacts[{i}]")
                for i, row in enumerate(rows)]
    return messages, _next_token(data, what="listContacts", case_id=case_id)


def _contact(raw, *, case_id, where: str) -> dict:
    if not isinstance(raw, dict):
        raise LayoutError("a Contact object", case_id=case_id, where=where, found=_kind(raw))
    get = {"where": where, "case_id": case_id}
    contact_id = _get(raw, "contactId", str, **get)
    channel = CHANNELS.get(_get(raw, "channel", str, **get))
    if channel is None:
        raise LayoutError('"channel" EMAIL, CHAT or PHONE', case_id=case_id, where=where,
                          found=repr(raw["channel"][:40]))
    sent = _time(raw, "createdDate", **get)
    content = {"email": _email, "chat": _chat, "phone": _phone}[channel](raw, **get)
    return {"contact_id": contact_id, "message_key": contact_id, "channel": channel,
            "sender": content["sender"], "sender_address": None,
            "sender_name": content.get("name"), "sent_at": seconds(sent),
            "html": content["html"], "text": content["text"], "truncated": False,
            "attachments": content.get("attachments", []), "turns": content.get("turns", [])}


def _email(raw: dict, *, where: str, case_id) -> dict:
    content = _get(raw, "emailContent", dict, where=where, case_id=case_id)
    inner = {"where": where + ".emailContent", "case_id": case_id}
    sender = _get(content, "sender", dict, **inner)
    role = _get(sender, "role", str, where=inner["where"] + ".sender", case_id=case_id)
    if role not in ROLES:
        raise LayoutError('"role" AMAZON or SELLING_PARTNER', case_id=case_id,
                          where=inner["where"] + ".sender", found=repr(role[:40]))
    html = _get(content, "message", str, **inner, required=False) or ""
    _check_depth(html, case_id=case_id, where=inner["where"])
    return {"sender": ROLES[role], "html": html, "text": html_to_text(html),
            "name": _get(sender, "displayName", str, where=inner["where"] + ".sender",
                         case_id=case_id, required=False),
            "attachments": _attachments(content, **inner)}


def _check_depth(html: str, *, case_id, where: str) -> None:
    if html.count("<") <= MAX_HTML_DEPTH:
        return  # cannot nest deeper than it has tags
    depth = deepest = 0
    for match in _NESTING.finditer(html):
        depth = max(0, depth - 1) if match.group(1) else depth + 1
        deepest = max(deepest, depth)
    if deepest > MAX_HTML_DEPTH:
        raise LayoutError(f'"message" nested at most {MAX_HTML_DEPTH} elements deep',
                          case_id=case_id, where=where, found=f"{deepest} levels")


def _chat(raw: dict, *, where: str, case_id) -> dict:
    content = _get(raw, "chatContent", dict, where=where, case_id=case_id)
    inner = {"where": where + ".chatContent", "case_id": case_id}
    events = _get(content, "events", list, **inner, required=False) or []
    transcript = _get(content, "transcript", str, **inner, required=False) or ""
    turns, attachments = [], []
    for i, event in enumerate(events):
        ewhere = f"{inner['where']}.events[{i}]"
        kind, at, name, text = _event(event, where=ewhere, case_id=case_id)
        if kind == "MESSAGE":
            turns.append((at, name, text))
        attachments += _attachments(event, where=ewhere, case_id=case_id)
    text = transcript.strip()
    if not text:  # the transcript's own form: "<ISO time> <name> <text>", blank-line apart
        text = "\n\n".join(" ".join(p for p in (millis(at), name, said) if p)
                           for at, name, said in turns)
    if turns:
        turns = [{"at": seconds(at), "name": name, "text": said} for at, name, said in turns]
    else:
        turns = transcript_turns(transcript)
    return {"sender": "seller", "html": _escaped(text), "text": text, "turns": turns,
            "attachments": attachments}


def _event(raw, *, where: str, case_id) -> tuple[str, datetime, str, str]:
    """(type, time, speaker's name, message) of one ChatEvent."""
    if not isinstance(raw, dict):
        raise LayoutError("a ChatEvent object", case_id=case_id, where=where, found=_kind(raw))
    get = {"where": where, "case_id": case_id}
    kind = _get(raw, "type", str, **get)
    at = _time(raw, "timestamp", **get)
    participant = _get(raw, "participant", dict, **get, required=False) or {}
    name = _get(participant, "displayName", str, where=where + ".participant",
                case_id=case_id, required=False) or ""
    text = _get(raw, "message", str, **get, required=False) or ""
    return kind, at, name.strip(), text.strip()


def _phone(raw: dict, *, where: str, case_id) -> dict:
    content = _get(raw, "phoneContent", dict, where=where, case_id=case_id)
    notes = _get(content, "callNotes", str, where=where + ".phoneContent", case_id=case_id,
                 required=False) or ""
    text = notes.strip()
    return {"sender": "amazon", "html": _escaped(text), "text": text}


def _escaped(text: str) -> str:
    """Plain text as HTML that ``html_to_text`` turns back into the same text."""
    return escape(text.replace("\r\n", "\n"), quote=False).replace("\n", "<br>")


def _attachments(obj: dict, *, where: str, case_id) -> list[dict]:
    out = []
    for i, raw in enumerate(_get(obj, "attachments", list, where=where, case_id=case_id,
                                 required=False) or []):
        at = f"{where}.attachments[{i}]"
        if not isinstance(raw, dict):
            raise LayoutError("an Attachment object", case_id=case_id, where=at,
                              found=_kind(raw))
        name = _get(raw, "name", str, where=at, case_id=case_id, required=False)
        if name is None:
            raise LayoutError('"name"', case_id=case_id, where=at)
        out.append({"attachment_id": None, "name": name, "size": None, "content_type": None,
                    "download_url": _get(raw, "downloadUrl", str, where=at, case_id=case_id,
                                         required=False) or None})
    return out


def api_errors(body) -> list[dict]:
    """An error answer's ``{"errors": [{"code", "message", "details"}]}`` (or LWA's
    ``{"error", "error_description"}``) as a list of those three strings; [] when the
    body is not one. Never raises: it reads answers that already went wrong."""
    try:
        data = load(body, what="error JSON")
    except LayoutError:
        return []
    if isinstance(data.get("error"), str):
        about = data.get("error_description")
        return [{"code": data["error"], "message": about if isinstance(about, str) else "",
                 "details": ""}]
    errors = data.get("errors")
    if not isinstance(errors, list):
        return []
    out = []
    for item in errors[:20]:
        if isinstance(item, dict):
            out.append({key: item[key] if isinstance(item.get(key), str) else ""
                        for key in ("code", "message", "details")})
    return out

