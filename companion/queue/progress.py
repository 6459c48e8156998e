"""Checklist progress for list pages (home, the cases table): every shown row's counts
from one query of the stored checklists. They are current because every writer stores
them: a sync, a reparse or an import (``derive.refresh`` stores the open cases'
checklists), a changed checklist library (``derive.current``), and the person's ticks,
notes and files (``checklists``, ``evidence``).
"""

from __future__ import annotations

import sqlite_utils


def for_cases(db: sqlite_utils.Database, case_ids: list[str]) -> dict[str, dict]:
    """{case_id: {"done", "total"}} for the given cases that have a checklist; cases
    without one are left out."""
    if not case_ids:
        return {}
    ids = list(dict.fromkeys(case_ids))
    marks = ",".join("?" * len(ids))
    return {r[0]: {"done": r[2], "total": r[1]} for r in db.execute(
        f"select case_id, count(*), coalesce(sum(done), 0) from checklist_items "
        f"where case_id in ({marks}) group by case_id", ids)}
