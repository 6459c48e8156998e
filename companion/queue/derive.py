"""Home's queue and the reminders, computed when what they follow from changes and
stored (``queue_wants``, ``queue_standing``, ``derived_state``: migration 26), so that
every page reading them is plain queries.

``refresh(db, case_ids)`` is the one entry: every writer calls it with the cases it
changed (a sync's save, ``caselog reparse`` and ``import`` with all of them, a queue
mark, a reply marked sent). It stores the open cases' checklists and asks first (what
the evidence wants and the lists' progress read), then each case's wants: the answer,
follow-up or reopen reminder, evidence Amazon asked for, Amazon's call-backs, and the
case's standing mark.

What passes with time is not stored as a decision: each want keeps its deadline and the
window in which the queue lists it (a follow-up from ``due_soon_days`` before it is due,
a reopen window until ``reopen_closed_notice_days`` after it closed, a call-back until
its window ends), and the reader compares them with its own "now". The settings files a
person edits by hand (``replies.toml``, the checklist library) are stamped with the rows
(size and modification time, no parsing); ``current`` sees a changed stamp and refreshes
everything before a page reads.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import sqlite_utils

from companion.folders import home
from companion.read import stats
from companion.read.labels import ANSWERED, WAITING_ON_AMAZON, sql_in
from companion.read.overview import WAITING_SQL
from companion.read.sources import callbacks_of
from companion.replies import checklists, reminders, repeats
from companion.replies.library import library_state

WANT_COLUMNS = ("case_id", "kind", "ord", "due_at", "due_ts", "from_ts", "until_ts",
                "remind", "show_from_ts", "show_until_ts", "never_stale", "note", "since",
                "last_activity", "amazon_deadline")
CHUNK = 500  # case ids per statement: SQLite's variables

_EVIDENCE_SQL = f"""
select a.case_id, max(a.sent_at) as asked_at, group_concat(distinct a.label) as labels,
       c.category
from case_asks a join cases c on c.case_id = a.case_id
where c.status in {sql_in(ANSWERED + WAITING_ON_AMAZON)} {{extra}}
  and a.sent_at > coalesce((select max(m.sent_at) from messages m
                            where m.case_id = a.case_id and m.sender = 'seller'), '')
  and a.sent_at > coalesce((select max(e.at) from draft_events e
                            where e.case_id = a.case_id and e.kind = 'draft_sent'), '')
group by a.case_id
"""


def _stat(path) -> list | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def inputs_stamp() -> str:
    """The settings files the rows follow from, as they are on disk now: replies.toml's
    size and mtime and the checklist library's files and mtimes."""
    version, _, _ = library_state()
    files = None if version is None else [[os.path.basename(p), t] for p, t in version[1]]
    return json.dumps([_stat(home() / "replies.toml"), files])


def _chunks(ids: list[str] | None):
    if ids is None:
        yield "", []
        return
    for n in range(0, len(ids), CHUNK):
        part = ids[n:n + CHUNK]
        yield f"and c.case_id in ({','.join('?' * len(part))})", part


def _want(case_id: str, kind: str, ord_: int, due: datetime | str, **extra) -> dict:
    due_dt = due if isinstance(due, datetime) else reminders.parse_time(due)
    row = dict.fromkeys(WANT_COLUMNS)
    row.update(case_id=case_id, kind=kind, ord=ord_, remind=0, never_stale=0,
               due_at=reminders.iso(due_dt) if due_dt else None,
               due_ts=due_dt.timestamp() if due_dt else None)
    row.update(extra)
    return row


def _from_reminders(db, ids, config: dict, now: datetime) -> list[dict]:
    soon = config["defaults"]["due_soon_days"] * 86400
    out = []
    for rem in reminders.for_cases(db, ids, now, config).values():
        kind, due_ts = rem["kind"], rem["due_ts"]
        extra = {"remind": 1, "since": rem["since"], "last_activity": rem["last_activity"],
                 "amazon_deadline": rem.get("amazon_deadline"),
                 "show_from_ts": rem.get("show_from", due_ts - soon),
                 "show_until_ts": rem.get("show_until")}
        if kind == "follow_up":
            extra["from_ts"] = due_ts - soon  # Amazon has not had its time before
        if kind == "reopen":
            extra.update(until_ts=rem["show_until"], never_stale=1)
        out.append(_want(rem["case_id"], kind, 0, rem["due_at"], **extra))
    return out


