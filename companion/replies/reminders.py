"""Reminders: when the seller owes Amazon an answer (a due date counted from Amazon's
last message), when a case waiting on Amazon deserves a follow-up (counted from the last
message of either side, or the last draft the person marked sent), and until when an
Answered case can be reopened (``companion.replies.window``: 5 days after its last
message, PORTAL.md section 3 v2; then for a while that it cannot be, and what to do).

Dates follow from the thread and ``CASELOG_HOME/replies.toml``; home's queue and the
timeline read them as ``companion.queue.derive`` stores them, refreshed when either
changes. The same file holds the drafts' settings::

    [defaults]
    answer_within_days = 3         # seller's answer due this long after Amazon's message
                                   # (or sooner when that message says "reply within N days")
    follow_up_after_days = 7       # follow up when Amazon has been silent this long
    escalate_after_follow_ups = 2  # suggest escalation after this many follow-ups
    reopen_window_days = 5         # an Answered case can be reopened this long after its
                                   # last message: Amazon's figure (PORTAL.md section 3 v2,
                                   # "cannot be reopened after 5 days with no activity")
    closed_reopen_window_days = 30 # a Closed case, counted from its closing: Amazon
                                   # publishes no figure; caselog's assumption (check yours)
    reopen_warn_days = 5           # warn (and remind) when fewer days than this remain
    reopen_closed_notice_days = 7  # after an Answered case's window closed, say so this long
    due_soon_days = 1              # "due" lists what falls due within this many days
    stale_after_days = 30          # home folds cases with no movement for this long into
                                   # one "stale" group at the end of its queue

    [categories."Account Health"]  # case-insensitive substring of the case's category
    answer_within_days = 2

    [seller]
    name = "Jane Doe, Acme GmbH"   # used to sign drafts; a [placeholder] otherwise
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta

import sqlite_utils

from companion.folders import Account, home
from companion.read.labels import ANSWERED, WAITING_ON_AMAZON, WAITING_ON_SELLER, sql_in
from companion.replies import window

DEFAULTS = {
    "answer_within_days": 3,
    "follow_up_after_days": 7,
    "escalate_after_follow_ups": 2,
    "reopen_window_days": 5,           # PORTAL.md section 3 (v2): Amazon's 5-day rule
    "closed_reopen_window_days": 30,   # no published figure: caselog's assumption
    "reopen_warn_days": 5,
    "reopen_closed_notice_days": 7,
    "due_soon_days": 1,
    "stale_after_days": 30,            # home's queue: old silence is not an emergency
}

# Who waits on whom: ``companion.read.labels``, for both sources' statuses.
REOPENABLE = ANSWERED  # the reopen window's reminder (the exact rule; see window.py)


class ConfigError(ValueError):
    pass


def load_config(account: Account | None = None) -> dict:
    """The account's ``replies.toml`` (this process's account when none is given) merged
    over the defaults; a broken file is a clear error."""
    path = home(account) / "replies.toml"
    data: dict = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    defaults = {**DEFAULTS, **_numbers(data.get("defaults", {}), path)}
    cats = {str(k).lower(): _numbers(v, path) for k, v in data.get("categories", {}).items()}
    return {"defaults": defaults, "categories": cats, "seller": data.get("seller", {})}


def _numbers(table, path) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: expected a table of settings")
    out = {}
    for k, v in table.items():
        if k in DEFAULTS:
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ConfigError(f"{path}: {k} must be a whole number of days")
            out[k] = v
    return out


def settings_for(config: dict, category: str | None) -> dict:
    """Defaults overlaid with every category entry whose name occurs in the category."""
    out = dict(config["defaults"])
    cat = (category or "").lower()
    for name, values in config["categories"].items():
        if name and name in cat:
            out.update(values)
    return out


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Amazon's own deadline in its last message ("Please reply within 17 days"); business
# days are counted as calendar days times 7/5, rounded up, to stay on the safe side.
_DEADLINE = re.compile(
    r"\b(?:please|kindly|you\s+(?:must|need\s+to|should|have\s+to))\s+"
    r"(?:reply|respond|answer|provide\s+\w+(?:\s+\w+)?)\s+within\s+(\d{1,3})\s+"
    r"(business\s+|working\s+|calendar\s+)?days?\b"
    r"|\bbitte\b[^.]*?\binnerhalb\s+(?:von\s+)?(\d{1,3})\s+(Werk|Arbeits)?tag", re.I)


def stated_deadline_days(text: str | None) -> int | None:
    m = _DEADLINE.search(text or "")
    if not m:
        return None
    days = int(m.group(1) or m.group(3))
    business = bool(m.group(2) and not m.group(2).lower().startswith("calendar")) or bool(
        m.group(4))
    return -(-days * 7 // 5) if business else days


_CASE_SQL = """
select c.case_id, c.subject, c.status, c.category, c.created_at, c.last_amazon_reply_at,
  (select max(sent_at) from messages m where m.case_id = c.case_id and m.sender = 'amazon')
    as last_amazon,
  (select max(sent_at) from messages m where m.case_id = c.case_id and m.sender = 'seller')
    as last_seller,
  (select max(at) from draft_events e where e.case_id = c.case_id and e.kind = 'draft_sent')
    as last_sent,
  case when c.status in {seller} then
    (select substr(text, 1, 20000) from messages m where m.case_id = c.case_id
       and m.sender = 'amazon' order by sent_at desc limit 1) end as last_amazon_text
