"""A seller who syncs only through the Support API stores its four statuses as given
(``PENDING_MERCHANT_ACTION``...: ``caselog export`` keeps them), and every reader still
asks the right question of them: the queue, "Needs your answer", the owes filter,
waiting on Amazon, reminders, drafts, checklists and the Datasette views treat each as
the portal status it stands for (``companion.read.labels``)."""

from __future__ import annotations

import sqlite3

import pytest
from sync_helpers import env

from companion.schema import open_db
from fixtures.harness import run_caselog, start_portal
from scrapers.spapi.parse import STATUSES as SPAPI_STATUSES


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A database filled only by a real Support API sync against the simulated one."""
    home = tmp_path_factory.mktemp("spapi-only")
    portal = start_portal("--cases", "60", "--seed", "5", "--v2-data", "--spapi-rate", "50",
                          "--spapi-burst", "50")
    try:
        cfg = portal.sim("config")
        given = env(home, CASELOG_KEYRING="0", CASELOG_LWA_CLIENT_ID=cfg["lwa_client_id"],
                    CASELOG_LWA_CLIENT_SECRET=cfg["lwa_client_secret"],
                    CASELOG_LWA_REFRESH_TOKEN=cfg["lwa_refresh_token"])
        login = run_caselog("login", "--spapi", cfg["spapi_endpoint"], "--lwa-endpoint",
                            cfg["lwa_token_url"], env=given)
        assert login.returncode == 0, login.stderr
        synced = run_caselog("sync", "--spapi", cfg["spapi_endpoint"], env=given)
        assert synced.returncode == 0, synced.stderr
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
