"""Documented replies on a big archive: server time of the pages that show them, and the
cost of building checklists the first time.

Usage:
    python benchmarks/make_db.py /tmp/big.db --cases 10000 --messages 100000 --seed 7
    python benchmarks/replies_bench.py /tmp/big.db      # works on a copy, never the file

Prints medians over repeated requests through the Flask test client (no network), after
one warm-up request per page (the first view of a case computes its checklist and renders
its draft; later views reuse what was remembered). Pages write nothing; the checklist
build timed here is ``refresh_after_sync``, what storing them after a sync costs.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(src: str, repeat: int = 7) -> None:
    work = Path(tempfile.mkdtemp(prefix="caselog-replies-bench-"))
    os.environ["CASELOG_HOME"] = str(work)
    db_file = work / "caselog.db"
    shutil.copy(src, db_file)

    from companion.replies import asks, checklists
    from companion.schema import open_db
    from webui.app import create_app

    db = open_db(db_file)
    n_cases, n_msgs = db["cases"].count, db["messages"].count
    texts = [r["text"] or "" for r in db.query(
        "select text from messages where sender = 'amazon' limit 5000")]
    t = time.perf_counter()
    for text in texts:
        asks.detect(text)
    per_msg = (time.perf_counter() - t) * 1000 / max(len(texts), 1)
    open_ids = [r["case_id"] for r in db.query(
        "select case_id from cases where status not in ('Closed', 'Resolved') limit 500")]
    t = time.perf_counter()
    checklists.refresh_after_sync(db, open_ids)
    build = (time.perf_counter() - t) * 1000 / max(len(open_ids), 1)
    waiting = [r["case_id"] for r in db.query(
        "select case_id from cases where status = 'PendingMerchantAction' "
        "order by total_messages desc limit 5")]
    db.conn.close()

    app = create_app(db_file, {"CASELOG_HOME": str(work)})
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = "127.0.0.1"

    def timed(url: str) -> float:
        client.get(url)  # warm-up: the first view fills the caches
        xs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            resp = client.get(url)
            xs.append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200, (url, resp.status_code)
        return statistics.median(xs)

    print(f"archive: {n_cases} cases, {n_msgs} messages")
    print(f"ask detection: {per_msg:.3f} ms per Amazon message")
    print(f"first checklist build: {build:.1f} ms per open case")
    print(f"home (reminders + progress): {timed('/'):.1f} ms median")
    print(f"timeline first page (with draft events and reminders): "
          f"{timed('/timeline'):.1f} ms median")
    print(f"cases table (progress cells): {timed('/cases'):.1f} ms median")
    case_times = [timed(f"/cases/{cid}") for cid in waiting]
    print(f"case page with replies panel (5 longest threads waiting on the seller): "
          f"{statistics.median(case_times):.1f} ms median, {max(case_times):.1f} ms max")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
