"""Cleaning what a person (or a hand-edited URL) sends before it reaches a query.

Every query parameter of the UI passes through one of these, so that no value can turn
into a database error: text loses NUL and other control characters (FTS5 reads a NUL as
the end of its query string: "unterminated string") and lone surrogates (not encodable
for SQLite), and is capped in length (LIKE refuses very long patterns); numbers are
clamped into a range SQLite's 64-bit integers hold; choices fall back to their default.
A cleaned value is what the page then shows and links to, so the URL stays honest.
"""

from __future__ import annotations

import unicodedata

TEXT_MAX = 200
INT_MAX = 2**63 - 1


def clean_text(value: str | None, limit: int = TEXT_MAX) -> str:
    """Printable text: control characters (tabs and newlines become spaces), surrogates,
    private-use characters (the search marks are two of them) and unassigned code points
    removed, runs of spaces kept, trimmed, at most ``limit``
    characters."""
    if not value:
        return ""
    out = []
    for ch in value[: limit * 4]:  # bound the work before the characters are counted
        cat = unicodedata.category(ch)
        if ch in "\t\n\r":
            out.append(" ")
        elif cat in ("Cc", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return "".join(out).strip()[:limit].strip()


def clamp_int(value, default: int, lo: int = 1, hi: int = INT_MAX) -> int:
    """An integer from text, clamped to ``lo..hi``; ``default`` when it is no integer."""
    try:
        n = int(str(value).strip()[:40])
    except (TypeError, ValueError):
        return default
    return min(max(n, lo), hi)


def choice(value: str | None, options, default: str) -> str:
    """``value`` when it is one of ``options``, else ``default``."""
    return value if value in options else default
