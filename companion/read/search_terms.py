"""What a person types, turned into the search it means: one rule for the search page,
the cases table's filter and the timeline's ``q``.

Each word typed (at most 12, all required) is matched in one of three ways:

- **a word** (``invoice``, ``Produktsicherheit``): by stem, diacritics folded, in the
  Porter FTS tables of migration 5 (``cases_fts``, ``messages_fts``); ``word*`` asks for
  a prefix there.
- **part of an id or of a sentence without spaces**: a word holding a digit or an
  id's punctuation (``FBA15H``, ``113-12``, ``MUG-B``), or one in a script written
  without spaces (Japanese, Chinese, Thai...; Korean too, whose particles cling to
  words), matches anywhere inside the text, through the trigram index of migration 22
  (``companion.schema.search``): 3+ characters as the AND of their trigrams, checked
  against the stored text; 1-2 characters (``請求``) as the OR of the indexed trigrams
  that begin with them. Shorter words of other scripts fall back to the word rule.
- **a case id**: the whole query in digits also finds the cases whose id starts so
  (``case_id_hits``); a stored id typed whole opens the case (the search view).

An id's first two characters (``B0``) match like a short word; one digit or letter
alone is a word.

``match`` gives the matching rows of ``cases c`` or ``messages m`` (SQL clauses and a
count); ``mark`` puts the search marks around what matched, for the parts FTS cannot
highlight.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlite_utils

from companion.read.params import clean_text
from companion.read.queries import MARK_CLOSE, MARK_OPEN, fts_query

MAX_WORDS = 12
# A one- or two-character word begins at most this many distinct trigrams before its
# OR gets slower than reading the texts: past it, the texts are read (``instr``).
MAX_TERMS = 400
# Scripts written without spaces between words (and Hangul), by code point.
_UNSPACED = (
    (0x0E00, 0x0EFF), (0x0F00, 0x0FFF), (0x1000, 0x109F), (0x1100, 0x11FF),
    (0x1780, 0x17FF), (0x2E80, 0x2FDF), (0x3040, 0x30FF), (0x3100, 0x31FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA960, 0xA97F), (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x20000, 0x3134F),
)
_ID_PUNCTUATION = set("-_/.:#@+")
# Word separators beyond whitespace: the ideographic comma and full stop, brackets.
_SPLIT = re.compile(r"[\s、。，「」『』（）【】]+")
_INDEX = {"cases": ("cases_fts", "cases_grams", "c.subject", "c"),
          "messages": ("messages_fts", "messages_grams", "m.text", "m")}


def unspaced(ch: str) -> bool:
    n = ord(ch)
    return any(lo <= n <= hi for lo, hi in _UNSPACED)


@dataclass(frozen=True)
class Words:
    """A query sorted by how each word matches (see the module docstring)."""

    text: str
    stems: tuple[str, ...] = ()    # words for the Porter index (``*`` kept)
    parts: tuple[str, ...] = ()    # 3+ characters, matched anywhere
    shorts: tuple[str, ...] = ()   # 1-2 characters (an unspaced script, or ``B0``)
    idents: tuple[str, ...] = ()   # the parts and shorts that look like ids
    digits: str = ""               # the whole query when it is digits: a case id's start

    def __bool__(self) -> bool:
        return bool(self.stems or self.parts or self.shorts)

    @property
    def fts(self) -> str | None:
        return fts_query(" ".join(self.stems)) if self.stems else None

    @property
    def ids_only(self) -> bool:
        """Only id-like words: a case's messages may name it where its subject does not."""
        return bool(self.idents) and not self.stems and (
            len(self.idents) == len(self.parts) + len(self.shorts))


def _trim(word: str) -> str:
    """A word without the punctuation around it (``(B0ABC),`` -> ``B0ABC``); a trailing
    ``*`` stays, it asks for a prefix."""
    star = word.endswith("*")
    core = word.rstrip("*")
    cats = ("P", "S")
    while core and unicodedata.category(core[0])[0] in cats:
        core = core[1:]
    while core and unicodedata.category(core[-1])[0] in cats:
        core = core[:-1]
    return core + ("*" if star and core else "")


