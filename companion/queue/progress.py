"""Checklist progress for list pages (home, the cases table): every shown row's counts
from one query, also for open cases whose checklist was never stored (nobody opened the
case, or a sync brought a message since), without writing anything.

The query returns, per case, the stored counts and a fingerprint of what the counts
depend on (the Amazon messages, the stored items, the files); an open case's counts are
computed in memory by ``checklists.view`` once per fingerprint and library version, and
remembered per database (``companion.read.cache.Memo``). Closed, resolved and transferred
cases show what is stored: there is nothing left to prepare for them (a transferred
case's work goes on in the case that continues it).
"""

from __future__ import annotations

import sqlite_utils

from companion.read.cache import Memo
from companion.replies import checklists
from companion.replies.library import library_state

_MEMO = Memo(size=8192)

_STATE_SQL = f"""
select c.case_id, c.status,
  {checklists.OPEN} as open,
  coalesce(c.category, '') as category,
  i.total, i.done, i.changed, i.last_id,
  (select count(*) || ':' || coalesce(max(m.rowid), 0) || ':'
          || coalesce(sum(length(m.text)), 0)
     from messages m where m.case_id = c.case_id and m.sender = 'amazon') as amazon,
  (select count(*) || ':' || coalesce(max(e.id), 0) from evidence e
     where e.case_id = c.case_id) as files
from cases c
left join (select case_id, count(*) as total, coalesce(sum(done), 0) as done,
                  max(updated_at) as changed, max(id) as last_id
           from checklist_items where case_id in ({{marks}}) group by case_id) i
  on i.case_id = c.case_id
where c.case_id in ({{marks}})
"""


def for_cases(db: sqlite_utils.Database, case_ids: list[str]) -> dict[str, dict]:
    """{case_id: {"done", "total"}} for the given cases that have (or would have) a
    checklist; cases without one are left out."""
    if not case_ids:
        return {}
    ids = list(dict.fromkeys(case_ids))
    marks = ",".join("?" * len(ids))
    version, lib, _ = library_state()
    out: dict[str, dict] = {}
    for r in db.query(_STATE_SQL.format(marks=marks), ids + ids):
        if r["open"]:
            stamp = (version, r["status"], r["category"], r["total"], r["done"],
                     r["changed"], r["last_id"], r["amazon"], r["files"])
            counts = _MEMO.get(db, r["case_id"], stamp,
                               lambda cid=r["case_id"]: _computed(db, cid, lib))
        else:
            counts = {"done": r["done"] or 0, "total": r["total"] or 0}
        if counts["total"]:
            out[r["case_id"]] = counts
    return out


def _computed(db: sqlite_utils.Database, case_id: str, lib: dict) -> dict:
    items = checklists.view(db, case_id, lib)
    return {"done": sum(1 for i in items if i["done"]), "total": len(items)}
