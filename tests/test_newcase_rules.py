"""The two rules of preparing a new case, table by table on a real SQLite file
(``companion.newcase.duplicates``): which stored cases a new case is warned about
(open or recently answered, on the same topic), and which new case a sync brought is
offered to take the prepared work (opened after it, on the topic, its first message
reading as the description); and the offer on the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from replies_helpers import NOW, add_case, seeded_db, web_client

from companion.newcase import duplicates as matching
from companion.newcase import prepared, topics

TOPIC = {"id": "t", "title": "Inbound", "category": "FBA Inventory and Reimbursement",
         "categories": ["fba"], "keywords": ["shipment"], "needs": [], "evidence": []}


@pytest.fixture
def db(caselog_home):
    return seeded_db(caselog_home)


@pytest.fixture
def client(caselog_home, db):
    return web_client(caselog_home, db)


# --- the warn rule ----------------------------------------------------------------

def _warn_db(db):
    """Cases around TOPIC (category fba, keyword shipment), by status and text."""
    cases = [
        ("20000000001", "Inbound shipment short", "PendingAmazonAction", "FBA Inventory", 1, ""),
        ("20000000002", "Units gone", "PendingMerchantAction", "FBA Inventory", 1, "Units gone."),
        ("20000000003", "Units gone", "Reopened", "FBA Inventory", 1, "The shipment arrived."),
        ("20000000004", "Shipment missing", "Answered", "FBA Inventory", 2, ""),
        ("20000000005", "Shipment missing", "Answered", "FBA Inventory", 6, ""),
        ("20000000006", "Shipment missing", "Closed", "FBA Inventory", 1, ""),
        ("20000000007", "Shipment missing", "Resolved", "FBA Inventory", 1, ""),
        ("20000000008", "Fee charged", "PendingAmazonAction", "Payments", 1,
         "Charge for FBA15XK2LM9 twice."),
        ("20000000009", "Shipment fee", "PendingAmazonAction", "Payments", 1, ""),
        ("20000000010", "Shipment missing", "Transferred", "FBA Inventory", 1, ""),
    ]
    for cid, subject, status, category, days, opener in cases:
        add_case(db, cid, subject, status, category,
                 [("seller", days + 1, opener or subject), ("amazon", days, "We look into it.")])
    for cid in ("10000000001", "10000000002", "10000000003", "10000000004", "10000000005"):
        db.execute("delete from messages where case_id = ?", [cid])
        db.execute("delete from cases where case_id = ?", [cid])
    db.conn.commit()


@pytest.mark.parametrize("case_id,warned,why", [
    ("20000000001", True, "keyword in the subject, open"),
    ("20000000002", False, "same category, no keyword"),
    ("20000000003", True, "keyword in the first message, reopened"),
    ("20000000004", True, "answered 2 days ago: still reopenable"),
    ("20000000005", False, "answered 6 days ago: the window closed"),
    ("20000000006", False, "closed"),
    ("20000000007", False, "resolved"),
    ("20000000008", True, "other category, same shipment id"),
    ("20000000009", False, "keyword, other category"),
    ("20000000010", False, "transferred"),
])
def test_warn_rule(db, case_id, warned, why):
    _warn_db(db)
    found = {w["case_id"]: w for w in matching.warnings(db, TOPIC, "FBA15XK2LM9", NOW)}
    assert (case_id in found) is warned, why


def test_warnings_say_what_to_do_strongest_first(db):
    _warn_db(db)
    found = matching.warnings(db, TOPIC, "about FBA15XK2LM9", NOW)
    assert found[0]["case_id"] == "20000000008"
    assert found[0]["reasons"] == ["same shipment FBA15XK2LM9"]
    by = {w["case_id"]: w for w in found}
    assert by["20000000001"]["advice"] == ("Reply in case 20000000001 instead of opening a "
                                           "new one.")
    assert by["20000000001"]["reasons"] == [
        "same topic (FBA Inventory, mentions \u201cshipment\u201d)"]
    assert by["20000000004"]["advice"].startswith("Answered: reopen case 20000000004 in "
                                                  "Seller Central (until ")
    no_keywords = {**TOPIC, "keywords": []}
    assert "20000000002" in {w["case_id"] for w in matching.warnings(db, no_keywords, "", NOW)}


# --- the offer rule ---------------------------------------------------------------

DESCRIPTION = ("Hello, our delivery arrived at the warehouse on Monday but seven cartons "
               "vanished completely from inventory counts. Regards, [your name]")
T = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _offer_db(db):
    p = prepared.create(db, topics.get("fba_inbound_shortage"))
    prepared.save(db, p["id"], "Cartons vanished", DESCRIPTION)
    db["prepared_cases"].update(p["id"], {"created_at": _iso(T)})
    later, before = T + timedelta(hours=1), T - timedelta(days=1)
    pasted = DESCRIPTION.replace("[your name]", "Jane")
    rows = [  # id, created, category, opener, continues
        ("30000000001", later, "FBA Inventory", pasted, None),
        ("30000000002", before, "FBA Inventory", pasted, None),
        ("30000000003", later, "Payments", pasted, None),
        ("30000000004", later, "Payments", "The shipment: " + pasted, None),
        ("30000000005", later, "FBA Inventory", "Please merge duplicate ASINs of our "
         "variation family", None),
        ("30000000006", later, "Payments", "Fee on shipment FBA15XK2LM9", None),
        ("30000000007", later, "FBA Inventory", pasted, None),
        ("30000000008", T.replace(hour=0), "FBA Inventory", pasted, None),
        ("30000000009", later, "FBA Inventory", pasted, "29999999999"),
        ("30000000010", T - timedelta(minutes=5), "FBA Inventory", pasted, None),
        ("30000000011", later, "FBA Inventory", "Seven cartons vanished", None),
        ("30000000012", T + timedelta(days=31), "FBA Inventory", pasted, None),
    ]
    for cid, created, category, opener, continues in rows:
        db["cases"].insert({"case_id": cid, "subject": "New case", "status":
                            "PendingAmazonAction", "category": category,
                            "created_at": _iso(created), "continues": continues})
        db["messages"].insert({"case_id": cid, "message_key": f"{cid}-0", "sender": "seller",
                               "sent_at": _iso(max(created, T) + timedelta(minutes=30)),
                               "text": opener, "html": opener})
    other = prepared.create(db, topics.get("fba_inbound_shortage"))
    db["prepared_cases"].update(other["id"], {"state": "attached", "case_id": "30000000007"})
    db.conn.commit()
    return prepared.get(db, p["id"])


@pytest.mark.parametrize("case_id,offered,why", [
    ("30000000001", True, "after, same category, the description pasted"),
    ("30000000002", False, "opened before the preparation"),
    ("30000000003", False, "pasted, but another category and no keyword"),
    ("30000000004", True, "another category, but the topic's keyword and the text"),
    ("30000000005", False, "same category, another text"),
    ("30000000006", True, "another category and text, but the same shipment id"),
    ("30000000007", False, "already holds another preparation"),
    ("30000000008", True, "created shown as a day only: its first message counts"),
    ("30000000009", False, "continues a transferred case"),
    ("30000000010", True, "five minutes earlier: clocks differ"),
    ("30000000011", False, "three shared words are too few of the description's"),
    ("30000000012", False, "opened a month later: attached by hand if at all"),
])
def test_offer_rule(db, case_id, offered, why):
    p = _offer_db(db)
    if case_id == "30000000006":
        prepared.save(db, p["id"], None, DESCRIPTION + " Shipment FBA15XK2LM9.")
        p = prepared.get(db, p["id"])
    found = {o["case_id"] for o in matching.offers(db, p, topics.get(p["topic"]))}
    assert (case_id in found) is offered, why


def test_offers_rank_the_pasted_text_first_and_end_once_attached(db):
    p = _offer_db(db)
    prepared.save(db, p["id"], None, DESCRIPTION + " Shipment FBA15XK2LM9.")
    p = prepared.get(db, p["id"])
    found = matching.offers(db, p, topics.get(p["topic"]))
    assert len(found) == matching.MAX_SHOWN
    assert found[0]["case_id"] == "30000000004"  # the most words of the description
    assert found[0]["reasons"] == ["its first message shares 11 words with your description"]
    assert found[-1]["case_id"] == "30000000006"  # an identifier alone comes last
    alone = matching.offers(db, {**p, "description": "Shipment FBA15XK2LM9"}, None)
    assert [(o["case_id"], o["reasons"]) for o in alone] == [
        ("30000000006", ["same shipment FBA15XK2LM9"])]
    prepared.attach_to_case(db, p["id"], "30000000001")
    assert matching.offers(db, prepared.get(db, p["id"]), None) == []


@pytest.mark.parametrize("a,b,same", [
    ("seven cartons vanished from inventory counts", "Seven cartons vanished from inventory "
     "counts. Best regards, The team", True),
    ("seven cartons vanished [from inventory counts]", "cartons vanished", False),
    ("", "anything at all here", False),
    ("Hello dear support team, thanks, regards", "Hello dear support team, thanks", False),
])
def test_resembles(a, b, same):
    assert matching.resembles(a, b)[0] is same


def test_prepared_page_lists_and_offers(client, db):
    p = _offer_db(db)
    html = client.get("/cases/new").get_data(as_text=True)
    assert "Prepared, not yet opened in Seller Central" in html
    assert 'data-testid="attach-offer" data-case="30000000001"' in html
    assert f'action="/cases/new/{p["id"]}/attach"' in html
    page = client.get(f"/cases/new/{p['id']}").get_data(as_text=True)
    assert "Is this the case you opened?" in page
