"""Screenshot of the timeline for the README (docs/timeline.png), from a real
``caselog serve`` over a database synced from the simulated portal.

Usage:
    .venv/bin/python scripts/screenshot.py                 # portal + login + sync + serve
    .venv/bin/python scripts/screenshot.py --db caselog.db # an existing database
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scrapers.browser.launch import launch_options  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[:4]} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)  # polling a condition with a deadline
    raise SystemExit(f"{url} did not answer")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def synced_db(home: Path, cases: int, seed: int) -> tuple[Path, subprocess.Popen]:
    port = free_port()
    portal = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "fixtures", "--port", str(port), "--cases",
                             str(cases), "--seed", str(seed)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait(portal + "/__sim/health", proc)
    with urllib.request.urlopen(portal + "/__sim/config") as r:
        cfg = json.loads(r.read())
    env = {**os.environ, "CASELOG_HOME": str(home), "CASELOG_PASSWORD": cfg["password"]}
    for argv in (["login", "--portal", portal, "--email", cfg["email"], "--headless"],
                 ["sync", "--portal", portal]):
        subprocess.run([sys.executable, "-m", "companion", *argv], cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL)
    return home / "caselog.db", proc


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="existing database (default: sync a simulated portal)")
    ap.add_argument("--cases", type=int, default=120)
    ap.add_argument("--seed", type=int, default=11)  # its newest cases read like a typical log
    ap.add_argument("--out", default=str(ROOT / "docs" / "timeline.png"))
    ap.add_argument("--path", default="/timeline", help="page to capture")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="caselog-shot-") as tmp:
        home = Path(tmp)
        started = []
        try:
            if args.db:
                db = Path(args.db).resolve()
            else:
                db, portal = synced_db(home, args.cases, args.seed)
                started.append(portal)
            port = free_port()
            ui = subprocess.Popen([sys.executable, "-m", "companion", "serve", "--port",
                                   str(port), "--db", str(db)], cwd=ROOT,
                                  env={**os.environ, "CASELOG_HOME": str(home)},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append(ui)
            url = f"http://127.0.0.1:{port}"
            wait(url + "/sync/status", ui)
            with sync_playwright() as p:
                browser = p.chromium.launch(**launch_options())
                page = browser.new_page(viewport={"width": 1280, "height": 900},
                                        device_scale_factor=1)
                page.goto(url + args.path)
                page.locator("li.event").first.wait_for()
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=args.out)
                browser.close()
        finally:
            for proc in reversed(started):
                stop(proc)
    print(args.out)


if __name__ == "__main__":
    main()
