"""The checks of the JSON answers (PORTAL.md section 4): SearchForCases and ViewCase,
each a small named function of the captured bytes, against the shapes the parsers read
(``scrapers.parse.contract``): which fields, their JSON types, epoch times, case ids and
the closed enumerations all come from there. ``CHEAP`` names those that need the
first SearchForCases answer only; ``caselog sync`` runs them on the first page it reads
(``companion.doctor.canary``).
"""

from __future__ import annotations

from collections import Counter

from companion.doctor import jsonshape as js
from companion.doctor.findings import NotShown, check, count, number
from scrapers.errors import CaptureError, LayoutError, TimeZoneError
from scrapers.parse.contract import (
    ATTACHMENT,
    CONTACT,
    META,
    RE_CASE_ID,
    SEARCH,
    SEARCH_ROW,
    VIEW_CASE,
    Shape,
)

STATUS_WORDS = ", ".join(META["caseStatus"].values)
CHEAP = ("search.answer", "search.fields", "search.total", "search.row_fields",
         "search.row_types", "search.times", "search.case_ids", "search.statuses")


def _answer(c, kind: str) -> tuple[str, str]:
    """The endpoint answered 200 with JSON: an absent answer is itself the finding."""
    raw = c.answered(kind)
    if raw is None:
        return "missing", f"no answer ({why(c, kind)})"
    try:
        doc = c.json(kind)
    except NotShown as exc:
        return "differs", f"HTTP {raw.status}, {exc}"
    ok = raw.status == 200 and isinstance(doc, dict)
    return ("ok" if ok else "differs"), f"HTTP {raw.status}, JSON: {js.a(doc)}"


def why(c, kind: str) -> str:
    """Why a capture is absent, in the driver's data-free words."""
    raw = c.raws.get(kind)
    return raw.problem if raw is not None and raw.problem else "not asked"


def page_answered(c, kind: str) -> tuple[str, str]:
    """A rendered page's first check, the same for every page: did it answer, with 200."""
    raw = c.answered(kind)
    if raw is None:
        return "missing", f"no page ({why(c, kind)})"
    return ("ok" if raw.status == 200 else "differs"), f"HTTP {raw.status}"


def _top(c, kind: str) -> dict:
    """The answer's top-level object; the checks under it cannot look otherwise."""
    doc = c.json(kind)
    if not isinstance(doc, dict):
        raise NotShown(f"the answer is {js.a(doc)}, not a JSON object")
    return doc


def _listed(doc: dict, key: str, what: str) -> list:
    """A list the contract promises, or NotShown: its own check says it is gone."""
    value = doc.get(key)
    if not isinstance(value, list):
        raise NotShown(f"no {key} list to look at")
    return value


def rows(c) -> list:
    """SearchForCases' rows (the objects of caseSearchResultList)."""
    return _listed(_top(c, "search"), "caseSearchResultList", "row")


def _values(objs: list, key: str) -> list:
    """The values of ``key`` in the objects that have it (absence is another check's)."""
    return [o[key] for o in objs if isinstance(o, dict) and key in o]


def parsed_by(parse) -> tuple[str, str]:
    """Does caselog's own parser read the capture? The contract may hold and the
    parser still refuse (or the reverse), and that is what a bug report needs first;
    only the parser's expectation and place are said, never what it found (data)."""
    try:
        parse()
    except LayoutError as exc:
        where = f" inside {exc.where}" if getattr(exc, "where", None) else ""
        return "differs", f"no: it expected {exc.expected}{where}"
    except TimeZoneError as exc:
        return "differs", f"no: a time whose zone it cannot read ({type(exc).__name__})"
    except CaptureError as exc:  # a parse failure, or the portal's sign-in or 404 page
        return "differs", f"no ({type(exc).__name__})"
    return "ok", "yes"


# -- SearchForCases ---------------------------------------------------------------------

@check("search.answer", "search", "HTTP 200 with a JSON object")
def search_answer(c):
    """The endpoint and its status code."""
    return _answer(c, "search")


def _fields_then_types(objs: list, shape: Shape, data) -> tuple[str, str]:
    """The fields, then their types (a missing one says enough)."""
    result, found = js.fields(objs, shape, data)
    if result == "ok":
        result, found = js.types(objs, shape)
    return result, found


def _epoch_groups(objs: list, shape: Shape) -> dict[str, list]:
    """The values of the shape's epoch fields, by key."""
    return {f.key: _values(objs, f.key) for f in shape.fields if f.epoch}


def _nullable(shape: Shape) -> tuple[str, ...]:
    return tuple(f.key for f in shape.fields if f.epoch and "null" in f.types)


@check("search.fields", "search", js.spec_words(SEARCH))
def search_fields(c):
    """The two top-level fields, then their types."""
    return _fields_then_types([_top(c, "search")], SEARCH, c.data)


