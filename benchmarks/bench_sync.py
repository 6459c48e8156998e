"""Sync benchmarks (not a test): prints figures and writes benchmarks/results/sync.json.

    .venv/bin/python benchmarks/bench_sync.py [--cases 1000] [--latency-ms 30]
        [--baseline-sample 200] [--rate-cases 60] [--rss-cases 5000] [--concurrency 8]
        [--repeat 3]

Measures, against the simulated portal in a subprocess and the real CLI:
(a) API requests of an incremental sync after 10 new replies, 5 status changes and 3 new
    cases vs the minimum (list pages at size 50 + one thread page per changed case +
    truncated new messages); target <= 1.1x.
(b) full sync time at 30 ms latency (the median of --repeat runs, each on a fresh
    database, each followed by the plain-HTTP reference) vs a baseline measured in the
    same run (each case page opened in turn in one browser and its rendered thread read,
    with the client's ``case_page_html``, on 200 cases sampled evenly (all 1,000 would
    take ~6 minutes), scaled to all, with the sample's spread) -- target >= 3x faster --
    vs the bound API calls x latency / concurrency (target within 1.2x), and vs plain
    HTTP (urllib threads with the session cookie) doing the same calls.
(c) incremental vs full time (target >= 20x faster).
(d) throughput against a portal limited to 5 requests/s (target >= 90%, no case lost).
(e) reparse of the archive from (b) (target < 1 s; the median of --repeat).
(f) peak RSS of the caselog process syncing 5,000 cases (target < 300 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.harness import start_portal  # noqa: E402

RSS_WRAPPER = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "f'MAXRSS_KB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'))\n"
    "sys.argv = ['caselog'] + sys.argv[1:]\n"
    "from companion.cli import main\n"
    "main()\n"
)


def caselog(home: Path, *args: str, rss: bool = False) -> tuple[subprocess.CompletedProcess,
                                                              float]:
    argv = [sys.executable, "-c", RSS_WRAPPER, *args] if rss else \
        [sys.executable, "-m", "companion", *args]
    started = time.monotonic()
    r = subprocess.run(argv, cwd=ROOT, env={**os.environ, "CASELOG_HOME": str(home)},
                       capture_output=True, text=True, timeout=1800)
    return r, time.monotonic() - started


def login(portal, home: Path) -> None:
    cfg = portal.sim("config")
    r = subprocess.run(
        [sys.executable, "-m", "companion", "login", "--portal", portal.url, "--email",
         cfg["email"], "--headless"], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "CASELOG_HOME": str(home), "CASELOG_PASSWORD": cfg["password"]})
    if r.returncode:
        raise SystemExit(f"login failed: {r.stderr}")


def sync(portal, home: Path, *args: str, rss: bool = False) -> tuple[dict, float, int | None]:
    r, wall = caselog(home, "sync", "--portal", portal.url, "--json", *args, rss=rss)
    if r.returncode not in (0, 1):
        raise SystemExit(f"sync failed ({r.returncode}): {r.stderr[-2000:]}")
    maxrss = None
    for line in r.stderr.splitlines():
        if line.startswith("MAXRSS_KB "):
            maxrss = int(line.split()[1])
    return json.loads(r.stdout), wall, maxrss


def exported(home: Path) -> dict:
    r, _ = caselog(home, "export")
    return json.loads(r.stdout)


def same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def api_calls(stats: dict) -> int:
    return stats["SearchForCases"] + stats["ViewCase"] + stats["GetContactMessage"]


async def _baseline(portal_url: str, home: Path, case_ids: list[str]) -> list[float]:
    """Open each case page in turn and read the rendered thread (seconds, per case)."""
    from scrapers.browser.client import PortalClient
    from scrapers.browser.session import session_path
    from scrapers.parse.pages import parse_case_page

    state = session_path(portal_url, home / "sessions")
    times = []
    async with PortalClient(portal_url, storage_state=state, concurrency=1) as client:
        for cid in case_ids:
            started = time.monotonic()
            cap = await client.case_page_html(cid)
            parse_case_page(cap.body)
            times.append(time.monotonic() - started)
    return times


def _plain_http_rate(portal_url: str, home: Path, case_ids: list[str], threads: int) -> float:
    """Requests per second the portal itself sustains for ViewCase at this concurrency,
    asked by plain threads with the session cookie: what no browser-based client beats."""
    import concurrent.futures
    import urllib.request

    from scrapers.browser.session import session_path

    state = json.loads(session_path(portal_url, home / "sessions").read_text())
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in state["cookies"])

    def view(cid: str) -> bytes:
        req = urllib.request.Request(
            f"{portal_url}/hill/hillservice/mons-api/ViewCase?caseId={cid}&timeZone=UTC"
            "&pageSize=50", headers={"Cookie": cookie})
        with urllib.request.urlopen(req) as resp:
            return resp.read()

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(view, case_ids))
    return len(case_ids) / (time.monotonic() - started)


def bench_main(args, results: dict, work: Path) -> None:
    p = start_portal("--cases", str(args.cases), "--seed", "7",
                     "--latency-ms", str(args.latency_ms))
    try:
        import shutil

        signed_in = work / "signed-in"
        login(p, signed_in)
        truth = p.sim("truth")
        ids = [c["case_id"] for c in truth["cases"]]
        runs, plains = [], []
        for n in range(args.repeat):  # a fresh database each time, the same session
            home = work / f"main-{n}"
            shutil.copytree(signed_in, home)
            p.sim("stats/reset", {})
            full, full_wall, _ = sync(p, home, "--full", "--concurrency", str(args.concurrency))
            calls = api_calls(p.sim("stats"))
            bound = calls * args.latency_ms / 1000 / args.concurrency
            # The portal's own ceiling, right after, on the same machine as it is now.
            plain = _plain_http_rate(p.url, home, ids[:400], args.concurrency)
            runs.append((full, full_wall, calls, bound))
            plains.append(calls / plain)
            print(f"(b) full sync {n + 1}/{args.repeat} of {args.cases} cases at "
                  f"{args.latency_ms} ms: {full['seconds']:.2f} s sync ({full_wall:.1f} s "
                  f"wall), {calls} API calls, bound {bound:.2f} s -> "
                  f"{full['seconds'] / bound:.2f}x the bound; plain HTTP "
                  f"{calls / plain:.2f} s ({calls / plain / bound:.2f}x the bound) -> sync "
                  f"{full['seconds'] / (calls / plain):.2f}x plain HTTP", flush=True)
        ratios = [f["seconds"] / b for f, _, _, b in runs]
        full, full_wall, calls, bound = runs[-1]
        results["full"] = {
            "cases": args.cases, "latency_ms": args.latency_ms,
            "concurrency": args.concurrency, "sync_seconds": full["seconds"],
            "wall_seconds_incl_browser_start": round(full_wall, 2), "api_calls": calls,
            "bound_seconds": round(bound, 2),
            "vs_bound": round(statistics.median(ratios), 2),
            "vs_bound_each_run": [round(r, 2) for r in ratios], "target_vs_bound": 1.2,
            "export_equals_truth": same(truth, exported(home)),
        }
        results["full"]["plain_http_reference"] = {
            "seconds_for_these_calls_each_run": [round(x, 2) for x in plains],
            "vs_bound": round(statistics.median(plains) / bound, 2),
            "sync_vs_plain_http": round(statistics.median(
                f["seconds"] / x for (f, _, _, _), x in zip(runs, plains, strict=True)), 2),
            "what": f"urllib, {args.concurrency} threads, same cookie, 400 ViewCase calls "
                    "after each sync: the portal's own ceiling at this concurrency",
        }
        print(f"(b) median of {len(runs)}: full sync {statistics.median(ratios):.2f}x the "
              f"bound; plain HTTP {statistics.median(plains) / bound:.2f}x the bound; sync "
              f"{results['full']['plain_http_reference']['sync_vs_plain_http']:.2f}x plain "
              "HTTP")

        sample = [c["case_id"] for c in truth["cases"]][:: max(1, args.cases //
                                                               args.baseline_sample)]
        sample = sample[: args.baseline_sample]
        times = asyncio.run(_baseline(p.url, home, sample))
        per_case = statistics.fmean(times)
        baseline = per_case * args.cases
        # 95% interval of the scaled figure from the sample's spread (normal approximation)
        margin = 1.96 * statistics.stdev(times) / len(times) ** 0.5 * args.cases \
            if len(times) > 1 else 0.0
        results["baseline"] = {
            "method": "client.case_page_html + parse_case_page, one case after another, "
                      f"{len(sample)} of {args.cases} cases sampled evenly (measured: "
                      f"{sum(times):.1f} s), scaled to {args.cases}",
            "cases_measured": len(times), "seconds_measured": round(sum(times), 1),
            "seconds_per_case": round(per_case, 3),
            "seconds_per_case_min_median_max": [round(min(times), 3),
                                                round(statistics.median(times), 3),
                                                round(max(times), 3)],
            "seconds_scaled": round(baseline, 1), "seconds_scaled_95pct": [
                round(baseline - margin, 1), round(baseline + margin, 1)],
            "full_sync_speedup": round(baseline / full["seconds"], 1),
            "full_sync_speedup_low": round((baseline - margin) / full["seconds"], 1),
            "target_speedup": 3.0,
        }
        print(f"(b) baseline (page by page): {len(times)} cases in {sum(times):.1f} s, "
              f"{per_case * 1000:.0f} ms/case -> {baseline:.0f} s (+-{margin:.0f}) for "
              f"{args.cases}; sync is {baseline / full['seconds']:.1f}x faster")

        walls, inside = [], []
        for _ in range(args.repeat):
            r, reparse_wall = caselog(home, "reparse")
            walls.append(reparse_wall)
            said = re.search(r"in ([\d.]+)s", r.stdout)  # its own time, without start-up
            inside.append(float(said[1]) if said else reparse_wall)
        reparse_ok = same(truth, exported(home))
        results["reparse"] = {"wall_seconds": round(statistics.median(walls), 2),
                              "seconds": round(statistics.median(inside), 2),
                              "wall_seconds_each_run": [round(w, 2) for w in walls],
                              "output": r.stdout.strip(), "export_identical": reparse_ok,
                              "target_seconds": 1.0}
        print(f"(e) reparse, median of {len(walls)}: {statistics.median(inside):.2f} s "
              f"({statistics.median(walls):.2f} s wall with start-up; last: "
              f"{r.stdout.strip()}), identical export: {reparse_ok}")

        before = p.sim("truth")
        changed = p.sim("mutate", {"new_replies": 10, "status_changes": 5, "new_cases": 3})
        p.sim("stats/reset", {})
        inc, inc_wall, _ = sync(p, home, "--concurrency", str(args.concurrency))
        stats = p.sim("stats")
        after = p.sim("truth")
        old = {(c["case_id"], m["sent_at"], m["text"]) for c in before["cases"]
               for m in c["messages"]}
        new_long = sum(1 for c in after["cases"] for m in c["messages"]
                       if (c["case_id"], m["sent_at"], m["text"]) not in old
                       and len(m["text"]) > 600)
        opened = set(changed["new_replies"]) | set(changed["status_changes"]) | \
            set(changed["new_cases"])
        listed = len(after["cases"])
        minimum = -(-listed // 50) + len(opened) + new_long
        calls = api_calls(stats)
        results["incremental"] = {
            "mutations": {k: len(v) for k, v in changed.items()},
            "changed_cases": len(opened), "api_calls": calls, "minimum": minimum,
            "by_kind": {k: stats[k] for k in ("SearchForCases", "ViewCase",
                                              "GetContactMessage")},
            "ratio": round(calls / minimum, 3), "target_ratio": 1.1,
            "sync_seconds": inc["seconds"], "wall_seconds_incl_browser_start": round(inc_wall, 2),
            "full_over_incremental": round(full["seconds"] / inc["seconds"], 1),
            "full_over_incremental_wall": round(full_wall / inc_wall, 1),
            "target_speedup": 20.0, "export_equals_truth": same(after, exported(home)),
        }
        print(f"(a) incremental: {calls} API calls vs minimum {minimum} "
              f"({calls / minimum:.3f}x); {stats['ViewCase']} ViewCase for {len(opened)} "
              "changed cases")
        print(f"(c) incremental {inc['seconds']:.3f} s sync ({inc_wall:.2f} s wall) vs full: "
              f"{full['seconds'] / inc['seconds']:.0f}x faster "
              f"({full_wall / inc_wall:.1f}x wall incl. browser start)")
    finally:
        p.stop()


def bench_rate(args, results: dict, work: Path) -> None:
    """Throughput against a portal admitting 5 requests a second: overall (start-up burst
    and its 429s included) and sustained (the middle 80% of the calls, from the portal's
    own counters polled every 0.25 s)."""
    p = start_portal("--cases", str(args.rate_cases), "--seed", "8")
    try:
        home = work / "rate"
        login(p, home)
        p.sim("faults", {"rate_limit": 5})
        p.sim("stats/reset", {})
        argv = [sys.executable, "-m", "companion", "sync", "--portal", p.url, "--json",
                "--concurrency", str(args.concurrency)]
        proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, "CASELOG_HOME": str(home)},
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        points = []
        while proc.poll() is None:
            points.append((time.monotonic(), api_calls(p.sim("stats"))))
            time.sleep(0.25)  # sampling interval of a measurement, not a synchronisation
        summary = json.loads(proc.stdout.read())
        stats = p.sim("stats")
        ok = api_calls(stats)
        lo = next(pt for pt in points if pt[1] >= 0.1 * ok)
        hi = next(pt for pt in points if pt[1] >= 0.9 * ok)
        sustained = (hi[1] - lo[1]) / (hi[0] - lo[0])
        rate = ok / summary["seconds"]
        lost = not same(p.sim("truth"), exported(home))
        results["rate_limited"] = {
            "limit_per_s": 5, "cases": args.rate_cases, "api_calls_answered": ok,
            "throttled_429": stats["429"], "sync_seconds": summary["seconds"],
            "throughput_overall_per_s": round(rate, 2),
            "throughput_sustained_per_s": round(sustained, 2),
            "share_overall": round(rate / 5, 3), "share_sustained": round(sustained / 5, 3),
            "target_share": 0.9, "case_lost": lost,
        }
        print(f"(d) rate limit 5/s: {ok} calls in {summary['seconds']:.1f} s: overall "
              f"{rate:.2f}/s ({rate / 5:.0%}), sustained {sustained:.2f}/s "
              f"({sustained / 5:.0%}), {stats['429']} 429s, case lost: {lost}")
    finally:
        p.stop()


def bench_rss(args, results: dict, work: Path) -> None:
    p = start_portal("--cases", str(args.rss_cases), "--seed", "9")
    try:
        home = work / "rss"
        login(p, home)
        summary, wall, maxrss = sync(p, home, "--concurrency", str(args.concurrency), rss=True)
        results["memory"] = {
            "cases": args.rss_cases, "peak_rss_mb": round((maxrss or 0) / 1024, 1),
            "target_mb": 300, "sync_seconds": summary["seconds"], "state": summary["state"],
            "what": "ru_maxrss of the caselog Python process (Chromium is separate)",
        }
        print(f"(f) {args.rss_cases} cases: peak RSS {maxrss / 1024:.0f} MB, "
              f"sync {summary['seconds']:.1f} s ({summary['state']})")
    finally:
        p.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--latency-ms", type=int, default=30)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--baseline-sample", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3,
                    help="full syncs (and reparses) measured; the median is reported")
    ap.add_argument("--rate-cases", type=int, default=100)
    ap.add_argument("--rss-cases", type=int, default=5000)
    ap.add_argument("--only", choices=["main", "rate", "rss"], action="append")
    args = ap.parse_args()
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                     "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="caselog-bench-") as tmp:
        work = Path(tmp)
        for name, fn in (("main", bench_main), ("rate", bench_rate), ("rss", bench_rss)):
            if not args.only or name in args.only:
                fn(args, results, work)
    out = ROOT / "benchmarks" / "results" / "sync.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and args.only:  # keep figures of the parts not re-run
        results = {**json.loads(out.read_text()), **results}
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