def _from_asks(db, ids, config: dict) -> list[dict]:
    out = []
    for extra, params in _chunks(ids):
        for r in db.query(_EVIDENCE_SQL.format(extra=extra), params):
            asked = reminders.parse_time(r["asked_at"])
            if asked is None:
                continue
            s = reminders.settings_for(config, r["category"])
            labels = ", ".join(sorted(set((r["labels"] or "").split(","))))
            out.append(_want(r["case_id"], "evidence", 1,
                             asked + timedelta(days=s["answer_within_days"]),
                             note=f"Amazon asked for: {labels}", since=r["asked_at"],
                             last_activity=r["asked_at"]))
    return out


def _from_callbacks(db, ids) -> list[dict]:
    out = []
    for extra, params in _chunks(ids):
        for c in callbacks_of(db, extra.replace("c.case_id", "a.case_id"), params):
            latest = reminders.parse_time(c["latest"])
            out.append(_want(c["case_id"], "callback", 2, c["earliest"] or c["latest"],
                             until_ts=latest.timestamp() if latest else None,
                             never_stale=1, note=c["sentence"]))
    return out


_NEWEST_MARKS_SQL = """
select q.*, c.status as case_status,
       (select max(sent_at) from messages m where m.case_id = q.case_id
         and m.sender = 'amazon') as last_amazon
from queue_marks q join cases c on c.case_id = q.case_id
where q.id in (select max(id) from queue_marks where undone_at is null group by case_id)
"""


def mark_holds(m: dict, case: dict) -> bool:
    """Whether a mark still holds for the case as it is (``case`` has ``status`` and
    ``last_amazon``), its date left aside: an undone mark never, "nothing to do" until
    Amazon writes or the status moves, a snooze "until Amazon writes" until it does."""
    if m.get("undone_at"):
        return False
    wrote = bool(case.get("last_amazon") and case["last_amazon"] > (m.get("amazon_at") or ""))
    if m["kind"] == "nothing":
        return not wrote and case.get("status") == m.get("status")
    return not (m.get("until_amazon") and wrote)


def _standing(db, ids) -> list[tuple]:
    """(case_id, mark id, until) of each case's newest mark that the case has not
    ended; its date is the reader's to compare with its "now"."""
    out = []
    for extra, params in _chunks(ids):
        for m in db.query(_NEWEST_MARKS_SQL + extra, params):
            if mark_holds(m, {"status": m["case_status"], "last_amazon": m["last_amazon"]}):
                out.append((m["case_id"], m["id"], m["until"]))
    return out


NEVER, EVER = -1e18, 1e18  # a phase open at either end


def _shown_at(w: dict, t: float) -> bool:
    return ((w["from_ts"] is None or t >= w["from_ts"])
            and (w["until_ts"] is None or t < w["until_ts"]))


def phases(wants: list[dict], mark: tuple | None, stale_days: int) -> list[tuple]:
    """One case's queue row over time: (from_ts, until_ts, group, first deadline, mark
    id) for every stretch in which it is listed, cut wherever a want starts or stops
    being shown, the snooze ends or the row goes stale."""
    stale_s = stale_days * 86400
    until = reminders.parse_time(mark[2]).timestamp() if mark and mark[2] else None
    cuts = {NEVER, EVER}
    for w in wants:
        cuts.update(t for t in (w["from_ts"], w["until_ts"]) if t is not None)
        moved = reminders.parse_time(w["last_activity"])
        if stale_days and moved:
            cuts.add(moved.timestamp() + stale_s)
    if until is not None:
        cuts.add(until)
    cuts = sorted(cuts)
    out: list[tuple] = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        shown = [w for w in wants if _shown_at(w, start)]
        if not shown:
            continue
        first = min(w["due_at"] or "9" for w in shown)
        moved = max((w["last_activity"] for w in shown if w["last_activity"]), default="")
        moved_t = reminders.parse_time(moved)
        if mark and (until is None or start < until):
            grp = "snoozed"
        elif (stale_days and not any(w["never_stale"] for w in shown)
              and (moved_t is None or moved_t.timestamp() + stale_s <= start)):
            grp = "stale"
        else:
            grp = "rows"
        row = (start, end, grp, first, mark[1] if grp == "snoozed" else None)
        if out and out[-1][2:] == row[2:] and out[-1][1] == start:
            out[-1] = (out[-1][0], end, *row[2:])  # the same row: one phase
        else:
            out.append(row)
    return out


def _repeats(db, ids, now: datetime) -> list[tuple]:
    """(case_id, json) of the open cases' repeated asks, for home's rows."""
    out = []
    for extra, params in _chunks(ids):
        for (cid,) in db.execute(
                f"select c.case_id from cases c where {checklists.OPEN} {extra} and exists "
                "(select 1 from case_asks a where a.case_id = c.case_id)", params):
            found = repeats.for_case(db, cid, now=now)
            if found:  # sentences for this year: "2 Nov" reads "2 Nov 2025" after it
                out.append((cid, json.dumps({"year": now.astimezone().year,
                                             "found": found})))
    return out