def parse(text: str | None) -> Words:
    q = clean_text(text)
    stems, parts, shorts, idents = [], [], [], []
    for raw in _SPLIT.split(q)[:MAX_WORDS]:
        word = _trim(raw)
        if not word:
            continue
        bare = word.rstrip("*")
        ident = len(bare) >= 2 and (any(ch.isdigit() for ch in bare)
                                    or any(ch in _ID_PUNCTUATION for ch in bare))
        if ident or any(unspaced(ch) for ch in bare):
            (parts if len(bare) >= 3 else shorts).append(bare.lower())
            if ident:
                idents.append(bare.lower())
        else:
            stems.append(word)
    digits = q.lstrip("#").strip()
    digits = digits if digits.isascii() and digits.isdigit() and len(digits) <= 20 else ""
    return Words(q, tuple(stems), tuple(parts), tuple(shorts), tuple(idents), digits)


def _fts_string(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _cover(n: int) -> list[int]:
    """Where the trigrams start that cover a part of ``n`` characters without overlap
    (and the last one): the ``LIKE`` check restores the order, and every list left out
    of the AND is work saved (``fba`` begins every shipment id; half the time)."""
    starts = list(range(0, n - 2, 3))
    return starts + ([n - 3] if starts[-1] != n - 3 else [])


def _short_terms(db: sqlite_utils.Database, grams: str, short: str) -> list[str] | None:
    """The indexed trigrams that begin with ``short``; None when there are too many."""
    rows = db.execute(
        f"SELECT term FROM [{grams}_terms] WHERE term >= ? AND term < ? LIMIT ?",
        [short, short + "\U0010ffff", MAX_TERMS + 1]).fetchall()
    return None if len(rows) > MAX_TERMS else [r[0] for r in rows]


@dataclass
class Match:
    """The rows matching every word, as rowid sets (FTS subqueries, cheap to count and
    to intersect) and checks on the row itself (the stored text)."""

    alias: str
    table: str
    sets: list[str]
    rows: list[str]
    none: bool = False
    likes: list[str] | None = None  # every word as a check on the text, when all can be

    def scan(self) -> list[str] | None:
        """Clauses that read each row's text instead of the index: when most rows match
        (``B0`` begins half of all messages), checking the newest rows one by one finds
        a page at once, while gathering every match first costs 30 ms."""
        return None if self.none else self.likes

    def clauses(self) -> list[str]:
        """SQL clauses (to AND) over ``cases c`` or ``messages m``."""
        if self.none:
            return ["0"]
        # One IN per set, not an INTERSECT: SQLite sorts both sides of an INTERSECT,
        # 60 ms for two words of 20,000 and 50,000 matches; two lookups cost 15.
        return [f"{self.alias}.rowid IN ({one})" for one in self.sets] + self.rows

    def count_sql(self, cap: int | None = None) -> str:
        """How many rows match (at most ``cap``): from the index alone when no row check
        is needed (a rowid looked up in the table for each of 20,000 matches cost 20 ms)."""
        if self.none:
            return "SELECT 0"
        limit = f" LIMIT {int(cap)}" if cap else ""
        if not self.rows:
            first, *others = self.sets
            more = "".join(f" AND rowid IN ({one})" for one in others)
            where = f" WHERE 1{more}" if others else ""
            return f"SELECT count(*) FROM (SELECT rowid FROM ({first}){where}{limit})"
        return (f"SELECT count(*) FROM (SELECT 1 FROM {self.table} {self.alias} "
                f"WHERE {' AND '.join(self.clauses())}{limit})")


def match(db: sqlite_utils.Database, words: Words, table: str, params: dict,
          key: str = "w") -> Match:
    """The rows of ``cases`` (subject) or ``messages`` (text) matching every word;
    ``params`` gains the values, named after ``key`` so that matches over both tables
    can share one statement."""
    fts, grams, column, alias = _INDEX[table]
    found = Match(alias, table, [], [])
    likes = []
    for n, piece in enumerate((*words.parts, *words.shorts)):
        params[f"{key}_l{n}"] = _like(piece)
        likes.append(f"{column} LIKE :{key}_l{n} ESCAPE '\\'")
    found.likes = None if words.fts else likes
    if words.fts:
        params[f"{key}_fts"] = words.fts
        found.sets.append(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :{key}_fts")
    terms = [_fts_string(p[i:i + 3]) for p in words.parts for i in _cover(len(p))]
    for n, short in enumerate(words.shorts):
        begun = _short_terms(db, grams, short)
        if begun is None:  # so common that reading the texts is quicker
            found.rows.append(likes[len(words.parts) + n])
        elif not begun:
            found.none = True
        else:
            terms.append("(" + " OR ".join(_fts_string(t) for t in begun) + ")")
    if terms:
        params[f"{key}_g"] = " AND ".join(terms)
        found.sets.append(f"SELECT rowid FROM {grams} WHERE {grams} MATCH :{key}_g")
    # A part's trigrams may all be there, but not in a row: the text says.
    found.rows += [likes[n] for n, part in enumerate(words.parts) if len(part) > 3]
    return found


def where(db: sqlite_utils.Database, words: Words, table: str, params: dict,
          key: str = "w") -> list[str]:
    """``match(...).clauses()``: SQL clauses (to AND) for the rows matching every word."""
    return match(db, words, table, params, key).clauses()


def mark(text: str, words: Words) -> str:
    """``text`` with the search marks around every part and short word (the Porter
    words are marked by FTS5's own ``highlight``/``snippet``)."""
    found = _pattern(words)
    if found is None or not text:
        return text
    return found.sub(lambda m: MARK_OPEN + m.group(0) + MARK_CLOSE, text)


def excerpt(text: str, words: Words, chars: int = 220) -> str:
    """A window of ``text`` around the first part that matched, marked."""
    flat = re.sub(r"\s+", " ", text or "").strip()
    found = _pattern(words)
    hit = found.search(flat) if found else None
    start = 0 if hit is None else max(0, hit.start() - chars // 4)
    if start:
        space = flat.rfind(" ", start - 20, start)
        start = space + 1 if space > 0 else start
    piece = flat[start:start + chars]
    return (("…" if start else "") + mark(piece, words)
            + ("…" if start + chars < len(flat) else ""))


def _pattern(words: Words) -> re.Pattern | None:
    pieces = sorted({*words.parts, *words.shorts}, key=len, reverse=True)
    if not pieces:
        return None
    return re.compile("|".join(re.escape(p) for p in pieces), re.IGNORECASE)


def case_id_hits(db: sqlite_utils.Database, digits: str, limit: int = 20) -> list[dict]:
    """Cases whose id starts with ``digits``, the exact one first (ids are digits, so
    ``[digits, digits + ':')`` is the range of the primary key that holds them)."""
    if len(digits) < 3:  # "5" is the start of a tenth of all ids
        return []
    return list(db.query(
        "SELECT case_id, subject, status, created_at FROM cases "
        "WHERE case_id >= :d AND case_id < :e ORDER BY case_id != :d, created_at DESC "
        "LIMIT :n", {"d": digits, "e": digits + ":", "n": limit}))


def exact_case(db: sqlite_utils.Database, text: str | None) -> str | None:
    """The stored case whose id is what was typed (spaces and a leading ``#`` aside)."""
    digits = parse(text).digits
    if not 6 <= len(digits) <= 20:
        return None
    row = db.execute("SELECT case_id FROM cases WHERE case_id = ?", [digits]).fetchone()
    return row[0] if row else None