@check("search.total", "search", "totalNumberOfResults a whole number, at least the rows shown")
def search_total(c):
    """The count a sync plans its pages by. No upper bound: PORTAL.md 9 says no public
    answer shows the real portal capping it at 1,000."""
    top, listed = _top(c, "search"), rows(c)
    total = top.get("totalNumberOfResults")
    if js.json_type(total) != "number":
        raise NotShown("no totalNumberOfResults number to look at")
    whole = isinstance(total, int) or (isinstance(total, float) and total.is_integer())
    ok = whole and len(listed) <= total
    return ("ok" if ok else "differs"), \
        f"{count(len(listed), 'row')}, totalNumberOfResults {number(total)}"


@check("search.row_fields", "search", "each row: " + ", ".join(SEARCH_ROW.must_have()))
def search_row_fields(c):
    """Every row field by name: the parser reads the promised ones as empty when they
    are gone, so a rename there would read silently as "no reply"."""
    return js.fields(rows(c), SEARCH_ROW, c.data)


@check("search.row_types", "search", js.spec_words(SEARCH_ROW))
def search_row_types(c):
    """Each field's JSON type (the parser tolerates some: ids as numbers)."""
    return js.types(rows(c), SEARCH_ROW)


@check("search.times", "search",
       "creationDate and lastAmazonReplyDate in epoch seconds, as numbers (or null)")
def search_times(c):
    """Epoch seconds as numbers: milliseconds or strings mean the unit changed."""
    return js.epochs(_epoch_groups(rows(c), SEARCH_ROW), nullable=_nullable(SEARCH_ROW))


def ids_found(ids: list, what: str) -> tuple[str, str]:
    """Case ids as PORTAL.md v2 has them: strings of 8 to 14 digits."""
    if not ids:
        raise NotShown(f"no {what} to look at")
    odd = Counter()
    for value in ids:
        if not isinstance(value, str):
            odd[js.a(value)] += 1
        elif not RE_CASE_ID.fullmatch(value):
            odd[f"{len(value)} characters, not 8 to 14 digits"] += 1
    lengths = sorted({len(v) for v in ids if isinstance(v, str) and RE_CASE_ID.fullmatch(v)})
    span = ("none of 8 to 14 digits" if not lengths else f"{lengths[0]} digits"
            if len(lengths) == 1 else f"{lengths[0]} to {lengths[-1]} digits")
    if not odd:
        return "ok", f"{count(len(ids), what.rstrip('s'))}, {span}"
    return "differs", "; ".join(f"{n} of {len(ids)} are {kind}" for kind, n in odd.items())


@check("search.case_ids", "search", "caseId: a string of 8 to 14 digits")
def search_case_ids(c):
    """The id pattern of PORTAL.md v2 (the parser tolerates 6 to 20 digits)."""
    keys = [f.key for f in SEARCH_ROW.fields if f.case_id]
    return ids_found([v for k in keys for v in _values(rows(c), k)], "case ids")


def enum_found(c, values: list, known: tuple[str, ...], what: str) -> tuple[str, str]:
    """Values of a closed enumeration (statuses, channel types), each one the contract
    lists, exactly as written; unknown ones listed through ``seen`` (they could be data
    if a field moved)."""
    if not values:
        raise NotShown(f"no {what} to look at")
    seen = Counter(c.seen(v) if isinstance(v, str) else js.a(v)
                   for v in values)
    unknown = {v: n for v, n in seen.items() if v not in known}
    listing = ", ".join(f"{v} ({n})" for v, n in sorted(seen.items()))
    return ("differs" if unknown else "ok"), listing


@check("search.statuses", "search", f"status: one of {STATUS_WORDS}")
def search_statuses(c):
    """Known status values: an unknown one would be stored as a status."""
    return enum_found(c, _values(rows(c), "status"), SEARCH_ROW["status"].values,
                      "statuses")


def newest_first(values: list, what: str) -> tuple[str, str]:
    """Are epoch times in descending order? (Windows and stops rely on it.)"""
    nums = [v for v in values if js.epoch_problem(v) is None]
    if len(nums) < 2:
        raise NotShown(f"fewer than two {what} to compare")
    later = sum(1 for a, b in zip(nums, nums[1:], strict=False) if b > a)
    if later:
        return "differs", f"{later} of {len(nums) - 1} neighbours are oldest first"
    return "ok", f"{len(nums)} {what}, newest first"


@check("search.order", "search", "rows sorted by creationDate, newest first")
def search_order(c):
    """Newest first: a sync narrows past the cap from the oldest row it saw."""
    return newest_first(_values(rows(c), "creationDate"), "rows")


@check("search.parser", "search", "caselog's parser reads the answer")
def search_parser(c):
    """caselog's SearchForCases parser reads the answer."""
    return parsed_by(lambda: c.parsed("search"))


# -- ViewCase ---------------------------------------------------------------------------

def meta(c) -> dict:
    """ViewCase's viewCaseMetaData object."""
    value = _top(c, "viewcase").get("viewCaseMetaData")
    if not isinstance(value, dict):
        raise NotShown("no viewCaseMetaData object to look at")
    return value


def contacts(c) -> list:
    """ViewCase's contactList."""
    return _listed(_top(c, "viewcase"), "contactList", "contact")


@check("viewcase.answer", "viewcase", "HTTP 200 with a JSON object")
def viewcase_answer(c):
    """The endpoint and its status code."""
    return _answer(c, "viewcase")


