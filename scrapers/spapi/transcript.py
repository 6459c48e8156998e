"""Turns read back from a chat transcript, for chats whose ``events`` list is empty.

A transcript is lines ``<ISO time> <name> <text>`` separated by blank lines (the model's
example; there the separators are even the two characters ``\\n``, so both forms split).
A name may have spaces ("Amazon Associate Kyle") and nothing marks where it ends, so the
name is taken as the longest run of leading words (up to ``MAX_NAME_WORDS``) that every
line beginning with the same first word shares, when at least two lines do; else the
first word. A transcript is free text: whatever does not fit is kept as text of the turn
before, and nothing here raises.
"""

from __future__ import annotations

import re
from collections import Counter

from scrapers.spapi.times import iso_time, seconds

MAX_NAME_WORDS = 4
_SPLIT = re.compile(r"(?:\r?\n|\\n)+(?=\d{4}-\d{2}-\d{2}T)", re.ASCII)
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
                    r"(?:Z|[+-]\d{2}(?::?\d{2})?))(?:[ \t]+|$)", re.ASCII | re.MULTILINE)


def transcript_turns(transcript: str) -> list[dict]:
    """[{"at": "YYYY-MM-DDTHH:MM:SSZ", "name", "text"}] in the transcript's order."""
    heads: list[tuple[str, list[str], str]] = []  # (time, first-line words, more lines)
    texts: list[str] = []
    for chunk in _SPLIT.split(transcript.strip()):
        match = _STAMP.match(chunk)
        moment = iso_time(match.group(1)) if match else None
        if moment is None:
            if texts:  # a line without a time continues the turn before
                texts[-1] += "\n" + chunk.strip()
            continue
        first, _, more = chunk[match.end():].partition("\n")
        heads.append((seconds(moment), first.split(), more))
        texts.append(first.strip())
    counts = _name_words([words for _, words, _ in heads])
    turns = []
    for (at, words, more), line, k in zip(heads, texts, counts, strict=True):
        name = " ".join(words[:k])
        said = _after_words(line, k)
        if more.strip():
            said = (said + "\n" + more.strip()) if said else more.strip()
        turns.append({"at": at, "name": name, "text": said.strip()})
    return turns


def _name_words(lines: list[list[str]]) -> list[int]:
    """How many leading words of each line are the speaker's name (see module doc)."""
    support: Counter = Counter()
    for words in lines:
        for k in range(1, min(MAX_NAME_WORDS, len(words)) + 1):
            support[tuple(words[:k])] += 1
    out = []
    for words in lines:
        if not words:
            out.append(0)
            continue
        k, base = 1, support[tuple(words[:1])]
        # Leave at least one word of text on the line when there is more than one.
        while base >= 2 and k + 1 <= min(MAX_NAME_WORDS, len(words) - 1) \
                and support[tuple(words[:k + 1])] == base:
            k += 1
        out.append(k)
    return out


def _after_words(line: str, k: int) -> str:
    """``line`` without its first ``k`` whitespace-separated words, spacing kept."""
    rest = line.lstrip()
    for _ in range(k):
        parts = rest.split(None, 1)
        rest = parts[1] if len(parts) > 1 else ""
    return rest
