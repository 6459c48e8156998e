"""Listing past the portal's 1,000-result cap (not a test): how many SearchForCases pages
a full listing of 5,000 cases asks for, against the floor of ceil(cases / 50), for a first
sync (one query narrowed as it goes) and for a later one (windows planned from the stored
creation dates, all asked at once), with the time each takes at 30 ms latency.

    .venv/bin/python benchmarks/bench_listing.py [--cases 5000] [--latency-ms 30]

Writes ``benchmarks/results/listing.json``. Target: pages / floor <= 1.05; no page asked
twice (each (window, page) once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from companion.capture.archive import Archive  # noqa: E402
from companion.capture.sources.portal import PortalSource  # noqa: E402
from fixtures.harness import start_portal  # noqa: E402
from scrapers.browser.client import PortalClient  # noqa: E402
from scrapers.browser.login import login_with_password  # noqa: E402


async def listing(url: str, state: dict, stored: dict, root: Path) -> dict:
    opts = SimpleNamespace(portal=url, timezone=None, full=False, concurrency=8,
                           transport="auto", html=False)
    async with PortalClient(url, storage_state=state, concurrency=8) as client:
        source = PortalSource(opts, Archive(root), client=client)
        started = time.monotonic()
        rows = {}
        async for page in source.list_cases(stored):
            rows.update((r["case_id"], r) for r in page)
        seconds = time.monotonic() - started
        asked = Counter((c.params.get("caseFilters", {}).get("creationDateFrom"),
                         c.params.get("caseFilters", {}).get("creationDateTo"),
                         c.params.get("page")) for c in source.listing_captures)
        return {"rows": rows, "pages": len(source.listing_captures),
                "twice": sum(1 for n in asked.values() if n > 1),
                "complete": source.listing.complete, "seconds": round(seconds, 2),
                "windows": len({k[:2] for k in asked})}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--latency-ms", type=int, default=30)
    args = ap.parse_args()
    p = start_portal("--cases", str(args.cases), "--seed", "61")
    try:
        cfg = p.sim("config")
        state = asyncio.run(login_with_password(p.url, cfg["email"], cfg["password"]))
        p.sim("faults", {"latency_ms": args.latency_ms})
        floor = math.ceil(args.cases / 50)
        with tempfile.TemporaryDirectory() as tmp:
            first = asyncio.run(listing(p.url, state, {}, Path(tmp) / "a"))
            stored = {cid: {"created_at": r["created_at"], "in_lobby": 1}
                      for cid, r in first["rows"].items()}
            later = asyncio.run(listing(p.url, state, stored, Path(tmp) / "b"))
    finally:
        p.stop()
    out = {"machine": platform.platform(), "cases": args.cases, "floor": floor,
           "latency_ms": args.latency_ms}
    ok = True
    for name, run in (("first", first), ("planned", later)):
        ratio = run["pages"] / floor
        out[name] = {k: v for k, v in run.items() if k != "rows"} | {
            "listed": len(run["rows"]), "ratio": round(ratio, 3)}
        met = ratio <= 1.05 and run["twice"] == 0 and run["complete"] and \
            len(run["rows"]) == args.cases
        ok &= met
        print(f"{name}: {run['pages']} pages for {len(run['rows'])} cases "
              f"(floor {floor}, {ratio:.3f}x) in {run['windows']} windows, "
              f"{run['seconds']} s, asked twice: {run['twice']}, complete: {run['complete']}"
              f" {'ok' if met else 'MISSED'}")
    (ROOT / "benchmarks" / "results" / "listing.json").write_text(json.dumps(out, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
