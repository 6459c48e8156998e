"""How a case's incoming messages meet the ones already stored: one pure function, so the
sync (from either source), ``caselog reparse`` and ``caselog import`` keep each message
once by the same rules.

- A message is known by its key (a contact id, or ``h:`` + a hash of what a rendered
  page shows, see ``scrapers.parse.records.html_message_key``), and across sources by
  its :func:`identity`: channel, sender, time to the second and its words. The portal's
  mons-api and the Support API may give one message different contact ids (portals
  differ), and a chat's transcript is written differently by each, so ids alone cannot
  tell.
- When two copies meet, the more detailed one is kept (:data:`RANK`): the portal's own
  record (full text, attachment sizes), then the Support API's, then a rendered or saved
  page's (minutes only, no ids). A copy never replaces a better one.
- A stored full text is never replaced by the portal's truncated preview, and an
  unchanged message is not rewritten (which spares the FTS index).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from scrapers.parse.records import html_message_key

RANK = {"json": 3, "spapi": 2, "html": 1, "import": 1}
# Times a transcript line may start with (ISO, or a clock with an optional zone word),
# dropped from a chat's words: each source writes them its own way.
_TIMES = re.compile(
    r"\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?Z?\b|\b\d{1,2}:\d\d(?::\d\d)?"
    r"(?:\s*(?:[AP]\.?M\.?|UTC|GMT))?\b", re.I)
_WORDS = re.compile(r"\w+")


@dataclass
class MergePlan:
    rows: list[dict] = field(default_factory=list)      # messages to upsert, oldest first
    replaced: list[str] = field(default_factory=list)   # stored keys they supersede
    cleared: list[str] = field(default_factory=list)    # keys whose attachments go too
    new_amazon: int = 0                                 # Amazon messages not seen before


def words(text: str | None, channel: str | None) -> str:
    """A message's words, the same whichever source wrote it: lower case, punctuation
    and spacing ignored, and for a chat the turn times too."""
    text = text or ""
    if channel == "chat":
        text = _TIMES.sub(" ", text)
    return " ".join(_WORDS.findall(text.casefold()))


def identity(m: dict) -> tuple:
    """What makes two copies of one message the same message, across sources."""
    channel = m.get("channel") or "email"
    return (channel, m.get("sender"), (m.get("sent_at") or "")[:19],
            words(m.get("text"), channel))


def rendered_key(key: str, sender: str, sent_at: str | None, text: str | None) -> str:
    """The key this message has (or would have) when read from a rendered page."""
    if key.startswith("h:"):
        return key
    return html_message_key(sender, sent_at or "", text or "")


class _Stored:
    """The stored messages of one case, findable by key, identity and rendered key."""

    def __init__(self, existing: dict[str, dict], incoming: list[dict]):
        self.by_key = existing
        self.by_identity = {identity(r): k for k, r in existing.items()}
        self.by_rendered: dict[str, str] = {}
        # Rendered copies and records with ids only meet after an import or an HTML
        # fallback; only then is that matching worth computing.
        if any(k.startswith("h:") for k in existing) or \
                any(m["message_key"].startswith("h:") for m in incoming):
            self.by_rendered = {rendered_key(k, r["sender"], r["sent_at"], r["text"]): k
                                for k, r in existing.items()}

    def twin(self, m: dict) -> str | None:
        """The stored key of the same message under another key, if any."""
        if not self.by_key:  # nothing stored (a new case, a reparse): no twin to find
            return None
        found = self.by_identity.get(identity(m))
        if found is None and self.by_rendered:
            found = self.by_rendered.get(
                rendered_key(m["message_key"], m["sender"], m["sent_at"], m.get("text")))
        return found if found != m["message_key"] else None


def _rank(key: str, row: dict) -> int:
    """How detailed a stored copy is (a rendered copy is known by its ``h:`` key)."""
    return 1 if key.startswith("h:") else RANK.get(row.get("source") or "json", 1)


def plan(existing: dict[str, dict], incoming: list[dict], source: str = "json") -> MergePlan:
    """``existing``: stored messages by key (``sender``, ``sent_at``, ``text``,
    ``truncated``, ``channel``, ``source``); ``incoming``: parsed messages newest first,
    as pages list them, read by ``source`` (json | spapi | html | import)."""
    out = MergePlan()
    stored = _Stored(existing, incoming)
    rank = RANK.get(source, 1)
    for m in reversed(incoming):  # oldest first, so rowid order is thread order
        key, truncated = m["message_key"], bool(m.get("truncated"))
        prev = existing.get(key)
        if prev is None:
            twin = stored.twin(m)
            if twin is not None and _rank(twin, existing[twin]) >= rank:
                continue  # the same message is stored already, as good or better
            if twin is not None:
                out.replaced.append(twin)
            elif m["sender"] == "amazon":
                out.new_amazon += 1
        elif _rank(key, prev) > rank:
            continue  # a better copy under the same id (the portal's, say)
        elif _rank(key, prev) < rank:
            out.cleared.append(key)  # this copy is better: its attachments replace those
        elif truncated and not prev["truncated"]:
            continue  # never replace a stored full text by the portal's preview
        elif (not truncated and prev["text"] == m.get("text")
              and prev["sent_at"] == m["sent_at"] and not prev["truncated"]
              and not m.get("attachments")):
            continue  # unchanged
        out.rows.append(m)  # (a cleared key is always written again, just below)
    return out
