"""How one stored message reads (PORTAL.md v2): by which channel it came (e-mail, chat,
phone call) and, for a chat, its transcript as turns (time, name, text).

The sync stores a chat's turns in ``messages.turns`` (JSON, see ``companion/schema/archive.py``
migration 7). Rows written before that, imports and any turns that do not read as a
list of turns fall back to the transcript's lines, one turn each with no time or name,
so a chat always reads as a transcript and never as an error. Pure functions: the case
page and the dossier call them on rows they already read.
"""

from __future__ import annotations

import json

from companion.read.labels import channel_label, channel_of

MAX_TURNS = 2000  # a 50 KB transcript holds far fewer lines; bounds a hostile row


def _turn(value) -> dict | None:
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        return None
    at, name = value.get("at"), value.get("name")
    return {"at": at if isinstance(at, str) and at else None,
            "name": name if isinstance(name, str) and name.strip() else None,
            "text": value["text"]}


def stored_turns(raw: str | None) -> list[dict] | None:
    """The turns the sync stored, or None when there are none that read as turns."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(data, list):
        return None
    turns = [t for t in (_turn(v) for v in data[:MAX_TURNS]) if t is not None]
    return turns or None


def line_turns(text: str | None) -> list[dict]:
    """A transcript's non-empty lines as turns without time or name (the fallback)."""
    lines = [line.strip() for line in (text or "").splitlines()]
    return [{"at": None, "name": None, "text": line} for line in lines if line][:MAX_TURNS]


def present(message: dict) -> dict:
    """The message with ``channel`` (email, chat or phone), ``channel_label`` ("Chat",
    "Phone call" or "") and ``turns`` (a chat's transcript; [] for the others)."""
    channel = channel_of(message.get("channel"))
    turns: list[dict] = []
    if channel == "chat":
        turns = stored_turns(message.get("turns")) or line_turns(message.get("text"))
    return {**message, "channel": channel, "channel_label": channel_label(channel),
            "turns": turns}
