"""What a doctor report may repeat of what the portal said, and what it never may.

A report is meant to be attached to a public bug report, so it holds structure only:
keys, JSON types, lengths, counts, which layout, which checks failed, and the portal's
own words where they are the contract's vocabulary (status labels, column headers, test
ids, channel names). The seller's data never: no subject, message, name, e-mail address,
case id or file name. Two rules make that hold whatever the portal sends:

1. Words the portal showed reach a report only through :func:`shown`: PORTAL.md's own
   words as they are; any other text only when it is short, has no digits and no ``@``,
   and appears nowhere in this run's data (a label that is also a phrase of a message is
   withheld); else a description (`text of 23 characters, not shown`).
2. :func:`scrub` goes over the finished report and withholds any string that holds an
   e-mail address, a run of six digits or more, or any data value of this run; what is
   left passes ``companion.redact.redact`` (secrets), as everything caselog says does.

The data values (:func:`collect`) are the values PORTAL.md calls the seller's: every
string of the JSON answers except the enumerations (status, channel type), long
integers (ids given as numbers), and what caselog's parsers read from the pages as data
(case ids, subjects, category, addresses, messages, file names), or every line of a page
they cannot read.
"""

from __future__ import annotations

import re

from companion.redact import redact
from scrapers.parse import contract, locales
from scrapers.parse.dom import RE_CASE_ID_IN_URL, text_of
from scrapers.parse.text import html_to_text

# The contract's JSON keys, and those whose values are its vocabulary (closed
# enumerations: status, channel type), not the seller's data.
FIELD_NAMES = tuple(f.key for shape in contract.SHAPES for f in shape.fields)
ENUM_KEYS = frozenset(f.key for shape in contract.SHAPES for f in shape.fields if f.values)
TESTIDS = ("case-summary", "sender-label", "reciever", "receiver", "channel",
           "reopen-notice", "attachment")
_EXTRA_WORDS = ("EMAIL", "CHAT", "PHONE", "Actions", "Aktionen", "View", "Anzeigen",
                "Amazon", "kat-box", "kat-expander", "contact-expander")


def _contract_words() -> frozenset[str]:
    """PORTAL.md's vocabulary, casefolded: words a report may always repeat."""
    words = set(FIELD_NAMES) | set(TESTIDS) | set(_EXTRA_WORDS) | set(locales.API_STATUSES)
    for table in locales.STATUS_LABELS.values():
        words.update(table.values())
    for labels in (*locales.UI.values(), *locales.HEADERS.values()):
        words.update(labels)
    words.update(locales.CHANNEL_LABELS)
    return frozenset(w.casefold() for w in words)


CONTRACT_WORDS = _contract_words()
MAX_SHOWN = 40
_SAFE = re.compile(r"(?!.*\d)[^\W_](?:[^\W_]|[ .,'\u2019()/&:-]){0,39}")
_ZONE = re.compile(r"[A-Za-z]{1,6}|(?:GMT|UTC)(?:[+-]\d{1,2}(?::\d{2})?)?")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")
_LONG_DIGITS = re.compile(r"\d{6,}")
MIN_VALUE = 4  # shorter data values ("Tax") are not looked for inside report strings
WITHHELD = "[withheld: it looked like your data]"


class DataValues:
    """The seller's data seen in one run, casefolded, for both directions of the
    overlap test: is a data value inside this text, is this text inside a data value."""

    def __init__(self, values):
        kept = {v.casefold().strip() for v in values if isinstance(v, str)}
        kept = {v for v in kept if v and v not in CONTRACT_WORDS}
        self.values = sorted(kept, key=len)
        self._blob = "\x00".join(self.values)

    def inside(self, text: str) -> bool:
        """Does ``text`` hold one of the data values?"""
        t = text.casefold()
        for v in self.values:
            if len(v) > len(t):
                break
            if len(v) >= MIN_VALUE and v in t:
                return True
        return False

    def overlaps(self, text: str) -> bool:
        """Does ``text`` hold a data value, or appear inside one?"""
        t = text.casefold().strip()
        return bool(t) and (t in self._blob or self.inside(t))


def shown(text, data: DataValues) -> str:
    """``text`` (the portal's words) as a report may show it; see the module docstring."""
    t = " ".join(str(text).split())
    if t.casefold() in CONTRACT_WORDS:
        return t
    if len(t) <= MAX_SHOWN and _SAFE.fullmatch(t) and len(t.split()) <= 6 \
            and not data.overlaps(t):
        return t
    return f"(text of {len(t)} characters, not shown)"


