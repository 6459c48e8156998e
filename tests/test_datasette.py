"""The database opens in Datasette (README: "Look at the database yourself") and its
views read as the UI does: status labels, who wrote, the case beside each message, the
timeline. A real ``datasette serve`` on a free port over a copy of an archive, read over
HTTP; skipped where Datasette is not installed (``pip install -e '.[datasette]'``)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("datasette")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_db import generate  # noqa: E402

from companion.read.labels import STATUS_LABELS  # noqa: E402
from companion.schema.views import views  # noqa: E402
from fixtures.harness import free_port, stop_process, wait_http  # noqa: E402


def _json(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def test_the_views_read_in_datasette_and_it_writes_nothing(tmp_path):
    source = generate(tmp_path / "caselog.db", cases=40, messages=400, seed=4)
    copy = tmp_path / "copy.db"
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    port = free_port()
    log = tmp_path / "datasette.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "datasette", "serve", str(copy),
                                 "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(base + "/-/versions.json", proc, timeout=60)
        except RuntimeError:
            raise RuntimeError(log.read_text(errors="replace")) from None
        listed = {v["name"] for v in _json(base + "/copy.json")["views"]}
        assert set(views()) <= listed
        cases = _json(base + "/copy/case_overview.json?_shape=array&_size=100")
        assert len(cases) == 40
        assert {c["status_label"] for c in cases} <= set(STATUS_LABELS.values())
        owing = [c for c in cases if c["status_value"] == "PendingMerchantAction"]
        assert all(c["you_owe_an_answer"] == 1 and c["who_acts"] == "you" for c in owing)
        assert sum(c["messages_stored"] for c in cases) == 400
        messages = _json(base + "/copy/message_log.json?_shape=array&_size=5&sender=Amazon")
        assert messages and all(m["sender"] == "Amazon" and m["subject"] for m in messages)
        assert {m["channel"] for m in messages} <= {"E-mail", "Chat", "Phone call"}
        events = _json(base + "/copy/timeline.json?_shape=array&_size=10")
        assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
        assert {e["event"] for e in events} <= {"Case opened", "Status changed",
                                                "Amazon (E-mail)", "You (E-mail)"}
        changes = _json(base + "/copy/status_changes.json?_shape=array&_size=5")
        assert changes and all(c["changed_to"] in STATUS_LABELS.values() for c in changes)
    finally:
        stop_process(proc)
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == before  # it only read