@check("viewcase.fields", "viewcase", js.spec_words(VIEW_CASE))
def viewcase_fields(c):
    """The four top-level fields, then their types."""
    return _fields_then_types([_top(c, "viewcase")], VIEW_CASE, c.data)


@check("viewcase.meta_fields", "viewcase", "viewCaseMetaData: " + ", ".join(META.must_have()))
def viewcase_meta_fields(c):
    """The metadata's fields; canReopenCase is the simulation's own, so
    its absence on the real portal is no difference."""
    return js.fields([meta(c)], META, c.data)


@check("viewcase.meta_types", "viewcase", js.spec_words(META) + "; caseTags of strings")
def viewcase_meta_types(c):
    """The metadata's JSON types, caseTags a list of strings."""
    m = meta(c)
    result, found = js.types([m], META)
    tags = m.get("caseTags")
    if isinstance(tags, list) and any(not isinstance(t, str) for t in tags):
        return "differs", found + "; caseTags holds something other than strings"
    return result, found


@check("viewcase.status", "viewcase", f"caseStatus: one of {STATUS_WORDS}")
def viewcase_status(c):
    """caseStatus one of the seven API values."""
    return enum_found(c, _values([meta(c)], "caseStatus"), META["caseStatus"].values,
                      "caseStatus")


@check("viewcase.contact_fields", "viewcase", "each contact: " + ", ".join(CONTACT.must_have()))
def viewcase_contact_fields(c):
    """Every contact field by name."""
    return js.fields(contacts(c), CONTACT, c.data)


@check("viewcase.contact_types", "viewcase", js.spec_words(CONTACT))
def viewcase_contact_types(c):
    """Each contact field's JSON type."""
    return js.types(contacts(c), CONTACT)


@check("viewcase.channel_types", "viewcase", "channelType: EMAIL, CHAT or PHONE")
def viewcase_channel_types(c):
    """The three channels of v2, exactly as written (the parser reads
    any case, but another spelling is still a change)."""
    return enum_found(c, _values(contacts(c), "channelType"), CONTACT["channelType"].values,
                      "channelType")


@check("viewcase.senders", "viewcase",
       'sender "Amazon" when outbound is true, else the seller\'s address')
def viewcase_senders(c):
    """outbound and sender agree: the sync takes the side from outbound."""
    pairs = [(o.get("outbound"), o.get("sender")) for o in contacts(c) if isinstance(o, dict)]
    if not pairs:
        raise NotShown("no contact objects")
    odd = sum(1 for outbound, sender in pairs
              if not isinstance(sender, str)
              or (outbound is True and sender != "Amazon")
              or (outbound is False and "@" not in sender))
    amazon = sum(1 for outbound, _ in pairs if outbound is True)
    found = f"{amazon} outbound (Amazon), {len(pairs) - amazon} from the seller"
    return ("differs", f"{odd} of {len(pairs)} do not match; {found}") if odd else ("ok", found)


@check("viewcase.attachments", "viewcase",
       "attachments: null or a list of " + js.spec_words(ATTACHMENT))
def viewcase_attachments(c):
    """Attachment objects (only when the page of the newest case has any)."""
    items = [a for o in contacts(c) if isinstance(o, dict)
             for a in (o.get("attachments") if isinstance(o.get("attachments"), list) else [])]
    if not items:
        raise NotShown("no attachment on this page of the newest case")
    return _fields_then_types(items, ATTACHMENT, c.data)


@check("viewcase.times", "viewcase",
       "creationDate and each contact's timestamp in epoch seconds, as numbers")
def viewcase_times(c):
    """Epoch seconds as numbers for the case and each contact."""
    return js.epochs({**_epoch_groups([meta(c)], META),
                      **_epoch_groups(contacts(c), CONTACT)})


@check("viewcase.order", "viewcase", "contactList newest first")
def viewcase_order(c):
    """Newest first: an incremental read stops at the first stored message."""
    return newest_first(_values(contacts(c), "timestamp"), "contacts")


@check("viewcase.current_token", "viewcase",
       "currentToken null on the last page, else a string (the next pageToken)")
def viewcase_current_token(c):
    """The paging token: null exactly on the last page, so a reader
    neither stops early nor asks forever."""
    top, listed = _top(c, "viewcase"), contacts(c)
    if "currentToken" not in top:
        return "missing", "no currentToken"
    token, total = top["currentToken"], top.get("totalNumberOfContacts")
    kind = js.json_type(token)
    if js.json_type(total) != "number":
        return ("ok" if kind in ("null", "string") else "differs"), js.a(token)
    last = total <= len(listed)
    ok = (kind == "null") if last else (kind == "string" and bool(token))
    where = "the last page" if last else f"{len(listed)} of {number(total)} contacts"
    return ("ok" if ok else "differs"), f"{js.a(token)} on {where}"


@check("viewcase.parser", "viewcase", "caselog's parser reads the answer")
def viewcase_parser(c):
    """caselog's ViewCase parser reads the answer."""
    return parsed_by(lambda: c.parsed("viewcase"))
