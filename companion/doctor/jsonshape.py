"""JSON answers as structure: the type of a value in JSON's own words, whether objects
carry the fields PORTAL.md names with the types it names, epoch times, and the summary
of a whole answer (keys, types, lengths, counts) that a report holds instead of the
answer itself.

Field specs are ``{name: (json types...)}``; the JSON types are ``string``, ``number``,
``true/false``, ``null``, ``list`` and ``object``.
"""

from __future__ import annotations

import math
from collections import Counter

from companion.doctor import privacy
from companion.doctor.findings import NotShown, count

EPOCH_MIN, EPOCH_MAX = 631_152_000, 4_102_444_800  # 1990-01-01 .. 2100-01-01, seconds
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


def spec_words(spec: dict) -> str:
    """``caseId (string), creationDate (number)...`` for an "expected" column."""
    return ", ".join(f"{name} ({' or '.join(kinds)})" for name, kinds in spec.items())


def _objects(objs: list, what: str) -> list:
    """The objects to check, or NotShown when there are none."""
    if not objs:
        raise NotShown(f"no {what}s in the answer")
    return objs


def fields(objs: list, spec: dict, what: str, data, optional=()) -> tuple[str, str]:
    """Does every object carry every field of ``spec``? Missing ones are named with how
    many objects lack them; extra keys are listed but fail nothing (a portal may add)."""
    objs = _objects(objs, what)
    odd = Counter(a(o) for o in objs if not isinstance(o, dict))
    missing, extra = Counter(), Counter()
    for obj in objs:
        if isinstance(obj, dict):
            missing.update(k for k in spec if k not in obj)
            extra.update(privacy.key_shown(k, data) for k in obj if k not in spec)
    parts = [f"{n} of {len(objs)} {what}s {'is' if n == 1 else 'are'} {kind}, not an object"
             for kind, n in odd.items()]
    parts += [f"{key} absent in {n} of {len(objs)}" for key, n in sorted(missing.items())
              if key not in optional]
    absent_optional = [k for k in optional if missing.get(k)]
    if not parts:
        parts.append("all there" if len(objs) == 1 else f"all {len(objs)} {what}s have them")
    if absent_optional:
        parts.append(f"{', '.join(absent_optional)} absent (PORTAL.md: the simulation's "
                     "own field, so that is fine)")
    if extra:
        parts.append("other keys: " + ", ".join(sorted(extra)))
    required_missing = any(k not in optional for k in missing)
    result = "missing" if required_missing else "differs" if odd else "ok"
    return result, "; ".join(parts)


def types(objs: list, spec: dict, what: str) -> tuple[str, str]:
    """Does every field that is there have the JSON type ``spec`` gives it?"""
    objs = [o for o in _objects(objs, what) if isinstance(o, dict)]
    if not objs:
        raise NotShown(f"no {what} is an object")
    wrong: dict[str, Counter] = {}
    for obj in objs:
        for key, kinds in spec.items():
            if key in obj and json_type(obj[key]) not in kinds:
                wrong.setdefault(key, Counter())[a(obj[key])] += 1
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

class Shape:
    """Accumulates what values at one place of many answers look like."""

    def __init__(self):
        self.types: Counter = Counter()
        self.lengths: list[int] = []
        self.keys: dict[str, Shape] = {}
        self.items: Shape | None = None

    def add(self, value, data, depth: int = 0) -> None:
        """Count one more value seen here (and, below the depth cap, what it holds)."""
        self.types[json_type(value)] += 1
        if depth >= MAX_SHAPE_DEPTH:
            return
        if isinstance(value, str | list):
            self.lengths.append(len(value))
        if isinstance(value, dict):
            for key, inner in value.items():
                self.keys.setdefault(privacy.key_shown(key, data), Shape()).add(
                    inner, data, depth + 1)
        elif isinstance(value, list):
            self.items = self.items or Shape()
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
    s = Shape()
    s.add(doc, data)
    return s.as_dict()
