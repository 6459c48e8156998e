"""Home's queue: every case that wants something from the seller, one row each, ordered
by its deadline, each row saying what is wanted and by when.

What a case can want (``KINDS``), each with its deadline:
* ``answer``: Amazon waits on the seller (Needs your attention); due
  ``answer_within_days`` after Amazon's last message, or sooner when that message says
  "reply within N days" (``reminders``). Always listed: an answer is always wanted.
* ``reopen``: an Answered case whose 5-day reopen window is still open; due when it
  closes (``window``).
* ``new_case``: the same window missed, for ``reopen_closed_notice_days`` after it
  closed: if Amazon's answer did not solve it, Amazon's way is a new case citing this
  one. Due (and so overdue) at the moment the window closed.
* ``follow_up``: a case waiting on Amazon whose follow-up falls due within
  ``due_soon_days`` or is overdue; due ``follow_up_after_days`` after the last word.
* ``callback``: Amazon's scheduled call-back still to come (``appointments``); due when
  the call's window opens: the seller must be reachable.
* ``evidence``: a case not waiting on the seller's answer (Answered, Work in progress,
  Reopened) whose newest Amazon message asked for evidence after the seller last
  wrote; due ``answer_within_days`` after that ask.
A case with several wants is one row, under its earliest deadline, the others as
``also``. Rows are sorted by deadline (overdue first), then case id.

Old silence is not an emergency: a row whose case has not moved (a message of either
side, a reply marked sent) for ``stale_after_days`` (replies.toml, default 30) goes to
one ``stale`` group at the end, with its count; call-backs and reopen windows are never
stale. Rows the person snoozed or marked "nothing to do" (``marks``) go to their
own group, with Undo. Evidence progress, repeated asks and "new since you last looked"
are added to the rows a page shows only.

The rows are stored when their data change (``companion.queue.derive``); reading the
queue is queries that compare the stored deadlines and windows with the reader's "now"
(a follow-up not due soon yet, a reopen window closed, a snooze over).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from companion.queue import derive, marks, progress
from companion.replies import reminders, repeats

KINDS = ("answer", "reopen", "new_case", "follow_up", "callback", "evidence")
WHAT = {"answer": "Answer Amazon", "reopen": "Reopen window closes",
        "new_case": "Cannot be reopened",
        "follow_up": "Follow up with Amazon", "callback": "Be ready for Amazon's call",
        "evidence": "Send what Amazon asked for"}
NEVER_STALE = ("callback", "reopen", "new_case")
HOME_ROWS = 30      # home shows the top of the queue; /queue shows all of it, in pages
GROUPS = ("rows", "stale", "snoozed")

_SHOWN = """
select w.* from queue_wants w
where (w.from_ts is null or :now_ts >= w.from_ts)
  and (w.until_ts is null or :now_ts < w.until_ts) {extra}