def _waiting(db, ids) -> list[tuple]:
    out = []
    for extra, params in _chunks(ids):
        out += db.execute(f"select case_id, waiting_since, answered_at from ({WAITING_SQL}) c "
                          f"where 1 {extra}", params).fetchall()
    return out


def refresh(db: sqlite_utils.Database, case_ids=None, now: datetime | None = None,
            archive: bool = True, checklists_too: bool = True) -> int:
    """Recompute and store what home's queue and the reminders show for these cases
    (None: every case, and the settings' stamp with them; so does the first refresh of
    a database). Cases that no longer exist lose their rows. ``archive`` False: only the
    person's own acts changed (a mark, a reply marked sent), so home's charts, which
    read the threads alone, are kept; ``checklists_too`` False: the stored checklists
    are current (only replies.toml changed). Returns how many cases it looked at."""
    now = now or datetime.now(UTC)
    ids = None if case_ids is None else sorted(set(case_ids))
    if ids == []:
        return 0
    if ids is not None and db.execute(
            "select 1 from derived_state where name = 'inputs'").fetchone() is None:
        ids = None  # never computed (a new database, or one from before): every case
    if checklists_too:
        checklists.refresh_after_sync(db, ids)
    stamp = inputs_stamp()
    try:
        config, problem = reminders.load_config(), ""
    except reminders.ConfigError as exc:
        config, problem = None, str(exc)
    wants = [] if config is None else (
        _from_reminders(db, ids, config, now) + _from_asks(db, ids, config)
        + _from_callbacks(db, ids))
    standing = _standing(db, ids)
    again, waiting = _repeats(db, ids, now), _waiting(db, ids)
    stale_days = config["defaults"]["stale_after_days"] if config else 0
    by_case: dict[str, list[dict]] = {}
    for w in wants:
        by_case.setdefault(w["case_id"], []).append(w)
    marked = {m[0]: m for m in standing}
    timeline = [(cid, *p) for cid, found in by_case.items()
                for p in phases(found, marked.get(cid), stale_days)]
    with db.conn:
        if ids is None:
            db.execute("delete from queue_wants")
            db.execute("delete from queue_standing")
            db.execute("delete from queue_phases")
            db.execute("delete from case_repeats")
            db.execute("delete from queue_waiting")
        else:
            for n in range(0, len(ids), CHUNK):
                part = ids[n:n + CHUNK]
                marks_sql = ",".join("?" * len(part))
                db.execute(f"delete from queue_wants where case_id in ({marks_sql})", part)
                db.execute(f"delete from queue_standing where case_id in ({marks_sql})", part)
                for table in ("queue_phases", "case_repeats", "queue_waiting"):
                    db.execute(f"delete from {table} where case_id in ({marks_sql})", part)
        db.conn.executemany(
            f"insert into queue_wants ({', '.join(WANT_COLUMNS)}) values "
            f"({', '.join('?' * len(WANT_COLUMNS))})",
            [tuple(w[c] for c in WANT_COLUMNS) for w in wants])
        db.conn.executemany("insert into queue_phases (case_id, from_ts, until_ts, grp, "
                            "first_due, mark_id) values (?, ?, ?, ?, ?, ?)", timeline)
        db.conn.executemany("insert into case_repeats (case_id, found) values (?, ?)", again)
        db.conn.executemany("insert into queue_waiting (case_id, waiting_since, "
                            "answered_at) values (?, ?, ?)", waiting)
        db.conn.executemany("insert or replace into queue_standing (case_id, mark_id, until) "
                            "values (?, ?, ?)", standing)
        state = {"problem": problem, "stale_days": str(stale_days)}
        if archive:
            state["weeks"] = json.dumps(stats.week_counts(db))
            state["response"] = json.dumps(stats.response_rows(db))
        if ids is None:
            state["inputs"] = stamp
        db.conn.executemany("insert or replace into derived_state (name, value) values (?, ?)",
                            list(state.items()))
    if ids is None:
        return db.execute("select count(*) from cases").fetchone()[0]
    return len(ids)


def current(db: sqlite_utils.Database) -> dict:
    """The stored state ({"problem", "stale_days", "inputs"}), after refreshing every
    case when the settings files changed since the rows were computed (or they never
    were: a database from before migration 26)."""
    state = dict(db.execute("select name, value from derived_state").fetchall())
    stamp = inputs_stamp()
    if state.get("inputs") != stamp:
        try:
            library_same = json.loads(state["inputs"])[1] == json.loads(stamp)[1]
        except (KeyError, ValueError, TypeError, IndexError):
            library_same = False
        refresh(db, archive="inputs" not in state, checklists_too=not library_same)
        state = dict(db.execute("select name, value from derived_state").fetchall())
    return state
