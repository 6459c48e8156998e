"""How a case's incoming messages meet the ones already stored: one pure function, so the
sync, ``caselog reparse`` and ``caselog import`` keep each message once by the same rules.

- A message is known by its key (the portal's contact id, or ``h:`` + a hash of what a
  rendered page shows, see ``scrapers.parse.records.html_message_key``).
- A rendered copy (``h:``) of a message stored with its id is the same message: skipped.
  A message with its id replaces its stored rendered copy (the copy is deleted).
- A stored full text is never replaced by the portal's truncated preview, and an
  unchanged message is not rewritten (which spares the FTS index).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MergePlan:
    rows: list[dict] = field(default_factory=list)      # messages to upsert, oldest first
    replaced: list[str] = field(default_factory=list)   # stored keys they supersede
    new_amazon: int = 0                                 # Amazon messages not seen before


def rendered_key(key: str, sender: str, sent_at: str | None, text: str | None) -> str:
    """The key this message has (or would have) when read from a rendered page."""
    if key.startswith("h:"):
        return key
    from scrapers.parse.records import html_message_key

    return html_message_key(sender, sent_at or "", text or "")


def plan(existing: dict[str, dict], incoming: list[dict]) -> MergePlan:
    """``existing``: stored messages by key (``sender``, ``sent_at``, ``text``,
    ``truncated``); ``incoming``: parsed messages newest first, as pages list them."""
    out = MergePlan()
    by_rendered: dict[str, str] = {}
    # Rendered copies and records with ids only meet after an import or an HTML
    # fallback; only then is the matching worth computing.
    if any(k.startswith("h:") for k in existing) or \
            any(m["message_key"].startswith("h:") for m in incoming):
        by_rendered = {rendered_key(k, r["sender"], r["sent_at"], r["text"]): k
                       for k, r in existing.items()}
    for m in reversed(incoming):  # oldest first, so rowid order is thread order
        key, truncated = m["message_key"], bool(m.get("truncated"))
        prev = existing.get(key)
        if prev is None:
            twin = by_rendered.get(rendered_key(key, m["sender"], m["sent_at"], m.get("text")))
            if twin is not None and key.startswith("h:") and not twin.startswith("h:"):
                continue  # a rendered copy of a message already stored with its id
            if twin is not None and twin.startswith("h:") and not key.startswith("h:"):
                out.replaced.append(twin)
            elif m["sender"] == "amazon":
                out.new_amazon += 1
        elif truncated and not prev["truncated"]:
            continue  # never replace a stored full text by the portal's preview
        elif (not truncated and prev["text"] == m.get("text")
              and prev["sent_at"] == m["sent_at"] and not prev["truncated"]
              and not m.get("attachments")):
            continue  # unchanged
        out.rows.append(m)
    return out
