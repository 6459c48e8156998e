"""Search by part of a word or an id (migration 22, ``companion.read.search_terms``): how
each kind of word matches, the index kept by triggers and rebuilt from the stored text,
the case id that opens its case, and the history entry a repeated filter does not add."""

from __future__ import annotations

import re

import pytest

from companion.read import cases, search, search_terms, timeline
from companion.read.queries import MARK_CLOSE, MARK_OPEN
from companion.schema import open_db
from webui.app import create_app

JA = "返金請求について"


@pytest.fixture
def db(tmp_path):
    d = open_db(tmp_path / "p.db")
    rows = [("11122233344", "Reimbursement for shipment FBA15HX7KQ2D", "PendingMerchantAction"),
            ("11122299988", JA, "Answered"),
            ("9876543210", "Listing B0C7XYZ123 suppressed", "Resolved")]
    for n, (cid, subject, status) in enumerate(rows):
        d["cases"].insert({"case_id": cid, "subject": subject, "status": status,
                           "created_at": f"2026-01-0{n + 1}T00:00:00Z"})
    texts = [("11122233344", "Please provide the invoices for order 113-4276907-5843039."),
             ("11122299988", "請求書を添付します。"),
             ("9876543210", "SKU MUG-B12-0420 is stranded; the ASIN is B0C7XYZ123.")]
    for n, (cid, text) in enumerate(texts):
        d["messages"].insert({"case_id": cid, "message_key": f"k{n}", "sender": "seller",
                              "sent_at": f"2026-01-0{n + 1}T01:00:00Z", "text": text})
    yield d
    d.conn.close()


def found(db, q) -> tuple[set, set]:
    r = search.search(db, q)
    return {c["case_id"] for c in r["cases"]}, {m["case_id"] for m in r["messages"]}


def test_each_kind_of_word_matches_its_way():
    w = search_terms.parse("invoices FBA15H 113-42 請求 返金請求 B0 x")
    assert w.stems == ("invoices", "x")
    assert w.parts == ("fba15h", "113-42", "返金請求")
    assert w.shorts == ("請求", "b0")
    assert w.idents == ("fba15h", "113-42", "b0") and not w.ids_only
    assert search_terms.parse("(B0C7XY),").parts == ("b0c7xy",)
    assert search_terms.parse("#11122233344").digits == "11122233344"
    assert search_terms.parse("FBA15 113-4").ids_only


def test_the_start_of_an_id_and_part_of_a_cjk_word_find_the_case(db):
    assert found(db, "FBA15H") == ({"11122233344"}, set())
    assert found(db, "fba15hx7") == ({"11122233344"}, set())  # any case
    assert found(db, "113-427") == (set(), {"11122233344"})
    assert found(db, "B0C7XY") == ({"9876543210"}, {"9876543210"})
    assert found(db, "MUG-B1") == (set(), {"9876543210"})
    assert found(db, "返金") == ({"11122299988"}, set())
    assert found(db, "ついて") == ({"11122299988"}, set())  # the subject's last characters
    assert found(db, "て") == ({"11122299988"}, set())      # its very last one
    assert found(db, "請求") == ({"11122299988"}, {"11122299988"})
    assert found(db, "invoice") == (set(), {"11122233344"})   # words still by stem
    assert found(db, "FBA15H reimbursement") == ({"11122233344"}, set())
    assert found(db, "FBA16") == (set(), set())
    assert found(db, "請け") == (set(), set())


def test_hits_carry_id_status_date_and_marks(db):
    r = search.search(db, "返金")
    hit = r["cases"][0]
    assert (hit["case_id"], hit["status"], hit["created_at"]) == (
        "11122299988", "Answered", "2026-01-02T00:00:00Z")
    assert hit["subject_marked"] == MARK_OPEN + "返金" + MARK_CLOSE + "請求について"
    msg = search.search(db, "b0c7xy")["messages"][0]
    assert MARK_OPEN + "B0C7XY" + MARK_CLOSE in msg["snippet"]
    assert msg["status"] == "Resolved" and msg["sent_at"] == "2026-01-03T01:00:00Z"


def test_case_ids_by_their_start(db):
    assert [c["case_id"] for c in search.search(db, "111222")["ids"]] == [
        "11122299988", "11122233344"]  # newest first
    assert search.search(db, "11122233344")["ids"][0]["case_id"] == "11122233344"
    assert search.search(db, "11")["ids"] == []
    assert search_terms.exact_case(db, " 9876543210 ") == "9876543210"
    assert search_terms.exact_case(db, "98765") is None


def test_a_very_common_short_word_reads_the_texts_instead(db, monkeypatch):
    monkeypatch.setattr(search_terms, "MAX_TERMS", 0)
    params: dict = {}
    got = search_terms.match(db, search_terms.parse("請求"), "messages", params)
    assert any("LIKE" in r for r in got.rows)
    assert found(db, "請求") == ({"11122299988"}, {"11122299988"})


