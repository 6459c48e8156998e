"""``caselog watch --once --all`` over many accounts with nothing changed (not a test):
prints figures, writes benchmarks/results/watch.json.

    .venv/bin/python benchmarks/bench_watch.py [--accounts 20] [--cases 100] [--portals 2]
                                               [--repeat 3]

Accounts are spread over a few simulated portals (browser source, 30 ms latency), each
synced whole once first. Then, with nothing changed on any portal, median of
``--repeat`` runs of each:

- baseline: ``caselog sync --account NAME`` for every account, one after another (a
  process each: what a shell loop or 20 cron lines do);
- ``caselog watch --once --all --parallel N`` for N = 1, 2, 4: one process, accounts
  side by side N at a time (each its own browser; nothing is shared between accounts
  but the process and its event loop).

Wall time and the requests the portals counted (``/__sim/stats`` total) for each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.harness import start_portal  # noqa: E402


def caselog(home: Path, *args: str, **extra) -> subprocess.CompletedProcess:
    env = {**os.environ, "CASELOG_HOME": str(home), "CASELOG_KEYRING": "0",
           "CASELOG_WATCH_MIN_SECONDS": "0", **extra}
    r = subprocess.run([sys.executable, "-m", "companion", *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"caselog {' '.join(args)}: {r.returncode}\n{r.stderr[-2000:]}")
    return r


def set_up(home: Path, portals, n: int) -> list[str]:
    """n accounts, round-robin over the portals, signed in and synced whole once."""
    names = []
    for i in range(n):
        p = portals[i % len(portals)]
        name = f"shop{i + 1:02d}"
        cfg = p.sim("config")
        caselog(home, "accounts", "add", name, "--portal", p.url)
        caselog(home, "login", "--account", name, "--portal", p.url, "--email", cfg["email"],
                "--headless", CASELOG_PASSWORD=cfg["password"])
        names.append(name)
    caselog(home, "watch", "--once", "--all", "--parallel", "2")
    return names


def requests(portals) -> int:
    return sum(p.sim("stats")["total"] for p in portals)


def measure(portals, run) -> dict:
    for p in portals:
        p.sim("stats/reset", {})
    started = time.perf_counter()
    run()
    return {"seconds": round(time.perf_counter() - started, 2), "requests": requests(portals)}


def median(runs: list[dict]) -> dict:
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "requests": statistics.median(r["requests"] for r in runs),
            "runs": [r["seconds"] for r in runs]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--portals", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    portals = [start_portal("--cases", str(args.cases), "--seed", str(80 + i),
                            "--latency-ms", "30") for i in range(args.portals)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            names = set_up(home, portals, args.accounts)
            kinds = {"one sync per account, one by one": lambda: [
                caselog(home, "sync", "--account", n, "--json") for n in names]}
            for par in (1, 2, 4):
                kinds[f"watch --once --all --parallel {par}"] = (
                    lambda par=par: caselog(home, "watch", "--once", "--all", "--parallel",
                                            str(par)))
            results = {k: median([measure(portals, run) for _ in range(args.repeat)])
                       for k, run in kinds.items()}
    finally:
        for p in portals:
            p.stop()
    out = {"accounts": args.accounts, "cases_per_account": args.cases,
           "portals": args.portals, "latency_ms": 30, "repeat": args.repeat,
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, load "
                      f"{os.getloadavg()[0]:.1f}", "results": results}
    base = results["one sync per account, one by one"]["seconds"]
    for kind, r in results.items():
        print(f"{kind:38s} {r['seconds']:7.2f} s  {r['requests']:6.0f} requests  "
              f"{base / r['seconds']:.2f}x  runs {r['runs']}")
    path = ROOT / "benchmarks" / "results" / "watch.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
