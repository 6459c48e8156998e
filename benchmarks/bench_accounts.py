"""The All accounts home with many accounts (not a test): 20 accounts of 1,000 cases each
(benchmarks/make_db.py, with what a seller's day leaves, a different seed per account),
median server time of ``/all/`` (every account's queue merged, Sync all's rows, the
badge) and of one account's home beside it, through Flask's test client like
bench_ui.py: the whole request, wall-clock and CPU time, in interleaved rounds. Budget
100 ms. Writes benchmarks/results/accounts.json.

    .venv/bin/python benchmarks/bench_accounts.py [--accounts 20] [--cases 1000] [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from make_db import generate  # noqa: E402

BUDGET_MS = 100.0


def build(home: Path, n: int, cases: int) -> None:
    from companion import accounts

    generate(home / "caselog.db", cases=cases, messages=cases * 10, seed=100, day=True)
    for i in range(1, n):
        name = f"shop{i + 1:02d}"
        accounts.add(name, portal=f"http://127.0.0.1:{9000 + i}")
        generate(home / "accounts" / name / "caselog.db", cases=cases,
                 messages=cases * 10, seed=100 + i, day=True)


def measure(client, pages: dict[str, str], runs: int) -> dict:
    wall = {k: [] for k in pages}
    cpu = {k: [] for k in pages}
    cold = {}
    for i in range(runs + 1):
        for name, url in pages.items():
            t, c = time.perf_counter(), time.process_time()
            r = client.get(url)
            ms, cms = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
            if r.status_code != 200:
                raise RuntimeError(f"{url} answered {r.status_code}")
            if i == 0:
                cold[name] = round(ms, 1)
            else:
                wall[name].append(ms)
                cpu[name].append(cms)
    return {k: {"url": pages[k], "cold_ms": cold[k],
                "median_ms": round(statistics.median(wall[k]), 2),
                "cpu_median_ms": round(statistics.median(cpu[k]), 2)} for k in pages}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["CASELOG_HOME"] = str(home)
        os.environ.pop("CASELOG_ACCOUNT", None)
        started = time.perf_counter()
        build(home, args.accounts, args.cases)
        print(f"built {args.accounts} accounts in {time.perf_counter() - started:.0f} s")
        from webui.app import create_app

        client = create_app(home / "caselog.db", {"CASELOG_HOME": str(home)}).test_client()
        pages = {"all accounts home": "/all/", "all accounts, one account": "/all/?account=shop02",
                 "one account's home": "/a/shop02/"}
        results = measure(client, pages, args.runs)
    out = {"accounts": args.accounts, "cases_per_account": args.cases, "runs": args.runs,
           "budget_ms": BUDGET_MS, "python": platform.python_version(),
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, load "
                      f"{os.getloadavg()[0]:.1f}", "pages": results}
    for name, r in results.items():
        flag = "ok" if r["median_ms"] < BUDGET_MS else "OVER"
        print(f"{name:28s} median {r['median_ms']:7.2f} ms  cpu {r['cpu_median_ms']:7.2f} ms"
              f"  cold {r['cold_ms']:7.1f} ms  {flag}")
    path = HERE / "results" / "accounts.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