"""
# One row per case: the phase (``derive.phases``) the reader's "now" falls in.
_PER_CASE = """
select case_id, first_due, grp, mark_id from queue_phases
where from_ts <= :now_ts and :now_ts < until_ts
"""


def _params(state: dict, now: datetime) -> dict:
    stale_days = int(state.get("stale_days") or 0)
    return {"now_ts": now.timestamp(), "now_iso": reminders.iso(now),
            "stale_days": stale_days,
            "cutoff": reminders.iso(now - timedelta(days=stale_days))}


def _shown_want(w: dict, case: dict, now: datetime) -> dict:
    kind, note = w["kind"], w["note"]
    if kind == "reopen":
        late = now.timestamp() > w["due_ts"]
        kind = "new_case" if late else "reopen"
        note = reminders.NOTES["reopen"][late]
    elif kind == "follow_up":
        note = "Last message in the case on " + repeats.short_day(w["since"], now)
    return {"kind": kind, "what": WHAT[kind], "due_at": w["due_at"], "note": note,
            "case_id": w["case_id"], "subject": case.get("subject"),
            "status": case.get("status"), "category": case.get("category"),
            "last_activity": w["last_activity"], "amazon_deadline": w["amazon_deadline"]}


def _rows(db: sqlite_utils.Database, picked: list[dict], state: dict, now: datetime
          ) -> list[dict]:
    """The queue rows of these cases (rows of ``_PER_CASE``, in the order given): the
    earliest want with the others as ``also``; ``stale`` and ``mark`` as grouped."""
    if not picked:
        return []
    ids = [p["case_id"] for p in picked]
    marks_sql = ",".join("?" * len(ids))
    params = {**_params(state, now), **{f"c{n}": i for n, i in enumerate(ids)}}
    named = ",".join(f":c{n}" for n in range(len(ids)))
    cases = {r["case_id"]: r for r in db.query(
        f"select case_id, subject, status, category from cases where case_id in ({marks_sql})",
        ids)}
    wants: dict[str, list[dict]] = {}
    for w in db.query(_SHOWN.format(extra=f"and w.case_id in ({named})") +
                      " order by coalesce(w.due_at, ''), w.ord", params):
        wants.setdefault(w["case_id"], []).append(w)
    mark_ids = [p["mark_id"] for p in picked if p["grp"] == "snoozed"]
    by_mark = {m["id"]: m for m in db.query(
        f"select * from queue_marks where id in ({','.join('?' * len(mark_ids))})",
        mark_ids)} if mark_ids else {}
    out = []
    for p in picked:
        found = [_shown_want(w, cases.get(p["case_id"], {}), now)
                 for w in wants.get(p["case_id"], [])]
        if not found:
            continue
        row = dict(found[0])
        row["also"] = found[1:]
        row["kinds"] = [w["kind"] for w in found]
        moved = [w["last_activity"] for w in found if w["last_activity"]]
        row["last_activity"] = max(moved) if moved else None
        if p["grp"] == "stale":
            row["stale"] = True
        elif p["grp"] == "snoozed":
            row["mark"] = by_mark.get(p["mark_id"])
        out.append(row)
    return out


def _state(db: sqlite_utils.Database) -> dict:
    """The stored state; raises ``reminders.ConfigError`` for a broken settings file."""
    state = derive.current(db)
    if state.get("problem"):
        raise reminders.ConfigError(state["problem"])
    return state


def _counts(db, state: dict, now: datetime) -> dict[str, int]:
    found = dict.fromkeys(GROUPS, 0)
    found.update(db.execute(f"{_PER_CASE} group by grp".replace(
        "select case_id, first_due, grp, mark_id", "select grp, count(*)"),
                            _params(state, now)).fetchall())
    return found


def _page(db, state: dict, now: datetime, name: str, limit: int, offset: int) -> list[dict]:
    picked = list(db.query(
        f"{_PER_CASE} and grp = :grp order by first_due, case_id limit :limit offset :offset",
        {**_params(state, now), "grp": name, "limit": limit, "offset": offset}))
    return _rows(db, picked, state, now)


def candidates(db: sqlite_utils.Database, now: datetime) -> dict:
    """Every row of the queue, split into the list, the stale group and the snoozed
    group (undecorated), and ``by_case``. Raises ``reminders.ConfigError`` for a broken
    settings file. Pages read one page of a group instead (``home_queue``, ``group``)."""
    state = _state(db)
    picked = list(db.query(f"select * from ({_PER_CASE}) order by first_due, case_id",
                           _params(state, now)))
    rows = _rows(db, picked, state, now)
    found = {"rows": [r for r in rows if not r.get("stale") and "mark" not in r],
             "stale": [r for r in rows if r.get("stale")],
             "snoozed": [r for r in rows if "mark" in r]}
    found["stale_days"] = int(state.get("stale_days") or 0)
    found["by_case"] = {r["case_id"]: r for r in rows}
    return found


def judged(row: dict, now: datetime) -> dict:
    """A row as of ``now``: overdue or not, and by how many days (or hours)."""
    due = reminders.parse_time(row["due_at"])
    if due is None:
        return {**row, "overdue": False, "days_left": None, "hours_left": None}
    left = (due - now).total_seconds()
    return {**row, "overdue": left < 0, "days_overdue": int(-left // 86400) if left < 0 else 0,
            "days_left": int(left // 86400) if left >= 0 else None,
            "hours_left": int(left // 3600) if left >= 0 else None}


def decorate(db: sqlite_utils.Database, rows: list[dict], new: set[str],
             with_evidence: bool, now: datetime) -> list[dict]:
    """Rows as a page shows them: judged against ``now``, evidence progress, repeated
    asks, ``new`` (also for the merged queue of every account)."""
    ids = [r["case_id"] for r in rows]
    counts = progress.for_cases(db, ids) if with_evidence else {}
    again = repeats.for_cases(db, ids, now) if with_evidence else {}
    return [{**judged(r, now), "progress": counts.get(r["case_id"]),
             "repeats": again.get(r["case_id"], []), "new": r["case_id"] in new}
            for r in rows]


def changed_since_look(db: sqlite_utils.Database, case_ids: list[str]) -> set[str]:
    """Which of these cases a sync changed since the person last marked home seen (or,
    before they ever did, in the last sync)."""
    if not case_ids:
        return set()
    look = marks.last_look(db)
    marks_sql = ",".join("?" * len(case_ids))
    if look is not None:
        where, params = "id > ?", [look["change_id"]]
    else:
        where, params = "sync_id = (select max(sync_id) from changes)", []
    return {r[0] for r in db.execute(
        f"select distinct case_id from changes where {where} and case_id in ({marks_sql})",
        [*params, *case_ids])}


def _empty(problem: str) -> dict:
    return {"rows": [], "total": 0, "more": 0, "stale_count": 0, "stale_days": None,
            "snoozed_count": 0, "count": 0, "page": 1, "pages": 1, "problem": problem}


def home_queue(db: sqlite_utils.Database, now: datetime, limit: int = HOME_ROWS,
               with_evidence: bool = True) -> dict:
    """What home shows: the top ``limit`` rows of the list, decorated with evidence
    progress, repeated asks and ``new`` (changed since the person last looked), and the
    counts of the list, the stale group and the snoozed group (whose rows ``group``
    gives when the person opens them); a broken settings file as ``problem``."""
    try:
        state = _state(db)
    except reminders.ConfigError as exc:
        return _empty(str(exc))
    counts = _counts(db, state, now)
    rows = _page(db, state, now, "rows", limit, 0)
    new = changed_since_look(db, [r["case_id"] for r in rows])
    return {"rows": decorate(db, rows, new, with_evidence, now),
            "total": counts["rows"], "more": counts["rows"] - len(rows),
            "stale_count": counts["stale"], "stale_days": int(state.get("stale_days") or 0),
            "snoozed_count": counts["snoozed"], "problem": None}


def group(db: sqlite_utils.Database, now: datetime, name: str = "rows", page: int = 1,
          per_page: int = 50, with_evidence: bool = True) -> dict:
    """One page of one part of the queue (``rows``: the list, ``stale``, ``snoozed``),
    decorated like home's rows, with the counts of all three."""
    try:
        state = _state(db)
    except reminders.ConfigError as exc:
        return _empty(str(exc))
    name = name if name in GROUPS else "rows"
    counts = _counts(db, state, now)
    pages = max(1, -(-counts[name] // per_page))
    page = min(max(1, page), pages)
    shown = _page(db, state, now, name, per_page, (page - 1) * per_page)
    new = changed_since_look(db, [r["case_id"] for r in shown])
    rows = decorate(db, shown, new, with_evidence, now)
    if name == "snoozed":
        rows = [{**r, "mark_words": marks.describe(r["mark"])} for r in rows]
    return {"group": name, "rows": rows, "count": counts[name], "page": page, "pages": pages,
            "total": counts["rows"], "stale_count": counts["stale"],
            "snoozed_count": counts["snoozed"], "stale_days": int(state.get("stale_days") or 0),
            "problem": None, "more": 0}


def top(db: sqlite_utils.Database, now: datetime, limit: int) -> dict:
    """The first ``limit`` rows of the list (undecorated) and the groups' counts
    (``rows``, ``stale``, ``snoozed``), for the merged queue of every account. Raises
    ``reminders.ConfigError`` for a broken settings file."""
    state = _state(db)
    return {"rows": _page(db, state, now, "rows", limit, 0),
            "counts": _counts(db, state, now)}


def deadlines(db: sqlite_utils.Database, now: datetime,
              case_ids: list[str] | None = None) -> dict[str, dict]:
    """{case_id: its queue row} for the given cases (None: every case the queue holds,
    list, stale or snoozed), for the cases table's deadline column and the CSV."""
    try:
        state = _state(db)
    except reminders.ConfigError:
        return {}
    params = _params(state, now)
    extra = ""
    if case_ids is not None:
        if not case_ids:
            return {}
        params.update({f"c{n}": i for n, i in enumerate(case_ids)})
        extra = f" where case_id in ({','.join(f':c{n}' for n in range(len(case_ids)))})"
    picked = list(db.query(f"select * from ({_PER_CASE}){extra}", params))
    return {r["case_id"]: r for r in _rows(db, picked, state, now)}


def row_for(db: sqlite_utils.Database, case_id: str, now: datetime) -> dict | None:
    """The case's queue row (for a mark's words), or None when it wants nothing."""
    return deadlines(db, now, [case_id]).get(case_id)
