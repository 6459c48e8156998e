"""JSON answers as structure: the type of a value in JSON's own words, whether objects
carry the fields of their ``scrapers.parse.contract`` shape with the types it names,
epoch times, and the summary of a whole answer (keys, types, lengths, counts) that a
report holds instead of the answer itself.
"""

from __future__ import annotations

import math
from collections import Counter

from companion.doctor import privacy
from companion.doctor.findings import NotShown, count
from scrapers.parse import contract
from scrapers.parse.limits import EPOCH_MAX, EPOCH_MIN

MAX_SHAPE_DEPTH = 6
MAX_SHAPE_ITEMS = 500


def json_type(value) -> str:
    """The JSON type of a decoded value, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def a(value) -> str:
    """``a string``, ``an object``, ``null``: a value's JSON type, as a sentence says it."""
    kind = json_type(value)
    if kind in ("null", "true/false"):
        return kind
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def spec_words(shape: contract.Shape) -> str:
    """``caseId (string), creationDate (number)...`` for an "expected" column."""
    return ", ".join(f"{f.key} ({' or '.join(f.types)})" for f in shape.fields
                     if f.need != "optional")


def _objects(objs: list, what: str) -> list:
    """The objects to check, or NotShown when there are none."""
    if not objs:
        raise NotShown(f"no {what}s in the answer")
    return objs


def fields(objs: list, shape: contract.Shape, data) -> tuple[str, str]:
    """Does every object carry every field the contract promises? Missing ones are
    named with how many objects lack them; extra keys are listed but fail nothing (a
    portal may add), and so is the absence of a field the contract calls optional."""
    what = shape.name
    objs = _objects(objs, what)
    odd = Counter(a(o) for o in objs if not isinstance(o, dict))
    missing, extra = Counter(), Counter()
    for obj in objs:
        if isinstance(obj, dict):
            missing.update(k for k in shape.keys if k not in obj)
            extra.update(privacy.key_shown(k, data) for k in obj.keys() - shape.keys)
    optional = {f.key for f in shape.fields if f.need == "optional"}
    parts = [f"{n} of {len(objs)} {what}s {'is' if n == 1 else 'are'} {kind}, not an object"
             for kind, n in odd.items()]
    parts += [f"{key} absent in {n} of {len(objs)}" for key, n in sorted(missing.items())
              if key not in optional]
    absent_optional = [f.key for f in shape.fields if f.key in optional and missing.get(f.key)]
    if not parts:
        parts.append("all there" if len(objs) == 1 else f"all {len(objs)} {what}s have them")
    if absent_optional:
        parts.append(f"{', '.join(absent_optional)} absent (optional in PORTAL.md, "
                     "so that is fine)")
    if extra:
        parts.append("other keys: " + ", ".join(sorted(extra)))
    required_missing = any(k not in optional for k in missing)
    result = "missing" if required_missing else "differs" if odd else "ok"
    return result, "; ".join(parts)


def types(objs: list, shape: contract.Shape) -> tuple[str, str]:
    """Does every field that is there have a JSON type the contract gives it?"""
    what = shape.name
    objs = [o for o in _objects(objs, what) if isinstance(o, dict)]
    if not objs:
        raise NotShown(f"no {what} is an object")
    wrong: dict[str, Counter] = {}
    for obj in objs:
        for f in shape.fields:
            if f.key in obj and json_type(obj[f.key]) not in f.types:
                wrong.setdefault(f.key, Counter())[a(obj[f.key])] += 1
    if not wrong:
        return "ok", ("each field has its type" if len(objs) == 1
                      else f"each field has its type in all {len(objs)} {what}s")
    parts = [f"{key} is {' / '.join(f'{t} in {n}' for t, n in found.items())} of "
             f"{len(objs)}" for key, found in sorted(wrong.items())]
    return "differs", "; ".join(parts)


def epoch_problem(value) -> str | None:
    """Why ``value`` is not epoch seconds as a JSON number (None when it is)."""
    if json_type(value) != "number":
        return a(value)
    if not math.isfinite(value):
        return "not a finite number"
    if value > 1e11 and EPOCH_MIN <= value / 1000 < EPOCH_MAX:
        return "milliseconds"
    if not EPOCH_MIN <= value < EPOCH_MAX:
        return "outside 1990-2100"
    return None


def epoch_counts(values: list, nullable: bool = False) -> tuple[int, Counter]:
    """(how many are epoch seconds, Counter of why the others are not); nulls are
    skipped where PORTAL.md allows them."""
    problems: Counter = Counter()
    numbers = 0
    for value in values:
        if value is None and nullable:
            continue
        problem = epoch_problem(value)
        if problem:
            problems[problem] += 1
        else:
            numbers += 1
    return numbers, problems


def epochs(groups: dict[str, list], nullable=()) -> tuple[str, str]:
    """Every value of every group (``{field: values}``) epoch seconds, or null for the
    fields in ``nullable``; a group without values is skipped."""
    total, wrong = 0, []
    for key, values in groups.items():
        numbers, problems = epoch_counts(values, key in nullable)
        total += numbers
        wrong += [f"{n} of {len(values)} {key} values are {p}" for p, n in problems.items()]
    if not any(groups.values()):
        raise NotShown(f"no {' or '.join(groups)} to look at")
    if wrong:
        return "differs", "; ".join(wrong)
    return "ok", f"{count(total, 'time')} in epoch seconds, all numbers"


# -- the summary of an answer, for a report -----------------------------------------------

class Summary:
    """Accumulates what values at one place of many answers look like."""

    def __init__(self):
        self.types: Counter = Counter()
        self.lengths: list[int] = []
        self.keys: dict[str, Summary] = {}
        self.items: Summary | None = None

    def add(self, value, data, depth: int = 0) -> None:
        """Count one more value seen here (and, below the depth cap, what it holds)."""
        self.types[json_type(value)] += 1
        if depth >= MAX_SHAPE_DEPTH:
            return
        if isinstance(value, str | list):
            self.lengths.append(len(value))
        if isinstance(value, dict):
            for key, inner in value.items():
                self.keys.setdefault(privacy.key_shown(key, data), Summary()).add(
                    inner, data, depth + 1)
        elif isinstance(value, list):
            self.items = self.items or Summary()
            for inner in value[:MAX_SHAPE_ITEMS]:
                self.items.add(inner, data, depth + 1)

    def as_dict(self) -> dict:
        """The accumulated shape as the report holds it."""
        out: dict = {"types": dict(sorted(self.types.items()))}
        if self.lengths:
            out["length"] = [min(self.lengths), max(self.lengths)]
        if self.keys:
            out["keys"] = {k: s.as_dict() for k, s in self.keys.items()}
        if self.items is not None and self.items.types:
            out["items"] = self.items.as_dict()
        return out


def shape(doc, data) -> dict:
    """Keys, JSON types, lengths (min and max), counts: the answer without its values."""
    s = Summary()
    s.add(doc, data)
    return s.as_dict()