def key_shown(key, data: DataValues) -> str:
    """A JSON key as a report may show it: a field name, not something that could be an
    id or a name used as a key (an object keyed by case ids)."""
    k = str(key)
    if k.casefold() in CONTRACT_WORDS:
        return k
    if _KEY.fullmatch(k) and not data.overlaps(k):
        return k
    return f"(a key of {len(k)} characters, not shown)"


def zone_shown(text: str) -> str:
    """A time zone as shown (`PST`, `GMT+5`): structure, unless it looks like more."""
    t = text.strip()
    return t if _ZONE.fullmatch(t) else f"(zone text of {len(t)} characters, not shown)"


def scrub(value, data: DataValues, keep: frozenset[str] = frozenset()):
    """The finished report with every string (keys too) that holds an e-mail address,
    six digits in a row, or a data value of this run replaced by ``WITHHELD``. Strings
    in ``keep`` are caselog's own (check names, what they expect): a data value that
    happens to be a common word ("number") must not blank them."""
    if isinstance(value, dict):
        return {scrub(k, data, keep): scrub(v, data, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, data, keep) for v in value]
    if isinstance(value, str):
        if value in keep or value.casefold() in CONTRACT_WORDS:
            return value
        if _EMAIL.search(value) or _LONG_DIGITS.search(value) or data.inside(value):
            return WITHHELD
        return redact(value)
    return value


# -- collecting the data values ----------------------------------------------------------

def _json_values(doc, out: list, depth: int = 0) -> None:
    """Every string of a JSON answer but the enumerations' values, plus long
    integers (ids as numbers) and the lines of HTML messages."""
    if depth > 64:
        return
    if isinstance(doc, dict):
        for key, value in doc.items():  # keys are structure: shown_key() rules them
            if key in ENUM_KEYS and isinstance(value, str):
                continue
            _json_values(value, out, depth + 1)
    elif isinstance(doc, list):
        for value in doc:
            _json_values(value, out, depth + 1)
    elif isinstance(doc, str):
        out.append(doc)
        if "<" in doc or "&" in doc:
            out.extend(line for line in html_to_text(doc).splitlines() if line.strip())
    elif isinstance(doc, int) and not isinstance(doc, bool) and abs(doc) >= 100_000:
        out.append(str(doc))


def _lobby_values(c, out: list) -> None:
    """The parsed lobby's case ids and subjects; when the parser cannot read the
    page, every line of its text (nothing of it can be told from data then)."""
    try:
        rows, _ = c.parsed("lobby")
    except Exception:  # noqa: BLE001  (whatever stopped the parser)
        _page_lines(c, "lobby", out)
        return
    for row in rows:
        out += [row["case_id"], row["subject"]]


def _case_page_values(c, out: list) -> None:
    """The parsed case page's data: title, id, category, addresses, messages and file
    names; every line of its text when the parser cannot read it."""
    try:
        case = c.parsed("case_page")
    except Exception:  # noqa: BLE001
        _page_lines(c, "case_page", out)
        return
    out += [case["case_id"], case["subject"], case["category"]]
    for m in case["messages"]:
        out.append(m["sender_address"])
        out.extend(line for line in m["text"].splitlines() if line.strip())
        out.extend(a["name"] for a in m["attachments"])


def _page_lines(c, kind: str, out: list) -> None:
    tree = c.tree(kind)
    if tree.body is not None:
        out.extend(line for line in text_of(tree.body).splitlines() if line.strip())
    for a in tree.css("a[href]"):
        m = RE_CASE_ID_IN_URL.search(a.attributes.get("href") or "")
        if m:
            out.append(m[1])


def collect(captured) -> DataValues:
    """Every data value of a run's captures (those that decode; the rest hold none a
    check could repeat)."""
    out: list[str] = []
    if captured.case_id:
        out.append(captured.case_id)
    for kind in ("search", "viewcase"):
        try:
            _json_values(captured.json(kind), out)
        except Exception:  # noqa: BLE001  (no answer, or none that decodes: no data)
            continue
    for gather in (_lobby_values, _case_page_values):
        try:
            gather(captured, out)
        except Exception:  # noqa: BLE001  (no page)
            continue
    return DataValues(out)
