"""Capture client speed against the simulated portal in a subprocess:

1. transport: N ViewCase calls at 30 ms latency, concurrency 8, through
   ``context.request`` and through ``fetch`` in the page (why the default is the first);
2. rate limit: N ViewCase calls against a portal limited to R req/s; sustained
   throughput (after a warm-up), 429s, and calls lost (must be 0; target >= 90% of R).

Writes benchmarks/results/capture.json.

Usage:
    python benchmarks/bench_capture.py [--calls 300] [--rate 5] [--warmup 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from scrapers.browser.client import PortalClient  # noqa: E402
from scrapers.browser.login import login_with_password  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sim(url: str, path: str, body: dict | None = None):
    req = urllib.request.Request(
        url + "/__sim/" + path, data=None if body is None else json.dumps(body).encode(),
        method="POST" if body is not None else "GET",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def start_portal(cases: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "fixtures", "--port", str(port),
                             "--cases", str(cases)], cwd=ROOT, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            sim(url, "health")
            return proc, url
        except OSError:
            time.sleep(0.1)  # polling for the server to answer
    proc.kill()
    raise RuntimeError("portal did not start")


async def transports(url: str, state: dict, ids: list[str], calls: int) -> dict:
    sim(url, "faults", {"latency_ms": 30, "rate_limit": 0})
    out = {}
    async with PortalClient(url, storage_state=state, concurrency=8) as client:
        for transport in ("request", "fetch", "request", "fetch"):
            client.transport = transport
            started = time.monotonic()
            await asyncio.gather(*(client.view_case(ids[i % len(ids)]) for i in range(calls)))
            elapsed = time.monotonic() - started
            out.setdefault(transport, []).append(round(calls / elapsed, 1))
    return {"latency_ms": 30, "concurrency": 8, "calls": calls,
            "calls_per_s": out, "bound_calls_per_s": round(8 / 0.030, 1)}


async def rate_limited(url: str, state: dict, ids: list[str], calls: int, rate: float,
                       warmup: float) -> dict:
    sim(url, "faults", {"latency_ms": 30, "rate_limit": rate, "retry_after": 1})
    sim(url, "stats/reset", {})
    done: list[float] = []
    async with PortalClient(url, storage_state=state, concurrency=8,
                            on_request=lambda kind: done.append(time.monotonic())) as client:
        started = time.monotonic()
        results = await asyncio.gather(
            *(client.view_case(ids[i % len(ids)]) for i in range(calls)),
            return_exceptions=True)
        elapsed = time.monotonic() - started
        lost = sum(1 for r in results if isinstance(r, BaseException))
        stats = dict(client.stats)
        final_rate = client.limiter.rate
    steady = [t for t in done if t - started >= warmup]
    sustained = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else 0.0
    return {"rate_limit": rate, "calls": calls, "elapsed_s": round(elapsed, 2),
            "overall_per_s": round(calls / elapsed, 2),
            "sustained_per_s": round(sustained, 2),
            "sustained_share": round(sustained / rate, 3), "lost": lost,
            "client_429": stats["429"], "portal_429": sim(url, "stats")["429"],
            "final_pace_per_s": round(final_rate or 0, 2)}


async def main(args) -> dict:
    proc, url = start_portal(args.cases)
    try:
        config = sim(url, "config")
        state = await login_with_password(url, config["email"], config["password"])
        ids = [c["case_id"] for c in sim(url, "truth")["cases"]]
        return {
            "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": platform.platform(),
            "transport": await transports(url, state, ids, args.transport_calls),
            "rate_limited": await rate_limited(url, state, ids, args.calls, args.rate,
                                               args.warmup),
        }
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--transport-calls", type=int, default=400)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    result = asyncio.run(main(parser.parse_args()))
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "capture.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
