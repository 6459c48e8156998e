"""Reading a JSON answer without trusting it: decode within limits, then take each value
only after checking its type, size and range, so any answer either becomes a record of
the documented types or raises a ``LayoutError`` that says what was expected and where
(``case 123: expected "timestamp" (epoch seconds) inside contactList[1], found a
string``). Nothing here raises anything but ``ParseError`` subclasses.
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import UTC, datetime

from scrapers.errors import LayoutError, TooLarge
from scrapers.parse import limits

_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_DIGITS = re.compile(r"[0-9]+")
_BOOL_WORDS = {"true": True, "false": False}


def describe(value) -> str:
    """What a value is, in the words of an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return "a huge number" if abs(value) > 10**15 else f"the number {value}"
    if isinstance(value, float):
        return f"the number {value:g}"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def json_depth_ok(text: str, limit: int = limits.MAX_JSON_DEPTH) -> bool:
    """Do arrays and objects nest at most `limit` deep? Strings are taken out first (they
    may hold brackets); then each pass removes the innermost pairs, all in C."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    for _ in range(limit):
        if not brackets:
            return True
        shorter = brackets.replace("[]", "").replace("{}", "")
        if shorter == brackets:
            return True  # unbalanced: not JSON, json.loads will say so
        brackets = shorter
    return not brackets


def load(body, *, case_id: str | None = None, what: str = "JSON body"):
    """Decode a captured body within the size and depth limits; a body that is not
    JSON (an HTML error page, say) is a LayoutError, an oversized one TooLarge."""
    if not isinstance(body, bytes | bytearray | str):
        raise LayoutError(what, case_id=case_id, found=describe(body))
    if len(body) > limits.MAX_CAPTURE_BYTES:
        raise TooLarge(f"{what} of {len(body):,} bytes is over the "
                       f"{limits.MAX_CAPTURE_BYTES:,} the parsers accept")
    text = body if isinstance(body, str) else bytes(body).decode("utf-8", errors="replace")
    if not json_depth_ok(text):
        raise TooLarge(f"{what} nests arrays or objects more than "
                       f"{limits.MAX_JSON_DEPTH} deep")
    try:
        return json.loads(text)
    except RecursionError:  # a backstop: the scan above should have caught it
        raise TooLarge(f"{what} nests too deep to decode") from None
    except (ValueError, TypeError) as exc:
        found = f"unparseable body ({str(exc)[:120]})"
        raise LayoutError(what, case_id=case_id, found=found) from None


class Reader:
    """Typed access to one JSON object: every getter names the case, the field, the
    place and what it found when the value is not what the contract says."""

    def __init__(self, obj, *, case_id: str | None, where: str, what: str = "an object"):
        if not isinstance(obj, dict):
            raise LayoutError(what, case_id=case_id, where=where, found=describe(obj))
        self.obj, self.case_id, self.where = obj, case_id, where

    def fail(self, key: str, expected: str, value=None, found: str | None = None):
        raise LayoutError(f'"{key}" ({expected})', case_id=self.case_id, where=self.where,
                          found=found or describe(value))

    def raw(self, key: str, *, required: bool):
        if key not in self.obj:
            if required:
                raise LayoutError(f'"{key}"', case_id=self.case_id, where=self.where)
            return None
        return self.obj[key]

    def text(self, key: str, *, required: bool = False, empty: str | None = "",
             max_chars: int | None = None) -> str | None:
        """A string; null (or missing, when optional) gives `empty`."""
        value = self.raw(key, required=required)
        if value is None:
            return empty
        if not isinstance(value, str):
            self.fail(key, "a string", value)
        if max_chars is not None and len(value) > max_chars:
            self.fail(key, f"at most {max_chars} characters", found=f"{len(value):,}")
        return value

    def ident(self, key: str, *, required: bool = False) -> str | None:
        """An id: a non-empty string, or an integer (tolerated, given as its digits)."""
        value = self.raw(key, required=required)
        if value is None and not required:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**20:
            return str(value)
        if isinstance(value, str) and 0 < len(value) <= limits.MAX_ID_CHARS:
            return value
        return self.fail(key, "an id: a string or an integer", value)

    def case_ident(self, key: str) -> str:
        """A case id: 8 to 14 digits in PORTAL.md v2; 6 to 20, as a string or an
        integer, are tolerated."""
        value = self.raw(key, required=True)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and _DIGITS.fullmatch(value) and 6 <= len(value) <= 20:
            return value
        return self.fail(key, "a case id of digits", value)

    def flag(self, key: str, *, required: bool = False) -> bool | None:
        """true/false (also the strings "true"/"false" and the numbers 0/1)."""
        value = self.raw(key, required=required)
        if value is None and not required:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.strip().lower()]
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        return self.fail(key, "true or false", value)

    def count(self, key: str, *, required: bool = False) -> int | None:
        """A whole number from 0 to 10^15 (an integral float or digit string too)."""
        value = self.raw(key, required=required)
        if value is None and not required:
            return None
        if isinstance(value, str) and _DIGITS.fullmatch(value.strip()) and len(value) < 16:
            value = int(value)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**15:
            return value
        return self.fail(key, "a whole number", value)

    def time(self, key: str, *, required: bool = False) -> str | None:
        """Epoch seconds (or milliseconds, or an ISO string) -> ISO UTC, years 1990-2100."""
        value = self.raw(key, required=required)
        if value is None and not required:
            return None
        try:
            iso = epoch_iso(value)
        except LayoutError as exc:
            return self.fail(key, "epoch seconds", value, found=exc.found)
        if iso is None and required:
            self.fail(key, "epoch seconds", value)
        return iso

    def items(self, key: str, *, required: bool = False) -> list:
        """A list (null gives an empty one)."""
        value = self.raw(key, required=required)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, "a list", value)
        return value

    def child(self, key: str, where: str | None = None) -> Reader:
        """The object under `key` (required)."""
        value = self.raw(key, required=True)
        if not isinstance(value, dict):
            self.fail(key, "an object", value)
        return Reader(value, case_id=self.case_id, where=where or key)


def epoch_iso(value) -> str | None:
    """Epoch seconds (JSON number, decimals allowed) -> `YYYY-MM-DDTHH:MM:SSZ`.

    Fractions are dropped (floor). Values too large to be seconds are read as
    milliseconds; a numeric string is read as a number and an ISO string is passed
    through normalised. Anything else, or a moment outside 1990-2100, is a LayoutError
    (never OverflowError or OSError from the platform's time functions)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if len(value) > 64:
            raise LayoutError("epoch seconds", found="a long string")
        try:
            value = float(value)
        except ValueError:
            return _iso_string(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LayoutError("epoch seconds", found=describe(value))
    if isinstance(value, int) and abs(value) > 10**15:
        raise LayoutError("epoch seconds", found="a huge number")
    seconds = float(value)
    if math.isfinite(seconds) and seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    if not (math.isfinite(seconds) and limits.EPOCH_MIN <= seconds < limits.EPOCH_MAX):
        raise LayoutError("epoch seconds", found=f"{value!r}, outside 1990-2100")
    # (time.gmtime over datetime: a third of the cost, on every message of every case)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(math.floor(seconds)))


def _iso_string(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise LayoutError("epoch seconds or an ISO time", found=repr(value[:40])) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not limits.YEAR_MIN <= moment.year < limits.YEAR_MAX:
        raise LayoutError("a time from 1990 to 2100", found=repr(value[:40]))
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError):
        raise LayoutError("a time from 1990 to 2100", found=repr(value[:40])) from None
