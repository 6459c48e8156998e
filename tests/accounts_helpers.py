"""Helpers shared by the accounts and watch tests: add accounts, sign them in (browser or
Support API), run caselog for one account, read an account's database, and a loopback
HTTP sink that records what apprise's ``json://`` channel posts."""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sync_helpers import env, login

from fixtures.harness import Portal, run_caselog

FAST_SPAPI = ("--spapi-rate", "50", "--spapi-burst", "50")


def folder(home: Path, account: str) -> Path:
    return home if account == "default" else home / "accounts" / account


def caselog(home: Path, account: str, *args: str, extra: dict | None = None,
            expect: int | None = 0):
    r = run_caselog(*args, "--account", account,
                    env=env(home, CASELOG_KEYRING="0", **(extra or {})))
    if expect is not None:
        assert r.returncode == expect, \
            f"exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def add_portal_account(portal: Portal, home: Path, name: str) -> None:
    """An account on ``portal``'s browser source, signed in (``default`` is not added:
    it is CASELOG_HOME itself; its registry entry is set instead)."""
    verb = ("set",) if name == "default" else ("add",)
    r = run_caselog("accounts", *verb, name, "--portal", portal.url, env=env(home))
    assert r.returncode == 0, r.stderr
    login(portal, folder(home, name))


def add_spapi_account(portal: Portal, home: Path, name: str) -> None:
    """An account on ``portal``'s Support API, with its credentials saved (file store)."""
    cfg = portal.sim("config")
    r = run_caselog("accounts", "add", name, "--spapi", cfg["spapi_endpoint"],
                    "--lwa-endpoint", cfg["lwa_token_url"], env=env(home))
    assert r.returncode == 0, r.stderr
    creds = {"CASELOG_LWA_CLIENT_ID": cfg["lwa_client_id"],
             "CASELOG_LWA_CLIENT_SECRET": cfg["lwa_client_secret"],
             "CASELOG_LWA_REFRESH_TOKEN": cfg["lwa_refresh_token"]}
    caselog(home, name, "login", "--spapi", cfg["spapi_endpoint"], "--lwa-endpoint",
            cfg["lwa_token_url"], extra=creds)


def query(home: Path, account: str, sql: str, params=()) -> list[tuple]:
    path = folder(home, account) / "caselog.db"
    if not path.exists():
        return []
    # closed, not only committed (sqlite3's ``with`` does not close): a connection left
    # open in the test process would lose its locks whenever the process closes any
    # other handle on the file, the way SQLite databases get corrupted
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # a table a migration has not made yet
            return []


def count_syncs(home: Path, account: str) -> int:
    return len(query(home, account, "select id from syncs where mode != 'import'"))


def notify_urls(home: Path, account: str, urls: list[str], **keys) -> None:
    """Write an account's notify.toml (desktop off: this machine has no desktop)."""
    lines = ["desktop = false", f"urls = {json.dumps(urls)}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    (folder(home, account) / "notify.toml").write_text("\n".join(lines) + "\n")


class Sink:
    """A loopback HTTP server that keeps every JSON body posted to it: apprise's
    ``json://127.0.0.1:PORT/`` channel, seen from the receiving end."""

    def __init__(self):
        self.posts: list[dict] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size)
                try:
                    sink.posts.append(json.loads(body))
                except ValueError:
                    sink.posts.append({"raw": body.decode(errors="replace")})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
