"""What home's queue, the reminders and the case page show is stored when the data
change (``companion.queue.derive``): a running UI sees an import, a reparse and a
settings file edited by hand on its next request; time passing moves a row without a
write; and a case page's GET renders no draft template until the person opens it.
Real parts: a SQLite file, the Flask app, the importer and reparse on another
connection, as the CLI would run them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion.capture.archive import Archive
from companion.capture.importer import import_pages
from companion.capture.reparse import reparse
from companion.queue import derive
from companion.queue import rows as queue
from companion.replies import sandbox
from companion.schema import open_db
from webui.app import create_app

PAGE = Path(__file__).parent / "data" / "case_40718231605_en_US.html"
CASE = "40718231605"  # Needs your attention: the queue wants an answer


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CASELOG_HOME", str(tmp_path))
    open_db(tmp_path / "caselog.db").conn.close()
    return tmp_path


@pytest.fixture
def client(home):
    return create_app(home / "caselog.db", {"CASELOG_HOME": str(home)}).test_client()


def _cli(home: Path, act) -> None:
    """Another connection, as a ``caselog`` command in another process would hold."""
    db = open_db(home / "caselog.db")
    try:
        act(db)
    finally:
        db.conn.close()


def _queued(client) -> dict[str, str]:
    html = client.get("/").get_data(as_text=True)
    return dict(re.findall(r'data-case="(\d+)" data-kind="(\w+)"', html))


def _import(home: Path):
    return lambda db: import_pages(db, [PAGE], archive=Archive(home / "captures"))


def test_a_running_ui_shows_an_import_a_reparse_and_a_settings_edit_next_request(
        home, client):
    (home / "replies.toml").write_text("[defaults]\nstale_after_days = 0\n")
    assert _queued(client) == {}
    _cli(home, _import(home))
    assert _queued(client) == {CASE: "answer"}

    def resolved_by_hand(db):  # a row that differs from its captures (reparse restores)
        with db.conn:
            db.execute("update cases set status = 'Resolved'")
        derive.refresh(db)

    _cli(home, resolved_by_hand)
    assert _queued(client) == {}
    _cli(home, lambda db: reparse(db, Archive(home / "captures")))
    assert _queued(client) == {CASE: "answer"}
    # a settings file edited by hand: the case's last word is weeks old, so with the
    # default 30 days the row is folded into the stale group on the next request
    (home / "replies.toml").write_text("[defaults]\nstale_after_days = 30\n")
    assert _queued(client) == {}
    db = open_db(home / "caselog.db")
    assert queue.home_queue(db, datetime.now(UTC))["stale_count"] == 1


def test_time_passing_moves_a_row_to_the_stale_group_without_a_write(home):
    _cli(home, _import(home))
    db = open_db(home / "caselog.db")
    until = db.execute("select until_ts from queue_phases where case_id = ? and grp = 'rows'",
                       [CASE]).fetchone()[0]
    before = db.execute("select count(*) from queue_phases").fetchone()[0]
    changes = db.conn.total_changes
    early = queue.home_queue(db, datetime.fromtimestamp(until - 60, UTC))
    late = queue.home_queue(db, datetime.fromtimestamp(until + 60, UTC))
    assert [r["case_id"] for r in early["rows"]] == [CASE] and early["stale_count"] == 0
    assert late["rows"] == [] and late["stale_count"] == 1
    assert early["rows"][0]["overdue"] is True  # judged against the reader's now
    assert db.conn.total_changes == changes
    assert db.execute("select count(*) from queue_phases").fetchone()[0] == before


def test_a_case_page_renders_no_draft_template_until_the_person_opens_it(
        home, client, monkeypatch):
    _cli(home, _import(home))
    calls = []
    real = sandbox.render
    monkeypatch.setattr(sandbox, "render", lambda *a, **kw: calls.append(a[0]) or real(*a, **kw))
    html = client.get(f"/cases/{CASE}").get_data(as_text=True)
    assert calls == []
    assert "Write the draft" in html and 'id="draft-body"' not in html
    tok = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post(f"/cases/{CASE}/draft/open", headers={"HX-Request": "true",
                                                          "X-CSRF-Token": tok})
    assert r.status_code == 200 and calls  # rendered because the person asked
    assert 'id="draft-body"' in r.get_data(as_text=True)
    calls.clear()
    html = client.get(f"/cases/{CASE}").get_data(as_text=True)
    assert calls == [] and 'id="draft-body"' in html  # the stored draft, as stored


def test_home_charts_are_stored_with_the_archive_and_read_as_computed(home):
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from make_db import generate

    from companion.read import stats

    path = generate(home / "charts.db", cases=80, messages=800, seed=3)
    db = open_db(path)
    now = datetime.now(UTC)
    state = derive.current(db)
    assert stats.stored_weeks(json.loads(state["weeks"]), now) == \
        stats.weekly_opened_resolved(db, now)
    assert [tuple(r) for r in json.loads(state["response"])] == stats.response_rows(db)
    assert any(n for _, n, _ in stats.weekly_opened_resolved(db, now))
