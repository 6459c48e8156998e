"""A doctor run as a report a person can attach to a public bug report (the JSON that
``--report FILE`` writes and ``--json`` prints) and as the table a terminal shows.

The report holds structure only (see ``companion.doctor.privacy``): per check its
name, the capture it read, what PORTAL.md expects, what was found and the result; per
capture the HTTP status, its size, and its shape (JSON keys, types, lengths, counts) or
what the parser read of each page, counted; which layout and locale the pages showed.
It ends passing ``privacy.scrub``, which withholds anything that still
looks like the seller's data.
"""

from __future__ import annotations

import shutil
import textwrap
from datetime import UTC, datetime
from urllib.parse import urlsplit

from companion import __version__
from companion.doctor import privacy
from companion.doctor.casechecks import page_counts, page_locale
from companion.doctor.findings import CAPTURES, CHECKS, RESULTS, Captured, Finding, NotShown
from companion.doctor.jsonshape import shape
from companion.doctor.lobbychecks import layouts

FORMAT = 1
CONTRACT = "PORTAL.md version 3"


def _capture(c: Captured, kind: str) -> dict:
    """One capture in the report: request, status, size and its shape
    (or why there is none)."""
    raw = c.raws.get(kind)
    out: dict = {"request": CAPTURES[kind]}
    if raw is None or raw.body is None:
        out["problem"] = raw.problem if raw is not None and raw.problem else "not asked"
        if raw is not None and raw.status:
            out["status"] = raw.status
        return out
    out.update(status=raw.status, bytes=len(raw.body))
    try:
        if kind in ("search", "viewcase"):
            out["json"] = shape(c.json(kind), c.data)
        elif kind == "case_page":
            out["page"] = page_counts(c)
        else:
            out["page"] = lobby_counts(c)
    except NotShown as exc:
        out["problem"] = str(exc)
    return out


def lobby_counts(c: Captured) -> dict:
    """What the lobby holds as the parser read it, counted."""
    try:
        rows, total = c.parsed("lobby")
    except Exception:  # noqa: BLE001  (lobby.parser says why)
        return {"read": False}
    return {"read": True, "rows": len(rows), "total_line": total is not None}


def build(c: Captured, findings: list[Finding], *, portal: str,
          now: datetime | None = None) -> dict:
    """The report of one run (``exit_code`` 0 when every check matched, 1 otherwise)."""
    failed = [f.check for f in findings if f.failed]
    report = {
        "report": "caselog doctor", "format": FORMAT, "contract": CONTRACT,
        "caselog": __version__, "portal": urlsplit(portal).hostname or "",
        "created": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:00Z"),
        "result": "differs" if failed else "ok", "exit_code": 1 if failed else 0,
        "counts": {r: sum(1 for f in findings if f.result == r) for r in RESULTS},
        "failed": failed,
        "layout": layouts(c), "locale": {"case_page": page_locale(c)},
        "checks": [f.as_dict() for f in findings],
        "captures": {kind: _capture(c, kind) for kind in CAPTURES},
    }
    own = {text for chk in CHECKS for text in (chk.name, chk.capture, chk.expected)}
    own.update(CAPTURES.values())
    return privacy.scrub(report, c.data, frozenset(own))


def table(report: dict, width: int | None = None) -> str:
    """The checks as a table (check, result, expected, found), wrapped to the terminal."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    name_w, result_w = 26, 10
    rest = max(40, width - name_w - result_w - 2)
    exp_w = rest // 2
    found_w = rest - exp_w - 1
    lines = [f"caselog doctor: {report['portal']} against {report['contract']}", "",
             f"{'check':<{name_w}}{'result':<{result_w}}{'expected':<{exp_w}} found"]
    for row in report["checks"]:
        exp = textwrap.wrap(row["expected"], exp_w - 1) or [""]
        found = textwrap.wrap(row["found"], found_w) or [""]
        for i in range(max(len(exp), len(found))):
            head = (f"{row['check']:<{name_w}}{row['result']:<{result_w}}" if i == 0
                    else " " * (name_w + result_w))
            left = exp[i] if i < len(exp) else ""
            lines.append(f"{head}{left:<{exp_w}} {found[i] if i < len(found) else ''}".rstrip())
    lines.append("")
    counts = ", ".join(f"{n} {r}" for r, n in report["counts"].items() if n)
    layout = ", ".join(f"{k} {v}" for k, v in report["layout"].items() if v)
    lines.append(f"{counts}. Layout: {layout or 'not seen'}.")
    if report["failed"]:
        lines.append("Differs from PORTAL.md: " + ", ".join(report["failed"]) + ".")
    else:
        lines.append("Everything the captures show matches PORTAL.md.")
    return "\n".join(lines)