from cases c where c.status in {statuses} {extra}
"""


# kind -> (label, label once its due time has passed); the note says what to do.
LABELS = {"answer": ("Answer Amazon", "Answer Amazon"),
          "follow_up": ("Follow up with Amazon", "Follow up with Amazon"),
          "reopen": ("Reopen window closes", "Cannot be reopened")}
NOTES = {"reopen": ("Reopen it by then if Amazon's answer did not solve the issue.",
                    "Its reopen window has closed: if the issue is not solved, open a new "
                    "case and cite this one.")}


def _answer_due(row: dict, s: dict, last_sent: datetime | None):
    """The seller's answer: Amazon's last message + ``answer_within_days``, or sooner
    when that message names its own deadline."""
    anchor = (parse_time(row.get("last_amazon")) or parse_time(row.get("last_amazon_reply_at"))
              or parse_time(row.get("created_at")))
    if anchor is None or (last_sent and last_sent > anchor):
        return None  # the person marked an answer sent; the next sync will show it
    days = s["answer_within_days"]
    stated = stated_deadline_days(row.get("last_amazon_text"))
    if stated is not None:
        days = min(days, stated)  # the earlier of Amazon's deadline and the seller's own
    return anchor, anchor + timedelta(days=days), {
        "amazon_deadline": iso(anchor + timedelta(days=stated)) if stated is not None else None}


def _follow_up_due(row: dict, s: dict, last_sent: datetime | None):
    """The clock runs from the last word of either side: an Amazon reply such as "we are
    still investigating" restarts it as much as the seller's message."""
    times = [t for t in (parse_time(row.get("last_seller")), last_sent,
                         parse_time(row.get("last_amazon")),
                         parse_time(row.get("created_at"))) if t]
    if not times:
        return None
    anchor = max(times)
    return anchor, anchor + timedelta(days=s["follow_up_after_days"]), {}


def _reopen_due(row: dict, s: dict, last_sent: datetime | None):
    """An Answered case's reopen window (``window``): listed from ``reopen_warn_days``
    before it closes until ``reopen_closed_notice_days`` after. A reply the person
    marked sent since the last message means they acted: nothing to remind."""
    anchor = window.last_activity(row.get("last_amazon"), row.get("last_seller"),
                                  row.get("last_amazon_reply_at"))
    if anchor is None or (last_sent and last_sent > anchor):
        return None
    due = anchor + timedelta(days=s["reopen_window_days"])
    return anchor, due, {
        "show_from": (due - timedelta(days=s["reopen_warn_days"])).timestamp(),
        "show_until": (due + timedelta(days=s["reopen_closed_notice_days"])).timestamp()}


def judge(rem: dict, now_ts: float) -> dict:
    """The reminder as of ``now_ts``: overdue or not, days over or left, and the label
    and note that go with it (a reopen window is "closes" before, "cannot" after)."""
    late = (now_ts - rem["due_ts"]) / 86400
    over = late > 0
    labels, notes = LABELS[rem["kind"]], NOTES.get(rem["kind"], (None, None))
    return {**rem, "overdue": over, "days_overdue": int(late) if over else 0,
            "days_left": 0 if over else int(-late), "label": labels[over],
            "note": notes[over]}


def reminder_for(row: dict, config: dict, now: datetime) -> dict | None:
    """The reminder of one case row (as ``_CASE_SQL`` selects it), or None."""
    s = settings_for(config, row.get("category"))
    last_sent = parse_time(row.get("last_sent"))
    if row["status"] in WAITING_ON_SELLER:
        kind, found = "answer", _answer_due(row, s, last_sent)
    elif row["status"] in WAITING_ON_AMAZON:
        kind, found = "follow_up", _follow_up_due(row, s, last_sent)
    elif row["status"] in REOPENABLE:
        kind, found = "reopen", _reopen_due(row, s, last_sent)
    else:
        return None
    if found is None:
        return None
    anchor, due, extra = found
    moved = window.last_activity(row.get("last_amazon"), row.get("last_seller"),
                                 row.get("last_sent"), row.get("created_at"))
    rem = {"amazon_deadline": None, **extra, "last_activity": iso(moved) if moved else None,
           "case_id": row["case_id"], "subject": row["subject"], "status": row["status"],
           "category": row.get("category"), "kind": kind, "since": iso(anchor),
           "due_at": iso(due), "due_ts": due.timestamp()}
    return judge(rem, now.timestamp())


