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

Building the queue writes nothing. The candidates of every open case are remembered per
database until a sync, a reply marked sent, a mark, an ask scanned or the settings
change, or five minutes pass (the reminders' own rule).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from companion.queue import marks, progress
from companion.read import sources
from companion.read.cache import Memo
from companion.read.labels import ANSWERED, WAITING_ON_AMAZON, sql_in
from companion.replies import reminders, repeats

KINDS = ("answer", "reopen", "new_case", "follow_up", "callback", "evidence")
WHAT = {"answer": "Answer Amazon", "reopen": "Reopen window closes",
        "new_case": "Cannot be reopened",
        "follow_up": "Follow up with Amazon", "callback": "Be ready for Amazon's call",
        "evidence": "Send what Amazon asked for"}
NEVER_STALE = ("callback", "reopen", "new_case")
HOME_ROWS = 30      # home shows the top of the queue; /queue shows all of it, in pages
_MEMO = Memo(size=64)   # one entry per database: several accounts each

_EVIDENCE_SQL = f"""
select a.case_id, c.subject, c.status, c.category, max(a.sent_at) as asked_at,
       group_concat(distinct a.label) as labels
from case_asks a join cases c on c.case_id = a.case_id
where c.status in {sql_in(ANSWERED + WAITING_ON_AMAZON)}
  and a.sent_at > coalesce((select max(m.sent_at) from messages m
                            where m.case_id = a.case_id and m.sender = 'seller'), '')
  and a.sent_at > coalesce((select max(e.at) from draft_events e
                            where e.case_id = a.case_id and e.kind = 'draft_sent'), '')
group by a.case_id
"""


def _want(kind: str, base: dict, due_at: str, note: str | None, moved: str | None) -> dict:
    return {"kind": kind, "what": WHAT[kind], "due_at": due_at, "note": note,
            "case_id": base["case_id"], "subject": base.get("subject"),
            "status": base.get("status"), "category": base.get("category"),
            "last_activity": moved, "amazon_deadline": base.get("amazon_deadline")}


def _from_reminders(rems: list[dict], now: datetime, config: dict) -> list[dict]:
    """The answer, reopen and follow-up wants among every open case's reminder."""
    now_ts = now.timestamp()
    soon = config["defaults"]["due_soon_days"] * 86400
    out = []
    for rem in rems:
        kind = rem["kind"]
        if kind == "follow_up" and now_ts < rem["due_ts"] - soon:
            continue  # Amazon has not had its time yet: nothing wanted
        if kind == "reopen" and now_ts > rem["due_ts"]:
            if now_ts > rem.get("show_until", now_ts):
                continue  # long closed: the case page still says what to do
            kind = "new_case"  # missed: if unsolved, Amazon's way is a new case
        note = None
        if kind in ("reopen", "new_case"):
            note = reminders.NOTES["reopen"][kind == "new_case"]
        elif kind == "follow_up":
            note = "Last message in the case on " + repeats.short_day(rem["since"], now)
        out.append(_want(kind, rem, rem["due_at"], note, rem.get("last_activity")))
    return out


def _from_asks(db: sqlite_utils.Database, config: dict) -> list[dict]:
    """Evidence Amazon asked for in cases that do not wait on the seller's answer."""
    out = []
    for r in db.query(_EVIDENCE_SQL):
        s = reminders.settings_for(config, r["category"])
        asked = reminders.parse_time(r["asked_at"])
        if asked is None:
            continue
        due = reminders.iso(asked + timedelta(days=s["answer_within_days"]))
        labels = ", ".join(sorted(set((r["labels"] or "").split(","))))
        out.append(_want("evidence", r, due, f"Amazon asked for: {labels}", r["asked_at"]))
    return out


def _from_callbacks(db: sqlite_utils.Database, now: datetime) -> list[dict]:
    return [_want("callback", c, c["earliest"] or c["latest"], c["sentence"], None)
            for c in sources.callbacks(db, now=now, limit=500)]


def _one_row_per_case(wants: list[dict]) -> list[dict]:
    """Each case once, under its earliest deadline; its other wants as ``also``."""
    by_case: dict[str, list[dict]] = {}
    for w in wants:
        by_case.setdefault(w["case_id"], []).append(w)
    rows = []
    for found in by_case.values():
        found.sort(key=lambda w: w["due_at"] or "")
        first = dict(found[0])
        first["also"] = found[1:]
        first["kinds"] = [w["kind"] for w in found]
        moved = [w["last_activity"] for w in found if w["last_activity"]]
        first["last_activity"] = max(moved) if moved else None
        rows.append(first)
    rows.sort(key=lambda r: (r["due_at"] or "9", r["case_id"]))
    return rows


def _stamp(db: sqlite_utils.Database, config: dict, now: datetime) -> tuple:
    """The reminders' stamp, the marks', and the asks': every scan replaces its rows
    (insert or replace), so the highest rowids move whenever asks are stored."""
    asks = db.execute("select (select max(rowid) from case_asks), "
                      "(select max(rowid) from asks_scanned)").fetchone()
    return (reminders._stamp(db, config, now), marks.stamp(db), tuple(asks))


def _split(rows: list[dict], standing: dict, config: dict, now: datetime) -> dict:
    stale_days = config["defaults"]["stale_after_days"]
    cutoff = reminders.iso(now - timedelta(days=stale_days))
    main, stale, snoozed = [], [], []
    for r in rows:
        if r["case_id"] in standing:
            snoozed.append({**r, "mark": standing[r["case_id"]]})
        elif not set(r["kinds"]) & set(NEVER_STALE) and stale_days and (
                r["last_activity"] or "") < cutoff:
            stale.append({**r, "stale": True})
        else:
            main.append(r)
    return {"rows": main, "stale": stale, "snoozed": snoozed, "stale_days": stale_days}


def candidates(db: sqlite_utils.Database, now: datetime) -> dict:
    """Every row of the queue, split into the list, the stale group and the snoozed
    group (undecorated); remembered per database (see the module's docstring). Raises
    ``reminders.ConfigError`` for a broken settings file."""
    rems, config = reminders.open_reminders(db, now)

    def build() -> dict:
        wants = (_from_reminders(rems, now, config) + _from_asks(db, config)
                 + _from_callbacks(db, now))
        found = _split(_one_row_per_case(wants), marks.standing(db, now), config, now)
        found["by_case"] = {r["case_id"]: r for g in GROUPS for r in found[g]}
        found["stamp"] = stamp
        return found

    stamp = _stamp(db, config, now)
    return _MEMO.get(db, "queue", stamp, build)


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
        found = candidates(db, now)
    except reminders.ConfigError as exc:
        return _empty(str(exc))
    rows = found["rows"][:limit]
    new = changed_since_look(db, [r["case_id"] for r in rows])
    return {"rows": decorate(db, rows, new, with_evidence, now),
            "total": len(found["rows"]), "more": len(found["rows"]) - len(rows),
            "stale_count": len(found["stale"]), "stale_days": found["stale_days"],
            "snoozed_count": len(found["snoozed"]), "problem": None}


GROUPS = ("rows", "stale", "snoozed")


def group(db: sqlite_utils.Database, now: datetime, name: str = "rows", page: int = 1,
          per_page: int = 50, with_evidence: bool = True) -> dict:
    """One page of one part of the queue (``rows``: the list, ``stale``, ``snoozed``),
    decorated like home's rows, with the counts of all three."""
    try:
        found = candidates(db, now)
    except reminders.ConfigError as exc:
        return _empty(str(exc))
    name = name if name in GROUPS else "rows"
    every = found[name]
    pages = max(1, -(-len(every) // per_page))
    page = min(max(1, page), pages)
    shown = every[(page - 1) * per_page:page * per_page]
    new = changed_since_look(db, [r["case_id"] for r in shown])
    rows = decorate(db, shown, new, with_evidence, now)
    if name == "snoozed":
        rows = [{**r, "mark_words": marks.describe(r["mark"])} for r in rows]
    return {"group": name, "rows": rows, "count": len(every), "page": page, "pages": pages,
            "total": len(found["rows"]), "stale_count": len(found["stale"]),
            "snoozed_count": len(found["snoozed"]), "stale_days": found["stale_days"],
            "problem": None, "more": 0}


def deadlines(db: sqlite_utils.Database, now: datetime) -> dict[str, dict]:
    """{case_id: its queue row} for every case the queue holds (list, stale or snoozed),
    for the cases table's deadline column and the CSV."""
    try:
        return candidates(db, now)["by_case"]
    except reminders.ConfigError:
        return {}


def stamp(db: sqlite_utils.Database, now: datetime):
    """What the queue was built from (for memos of what follows from it), or None."""
    try:
        return candidates(db, now)["stamp"]
    except reminders.ConfigError:
        return None


def row_for(db: sqlite_utils.Database, case_id: str, now: datetime) -> dict | None:
    """The case's queue row (for a mark's words), or None when it wants nothing."""
    return deadlines(db, now).get(case_id)
