"""``caselog serve`` and ``caselog demo``: thin commands around the app factory.

The server is werkzeug's threaded server without debugger or reloader: a local tool for
one person, bound to loopback unless the person insists.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import click
from werkzeug.serving import make_server

from companion import folders
from webui.app import create_app

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _port_taken(port: int) -> bool:
    """True when something already listens on 127.0.0.1:port. ``demo`` asks before it
    starts: otherwise a portal that failed to bind would go unnoticed while the health
    check, the sign-in and the sync all talk to whatever else holds the port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def allowed_hosts(host: str) -> tuple[str, ...]:
    """Host names the UI answers to besides 127.0.0.1, localhost and ::1: the address it
    was told to bind (so ``--host 127.0.0.2`` answers at the address it prints), or any
    for a wildcard bind, where the Host check cannot help."""
    if host in ("0.0.0.0", "::"):
        return ("*",)
    return (host,)


def run_server(db: Path, host: str, port: int, portal: str | None = None,
               announce: Callable[[str], None] | None = None,
               request_log: bool = True) -> None:
    """Serve until Ctrl-C or SIGTERM. ``announce(url)`` runs once the port is bound, so an
    address on screen is one that answers; without it the serve command's two lines.
    ``request_log=False`` keeps werkzeug's line per request off the terminal (errors
    still show), where it would push that address out of sight."""
    if not request_log:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    extra_hosts = allowed_hosts(host)
    app = create_app(db, {"SERVER_PORT": port, "ALLOWED_HOSTS": extra_hosts,
                          "OPEN_LOGIN": is_loopback(host),
                          "PORTAL_URL": portal, "CASELOG_HOME": str(folders.home())})
    server = make_server(host, port, app, threaded=True)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.port}/"
    if announce:
        announce(url)
    else:
        click.echo(f"caselog UI: {url}  (database {db})")
        click.echo("Press Ctrl-C to stop.")
    # SIGTERM stops the server like Ctrl-C does, so `caselog demo` can stop its portal.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        every = app.extensions.get("caselog.sync_all")
        if every:
            every.stop()
        for sync in app.extensions.get("caselog.syncs", {}).values():
            sync.stop()
        server.server_close()


@click.command()
@click.option("--port", type=int, default=8732, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback needs --allow-remote.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (unsafe).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
              help="Database file (default: CASELOG_HOME/caselog.db).")
@click.option("--portal", default=None, help="Portal URL for Sync now when no sync recorded one.")
def serve(port, host, allow_remote, db_path, portal):
    """Serve the local web UI over the caselog database.

    \b
    Usage:
        caselog serve                 # http://127.0.0.1:8732/
        caselog serve --port 9000 --db ./caselog.db
    """
    if not is_loopback(host):
        if not allow_remote:
            raise click.UsageError(
                f"--host {host} is not a loopback address: the UI would be reachable from "
                "other machines, with your whole Case Log and no password. Add "
                "--allow-remote if you really mean it.")
        click.echo(f"WARNING: serving on {host}: anyone who can reach this machine on port "
                   f"{port} can read your Case Log and start syncs.", err=True)
    run_server(folders.db_path(db_path), host, port, portal)


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_health(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(f"the simulated portal exited with {proc.returncode}; "
                                       f"its last words ({log}):\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)  # polling a condition with a deadline
    raise click.ClickException(f"the simulated portal did not answer at {url} (see {log})")


def _start_portal(portal_port: int, cases: int, seed: int, log: Path) -> subprocess.Popen:
    """The portal writes to a log file, not the terminal: its start line would repeat what
    the demo says at the end, and anything it said later would land after the UI's
    address, the line a newcomer must find."""
    argv = [sys.executable, "-m", "fixtures", "--port", str(portal_port), "--cases",
            str(cases), "--seed", str(seed), "--v2-data"]
    with folders.open_private(log, "wb") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)


def _sign_in_and_sync(portal: str, cfg: dict, cases: int) -> None:
    env = {**os.environ, "CASELOG_PASSWORD": cfg["password"]}
    if cfg.get("mfa_secret"):
        env["CASELOG_TOTP_SECRET"] = cfg["mfa_secret"]
    caselog = [sys.executable, "-m", "companion", "--account", folders.account()]  # its own
    click.echo(f"Signing in to the simulated portal at {portal} ...")
    login = subprocess.run([*caselog, "login", "--portal", portal, "--email", cfg["email"],
                            "--headless"], env=env)
    if login.returncode != 0:
        raise click.ClickException("signing in to the simulated portal failed")
    click.echo(f"Syncing {cases} cases (this takes a little while) ...")
    sync = subprocess.run([*caselog, "sync", "--portal", portal, "--download-attachments"],
                          env=env)
    if sync.returncode not in (0, 1):
        raise click.ClickException(f"the sync failed (exit {sync.returncode})")


def _announcer(portal: str, cfg: dict, log: Path) -> Callable[[str], None]:
    """What the demo says once the UI listens, the UI's address last: the one line a
    newcomer needs, left at the bottom of the terminal with nothing printed after it."""
    def announce(url: str) -> None:
        click.echo("")
        click.echo(f"Simulated Seller Central: {portal}/cu/case-lobby")
        click.echo(f"  sign in there as {cfg['email']} with password {cfg['password']}"
                   + (f" (MFA secret {cfg['mfa_secret']})" if cfg.get("mfa_secret") else ""))
        click.echo(f"  its log, with the Support API's demo credentials: {log}")
        click.echo(f"Open {url} in your browser (Ctrl-C stops the demo).")
    return announce


@click.command()
@click.option("--port", type=int, default=8732, show_default=True, help="Port of the UI.")
@click.option("--portal-port", type=int, default=8731, show_default=True,
              help="Port of the simulated portal.")
@click.option("--cases", type=int, default=300, show_default=True,
              help="Cases in the simulated portal.")
@click.option("--seed", type=int, default=7, show_default=True)
def demo(port, portal_port, cases, seed):
    """Simulated portal, sign-in, sync and UI in one step, on demo data.

    Keeps everything in ./caselog-home/ unless CASELOG_HOME is set, so it never touches
    a real seller's data. Prints the UI's address last; Ctrl-C stops the UI and the
    portal.

    \b
    Usage:
        caselog demo
        caselog demo --cases 100 --port 9000
    """
    os.environ.setdefault("CASELOG_HOME", str(Path.cwd() / "caselog-home"))
    for name, p in (("--portal-port", portal_port), ("--port", port)):
        if _port_taken(p):
            raise click.UsageError(f"port {p} is already in use on 127.0.0.1 (another "
                                   f"caselog demo?). Choose another with {name} N.")
    click.echo(f"caselog demo: data in {folders.home()}")
    portal = f"http://127.0.0.1:{portal_port}"
    log = folders.logs_dir() / "demo-portal.log"
    proc = _start_portal(portal_port, cases, seed, log)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _wait_health(portal + "/__sim/health", proc, log)
        with urllib.request.urlopen(portal + "/__sim/config", timeout=10) as resp:
            cfg = json.loads(resp.read())
        _sign_in_and_sync(portal, cfg, cases)
        run_server(folders.db_path(None), "127.0.0.1", port, portal=portal,
                   announce=_announcer(portal, cfg, log), request_log=False)
    except KeyboardInterrupt:
        pass
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        click.echo("caselog demo stopped.")
