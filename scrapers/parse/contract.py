"""The JSON shapes of PORTAL.md section 4, declared once. The parsers
(``scrapers.parse.monsapi``) read every object through :func:`read`, and ``caselog
doctor`` and the sync's canary check captured answers against the same declarations, so
the two can only disagree where a field says they may (``need``).

A :class:`Field` says what PORTAL.md promises of one key (its JSON types, an enumeration
of values, an epoch time or a case id) and how the parser reads it:

- ``need="required"``: the parser refuses an object without it (``LayoutError``);
- ``need="promised"``: PORTAL.md promises it but the parser reads its absence as empty
  (no subject, "Amazon never replied"), so only a check notices that it went missing;
- ``need="optional"``: a field some conforming portals leave out (``canReopenCase`` is
  the simulation's own) or that version 3 saw on the real portal; never a finding when
  absent.

Fields a portal adds beyond these are ignored by the parsers and listed, never failed,
by the doctor (PORTAL.md 9: "a tool ignores fields it does not know").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from scrapers.errors import LayoutError
from scrapers.parse.channels import channel_of_type
from scrapers.parse.locales import API_STATUSES
from scrapers.parse.shapes import Reader, describe

CHANNEL_TYPES = ("EMAIL", "CHAT", "PHONE")
# A case id as PORTAL.md v2 has it; the parser tolerates 6 to 20 digits, as numbers too.
RE_CASE_ID = re.compile(r"[0-9]{8,14}")


@dataclass(frozen=True)
class Field:
    key: str
    types: tuple[str, ...]      # JSON types PORTAL.md gives: string, number, true/false,
    #                             null, list, object
    read: str | None            # how the parser reads it (a Reader getter, or a special
    #                             of READERS); None: the parser does not read it
    need: str = "required"      # required | promised | optional (see the module docstring)
    values: tuple[str, ...] = ()  # an enumeration PORTAL.md closes (statuses, channels)
    epoch: bool = False         # epoch seconds as a JSON number
    case_id: bool = False       # a string of 8 to 14 digits
    max_chars: int | None = None
    empty: str | None = ""      # what an absent or null text reads as


@dataclass(frozen=True)
class Shape:
    name: str                   # PORTAL.md's name of the object, for words
    fields: tuple[Field, ...]

    def __getitem__(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)

    @cached_property
    def keys(self) -> frozenset[str]:
        return frozenset(f.key for f in self.fields)

    @cached_property
    def getters(self) -> tuple:
        """(key, fn(reader) -> value) of each field the parser reads."""
        return tuple((f.key, _getter(f)) for f in self.fields if f.read is not None)

    def must_have(self) -> tuple[str, ...]:
        """The keys whose absence breaks the contract (required and promised)."""
        return tuple(f.key for f in self.fields if f.need != "optional")


SEARCH = Shape("SearchForCases answer", (
    Field("caseSearchResultList", ("list",), "items"),
    Field("totalNumberOfResults", ("number",), "count"),
))
SEARCH_ROW = Shape("row", (
    Field("caseId", ("string",), "case_ident", case_id=True),
    Field("status", ("string",), "text", values=API_STATUSES, max_chars=100),
    Field("shortDescription", ("string",), "text", need="promised"),
    Field("creationDate", ("number",), "time", epoch=True),
    Field("lastAmazonReplyDate", ("number", "null"), "time", need="promised", epoch=True),
))
VIEW_CASE = Shape("ViewCase answer", (
    Field("viewCaseMetaData", ("object",), "child"),
    Field("contactList", ("list",), "items"),
    Field("totalNumberOfContacts", ("number",), "count", need="promised"),
    Field("currentToken", ("string", "null"), "token", need="promised"),
))
META = Shape("viewCaseMetaData", (
    Field("caseTitle", ("string",), "text"),
    Field("caseStatus", ("string",), "status", values=API_STATUSES, max_chars=100),
    Field("creationDate", ("number",), "time", epoch=True),
    Field("primaryEmail", ("string", "null"), "text", need="promised", max_chars=1000,
          empty=None),
    Field("ccList", ("list", "null"), None, need="promised"),
    # PORTAL.md 9: caseTags may be null on the real portal.
    Field("caseTags", ("list", "null"), "tags", need="promised"),
    Field("canEditCase", ("true/false",), "flag", need="promised"),
    Field("canReopenCase", ("true/false",), "flag", need="optional"),
    Field("escalated", ("true/false",), "flag", need="promised"),
))
CONTACT = Shape("contact", (
    Field("contactId", ("string",), "ident"),
    Field("outbound", ("true/false",), "flag"),
    Field("sender", ("string",), "text", need="promised", max_chars=1000, empty=None),
    Field("timestamp", ("number",), "time", epoch=True),
    Field("channelType", ("string",), "channel", need="promised", values=CHANNEL_TYPES),
    Field("message", ("string",), "text", need="promised"),
    Field("messageTruncated", ("true/false",), "flag", need="promised"),
    Field("attachments", ("list", "null"), "items", need="promised"),
))
ATTACHMENT = Shape("attachment", (
    Field("attachmentId", ("string",), "ident", need="promised"),
    Field("fileName", ("string",), "text", need="promised", max_chars=1000),
    Field("fileSize", ("number",), "count", need="promised"),
    Field("contentType", ("string",), "text", need="promised", max_chars=200, empty=None),
))
CONTACT_MESSAGE = Shape("GetContactMessage answer", (
    Field("contactId", ("string",), "ident"),
    Field("message", ("string",), "text"),
))
SHAPES = (SEARCH, SEARCH_ROW, VIEW_CASE, META, CONTACT, ATTACHMENT, CONTACT_MESSAGE)


# -- reading -----------------------------------------------------------------------------

def _status(reader: Reader, field: Field):
    status = reader.text(field.key, required=True, empty=None, max_chars=field.max_chars)
    if not status:
        reader.fail(field.key, "a status", found=describe(status))
    return status


def _channel(reader: Reader, field: Field):
    """`channelType` (EMAIL, CHAT, PHONE, any case; absent before v2) -> the channel."""
    value = reader.raw(field.key, required=False)
    try:
        return channel_of_type(value)
    except LayoutError as exc:
        return reader.fail(field.key, "EMAIL, CHAT or PHONE", found=exc.found)


def _tags(reader: Reader, field: Field):
    """A list of strings (a single string is taken as a list of one; null: none)."""
    value = reader.raw(field.key, required=False)
    if isinstance(value, str):
        value = [value]
    tags = reader.items(field.key) if not isinstance(value, list) else value
    for n, tag in enumerate(tags):
        if not isinstance(tag, str) or len(tag) > 1000:
            reader.fail(f"{field.key}[{n}]", "a string", tag)
    return list(tags)


def _token(reader: Reader, field: Field):
    """A string (or a number) when more pages follow, null/"" on the last."""
    value = reader.raw(field.key, required=False)
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return reader.text(field.key, max_chars=4096)


READERS = {"status": _status, "channel": _channel, "tags": _tags, "token": _token}


def _getter(field: Field):
    """``fn(reader) -> value`` for one field, made once per shape (reading runs per row
    and per contact of every capture, so nothing is looked up there)."""
    key, required = field.key, field.need == "required"
    special = READERS.get(field.read)
    if special is not None:
        return lambda r: special(r, field)
    if field.read == "text":
        empty, most = field.empty, field.max_chars
        return lambda r: r.text(key, required=required, empty=empty, max_chars=most)
    if field.read in ("child", "case_ident"):
        method = getattr(Reader, field.read)
        return lambda r: method(r, key)
    method = getattr(Reader, field.read)
    return lambda r: method(r, key, required=required)


def read(reader: Reader, shape: Shape, known: dict | None = None) -> dict:
    """Every field of ``shape`` the parser reads, in declaration order, by its getter:
    ``{key: value}`` (a missing optional or promised field reads as empty). ``known``:
    fields already read (a case id read first, so that errors name the case)."""
    if known is None:
        return {key: get(reader) for key, get in shape.getters}
    out = dict(known)
    for key, get in shape.getters:
        if key not in out:
            out[key] = get(reader)
    return out