def for_cases(db: sqlite_utils.Database, case_ids: list[str] | None = None,
              now: datetime | None = None, config: dict | None = None) -> dict[str, dict]:
    """{case_id: reminder} for open cases (all, or the given ones)."""
    now = now or datetime.now(UTC)
    config = config or load_config()
    statuses = sql_in(WAITING_ON_SELLER + WAITING_ON_AMAZON + REOPENABLE)
    extra, params = "", []
    if case_ids is not None:
        if not case_ids:
            return {}
        extra = f"and c.case_id in ({','.join('?' * len(case_ids))})"
        params = list(case_ids)
    out = {}
    for row in db.query(_CASE_SQL.format(statuses=statuses, seller=sql_in(WAITING_ON_SELLER),
                                          extra=extra), params):
        rem = reminder_for(row, config, now)
        if rem:
            out[row["case_id"]] = rem
    return out


def due(db: sqlite_utils.Database, now: datetime | None = None,
        config: dict | None = None) -> dict[str, list[dict]]:
    """{"overdue": [...], "due": [...]}: overdue ones most overdue first, then those due
    within ``due_soon_days``, soonest first."""
    now = now or datetime.now(UTC)
    config = config or load_config()
    return split_due(for_cases(db, None, now, config).values(), now, config)


def split_due(rems, now: datetime, config: dict) -> dict[str, list[dict]]:
    """Overdue and due-soon lists from reminders computed earlier (a cache may hold
    them); each is judged again against ``now``, not against when it was computed. A
    reminder is "due soon" from its ``show_from`` (default: ``due_soon_days`` before
    it is due) and stays overdue until its ``show_until`` (default: for good)."""
    now_ts = now.timestamp()
    soon = config["defaults"]["due_soon_days"] * 86400
    overdue, due_soon = [], []
    for rem in rems:
        judged = judge(rem, now_ts)
        if judged["overdue"]:
            if rem.get("show_until") is None or now_ts <= rem["show_until"]:
                overdue.append(judged)
        elif now_ts >= rem.get("show_from", rem["due_ts"] - soon):
            due_soon.append(judged)
    overdue.sort(key=lambda r: r["due_at"])
    due_soon.sort(key=lambda r: r["due_at"])
    return {"overdue": overdue, "due": due_soon}


def timeline_events(db: sqlite_utils.Database, now: datetime | None = None, rems=None,
                    config: dict | None = None) -> list[dict]:
    """Due and overdue reminders as timeline events ({case_id, kind: "reminder", at,
    label, overdue}), for the UI's timeline to merge with its own events. ``rems``:
    reminders computed already (else every open case's)."""
    now = now or datetime.now(UTC)
    config = config or load_config()
    if rems is None:
        rems = for_cases(db, None, now, config).values()
    lists = split_due(rems, now, config)
    return [{"case_id": r["case_id"], "kind": "reminder", "at": r["due_at"],
             "label": r["label"], "overdue": r["overdue"], "subject": r["subject"],
             "reminder_kind": r["kind"], "note": r["note"]}
            for r in lists["overdue"] + lists["due"]]


# --- stored, for pages -----------------------------------------------------------------

_STORED_SQL = """
select w.case_id, w.kind, w.due_at, w.due_ts, w.since, w.last_activity, w.amazon_deadline,
       w.show_from_ts as show_from, w.show_until_ts as show_until,
       c.subject, c.status, c.category
from queue_wants w join cases c on c.case_id = w.case_id
where w.remind = 1
  and ((w.due_ts < :now_ts and (w.show_until_ts is null or :now_ts <= w.show_until_ts))
       or (w.due_ts >= :now_ts and :now_ts >= w.show_from_ts))
"""


def stored_timeline_events(db: sqlite_utils.Database, now: datetime | None = None,
                           where: list[str] | tuple = (), params: dict | None = None):
    """Due and overdue reminders as timeline events (rank 4, ``seq`` the case id as a
    number), newest first, one at a time, from the reminders stored with home's queue
    (``companion.queue.derive``): the query picks the due and overdue ones as of
    ``now`` (``where``: more conditions on the case ``c``), so a page stops reading once
    it has its rows."""
    now = now or datetime.now(UTC)
    now_ts = now.timestamp()
    sql = _STORED_SQL + "".join(f" and {w}" for w in where) + \
        " order by w.due_at desc, cast(w.case_id as integer) desc"
    for rem in db.query(sql, {**(params or {}), "now_ts": now_ts}):
        r = judge(rem, now_ts)
        yield {"case_id": r["case_id"], "kind": "reminder", "at": r["due_at"],
               "label": r["label"], "overdue": r["overdue"], "subject": r["subject"],
               "reminder_kind": r["kind"], "note": r["note"], "rank": 4,
               "seq": int(r["case_id"]) if r["case_id"].isdigit() else 0}