def test_when_most_messages_match_the_newest_texts_are_read_and_the_hits_agree(
        db, monkeypatch):
    """The scan plan (checking texts newest first) must find what the index plan finds."""
    indexed = search.search(db, "請求")["messages"]
    monkeypatch.setattr(search, "DENSE", 0)
    monkeypatch.setattr(search, "SCAN_SHARE", 10**9)
    params: dict = {}
    got = search_terms.match(db, search_terms.parse("請求"), "messages", params)
    clauses, hint = search.plan(db, got, 1)
    assert clauses == got.scan() and "LIKE" in clauses[0] and "idx_messages_sent_at" in hint
    assert search.search(db, "請求")["messages"] == indexed


def test_the_cases_table_and_the_timeline_match_the_same_way(db):
    def table(q):
        return {r["case_id"] for r in cases.cases_table(db, {"q": q})["rows"]}

    assert table("返金") == {"11122299988"}
    assert table("111222") == {"11122233344", "11122299988"}
    assert table("113-4276") == {"11122233344"}  # an order id only its message names
    assert table("invoice") == set()  # words: the subject only, as the label says
    assert table("FBA15HX") == {"11122233344"}
    events = timeline.events(db, {"q": "請求"})["events"]
    assert [e["case_id"] for e in events] == ["11122299988"]
    assert MARK_OPEN + "請求" + MARK_CLOSE in events[0]["snippet"]


def test_the_index_follows_every_write(db):
    assert found(db, "ZQX99") == (set(), set())
    db["messages"].insert({"case_id": "9876543210", "message_key": "new", "sender": "amazon",
                           "sent_at": "2026-02-01T00:00:00Z", "text": "Ref ZQX991"})
    assert found(db, "ZQX99") == (set(), {"9876543210"})
    db.execute("update messages set text = 'Ref ZQX881' where message_key = 'new'")
    assert found(db, "ZQX99") == (set(), set())
    assert found(db, "ZQX88") == (set(), {"9876543210"})
    db.execute("update messages set sender = 'seller' where message_key = 'new'")  # no text
    db.execute("delete from messages where message_key = 'new'")
    assert found(db, "ZQX88") == (set(), set())
    db.execute("update cases set subject = '納品プランの確認' where case_id = '11122299988'")
    assert found(db, "返金") == (set(), set())
    assert found(db, "納品") == ({"11122299988"}, set())
    db.execute("INSERT INTO messages_grams(messages_grams) VALUES ('integrity-check')")


def test_migration_22_fills_the_index_from_the_stored_text(tmp_path, db):
    db.execute("drop table messages_grams_terms")
    db.execute("drop table messages_grams")
    db.execute("drop table cases_grams_terms")
    db.execute("drop table cases_grams")
    for name in ("messages_grams_ai", "messages_grams_ad", "messages_grams_au",
                 "cases_grams_ai", "cases_grams_ad", "cases_grams_au"):
        db.execute(f"drop trigger {name}")
    for view in ("timeline", "status_changes", "message_log", "case_overview",
                 "status_labels"):
        db.execute(f"drop view {view}")
    db["migrations"].delete_where("number = 22")
    db.conn.commit()
    again = open_db(tmp_path / "p.db")
    assert found(again, "返金") == ({"11122299988"}, set())
    assert found(again, "113-427") == (set(), {"11122233344"})
    labels = dict(again.execute("select case_id, status_label from case_overview").fetchall())
    assert labels["11122233344"] == "Needs your attention"
    again.conn.close()


def test_a_case_id_submitted_opens_the_case_and_typing_shows_it(db, tmp_path):
    client = create_app(tmp_path / "p.db", {"CASELOG_HOME": str(tmp_path)}).test_client()
    r = client.get("/search?q=11122233344")
    assert r.status_code == 303 and r.headers["Location"].endswith("/cases/11122233344")
    r = client.get("/search?q=11122233344", headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'data-testid="id-hits"' in r.get_data(as_text=True)
    assert client.get("/search?q=111222").status_code == 200  # a start: the list
    html = client.get("/search?q=%E8%BF%94%E9%87%91").get_data(as_text=True)
    assert "<mark>返金</mark>" in html and "11122299988" in html and "Answered" in html


def test_a_view_already_shown_is_replaced_not_pushed(db, tmp_path):
    client = create_app(tmp_path / "p.db", {"CASELOG_HOME": str(tmp_path)}).test_client()
    hx = {"HX-Request": "true", "HX-Current-URL": "http://127.0.0.1:8732/timeline"}
    r = client.get("/timeline?q=invoice", headers=hx)
    assert r.headers["HX-Push-Url"] == "/timeline?q=invoice" and "HX-Replace-Url" not in r.headers
    hx["HX-Current-URL"] = "http://127.0.0.1:8732/timeline?q=invoice"
    r = client.get("/timeline?q=invoice", headers=hx)
    assert r.headers["HX-Replace-Url"] == "/timeline?q=invoice" and "HX-Push-Url" not in r.headers
    assert re.search(r"<mark>invoices</mark>", r.get_data(as_text=True))
