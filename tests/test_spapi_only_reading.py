"""A seller who syncs only through the Support API stores its four statuses as given
(``PENDING_MERCHANT_ACTION``...: ``caselog export`` keeps them), and every reader still
asks the right question of them: the queue, "Needs your answer", the owes filter,
waiting on Amazon, reminders, drafts, checklists and the Datasette views treat each as
the portal status it stands for (``companion.read.labels``)."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime

import pytest
from sync_helpers import FAST, spapi_login, spapi_sync

from companion.queue import progress
from companion.queue import rows as queue
from companion.read import cases, overview
from companion.replies import checklists, reminders, situation
from companion.schema import open_db
from fixtures.harness import start_portal
from scrapers.spapi.parse import STATUSES as SPAPI_STATUSES
from webui.app import create_app


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A database filled only by a real Support API sync against the simulated one."""
    home = tmp_path_factory.mktemp("spapi-only")
    portal = start_portal("--cases", "60", "--seed", "5", "--v2-data", *FAST)
    try:
        assert spapi_login(portal, home).returncode == 0
        spapi_sync(portal, home)
    finally:
        portal.stop()
    return home


@pytest.fixture
def db(home, monkeypatch):
    monkeypatch.setenv("CASELOG_HOME", str(home))
    d = open_db(home / "caselog.db")
    yield d
    d.conn.close()


@pytest.fixture
def by_status(db) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for cid, status in db.execute("select case_id, status from cases"):
        out.setdefault(status, set()).add(cid)
    assert set(out) == set(SPAPI_STATUSES), out.keys()  # only the Support API's words
    return out


@pytest.fixture
def client(home):
    return create_app(home / "caselog.db", {"CASELOG_HOME": str(home)}).test_client()


def _queue_rows(client) -> dict[str, str]:
    """{case_id: kind} of every row of the queue's list and stale group, page by page."""
    found: dict[str, str] = {}
    for group in ("rows", "stale"):
        for n in range(1, 100):
            page = client.get(f"/queue?group={group}&page={n}").get_data(as_text=True)
            found.update(re.findall(
                r'data-testid="queue-row" data-case="(\d+)" data-kind="(\w+)"', page))
            if "Next page" not in page:
                break
    return found


def test_every_case_owing_an_answer_is_a_queue_row_that_asks_for_it(db, by_status, client):
    owing = by_status["PENDING_MERCHANT_ACTION"]
    shown = _queue_rows(client)
    assert owing <= set(shown)
    found = queue.candidates(db, datetime.now(UTC))
    rows = {r["case_id"]: r for g in ("rows", "stale") for r in found[g]}
    assert all("answer" in rows[cid]["kinds"] for cid in owing)
    assert {cid for cid, kind in shown.items() if kind == "answer"} <= owing


def test_needs_your_answer_and_the_owes_filter_are_exactly_those_cases(db, by_status,
                                                                        client):
    owing = by_status["PENDING_MERCHANT_ACTION"]
    now = datetime.now(UTC)
    assert overview.needs_answer(db, now, limit=1000)["total"] == len(owing)
    result = cases.cases_table(db, {"owes": "yes"}, per_page=1000)
    assert {r["case_id"] for r in result["rows"]} == owing
    assert all(r["owes"] for r in result["rows"])
    html = client.get("/cases?owes=yes").get_data(as_text=True)
    assert f"{len(owing)} case{'s' if len(owing) != 1 else ''} match" in html
    others = cases.cases_table(db, {"owes": "no"}, per_page=1000)["rows"]
    assert not owing & {r["case_id"] for r in others}


def test_waiting_on_amazon_lists_the_cases_amazon_works_on(db, by_status, client):
    waiting = by_status["PENDING_AMAZON_ACTION"]
    listed = overview.waiting_on_amazon(db, datetime.now(UTC), limit=1000)
    assert {r["case_id"] for r in listed["rows"]} == waiting
    html = client.get("/").get_data(as_text=True)
    assert f'Waiting on Amazon <span class="count">({len(waiting)})</span>' in html
    rems = reminders.for_cases(db, now=datetime.now(UTC))
    assert {cid for cid, r in rems.items() if r["kind"] == "follow_up"} == waiting
    assert {cid for cid, r in rems.items() if r["kind"] == "answer"} == by_status[
        "PENDING_MERCHANT_ACTION"]
    table = cases.cases_table(db, {"status": "PendingAmazonAction"}, per_page=1000)
    assert {r["case_id"] for r in table["rows"]} == waiting  # home's "All cases" link


def test_drafts_know_what_each_status_calls_for(db, by_status):
    amazon = sorted(by_status["PENDING_AMAZON_ACTION"])[0]
    assert situation.context(db, amazon)["situation"] == "follow_up"
    for cid in by_status.get("TRANSFERRED", ()):
        assert situation.context(db, cid)["situation"] is None


def test_resolved_cases_are_not_open_for_checklists_or_progress(db, by_status):
    done = by_status["RESOLVED"] | by_status.get("TRANSFERRED", set())
    everyone = {cid for ids in by_status.values() for cid in ids}
    assert checklists.refresh_after_sync(db) == len(everyone - done)
    stored = {r[0] for r in db.execute("select distinct case_id from checklist_items")}
    assert stored and stored <= everyone - done
    assert set(progress.for_cases(db, sorted(everyone))) == stored


def test_the_datasette_view_says_who_acts(home, by_status):
    who = {"PENDING_MERCHANT_ACTION": "you", "PENDING_AMAZON_ACTION": "Amazon",
           "RESOLVED": "nobody", "TRANSFERRED": "nobody"}
    with sqlite3.connect(home / "caselog.db") as conn:
        rows = conn.execute("select status_value, who_acts, you_owe_an_answer, status_label "
                            "from case_overview").fetchall()
    assert rows
    for status, acts, owes, label in rows:
        assert acts == who[status] and owes == (status == "PENDING_MERCHANT_ACTION")
        assert label not in SPAPI_STATUSES


def test_a_database_with_the_old_views_gets_the_new_ones(tmp_path):
    d = open_db(tmp_path / "old.db")
    d.execute("DROP VIEW case_overview")  # as migration 22 left it, roughly: no Support API
    d.execute("CREATE VIEW case_overview AS SELECT case_id FROM cases")
    d.execute("DELETE FROM migrations WHERE number = 24")
    d.conn.commit()
    d.conn.close()
    d = open_db(tmp_path / "old.db")
    try:
        assert "you_owe_an_answer" in {c.name for c in d["case_overview"].columns}
        labels = dict(d.execute("select status, who_acts from status_labels"))
        assert labels["PENDING_MERCHANT_ACTION"] == "you" and labels["RESOLVED"] == "nobody"
    finally:
        d.conn.close()
