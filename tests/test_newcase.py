"""Preparing a new case, on a real SQLite file: the topic library (built-ins, the
person's files overriding and extending them, bad files named and skipped), the
warn and attach-offer rules table by table, the prepared case's storage (revisions,
placeholders, files, attaching to a case, surviving a rebuild of the cases), the
dossier, and the pages through Flask's test client (no GET writes, no 500). The whole
way in a real browser is ``test_newcase_browser.py``."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from replies_helpers import NOW, PDF, PNG, add_case, seeded_db, web_client

from companion.replies import checklists, dossier, evidence, matching, newcase, prepared, topics

TOPIC = {"id": "t", "title": "Inbound", "category": "FBA Inventory and Reimbursement",
         "categories": ["fba"], "keywords": ["shipment"], "needs": [], "evidence": []}


@pytest.fixture
def db(caselog_home):
    return seeded_db(caselog_home)


@pytest.fixture
def client(caselog_home, db):
    return web_client(caselog_home, db)


def _user_topic(home, name: str, text: str):
    (home / "topics").mkdir(exist_ok=True)
    (home / "topics" / name).write_text(text, encoding="utf-8")


# --- the topic library -------------------------------------------------------------

def test_builtin_topics_cover_the_common_cases_and_each_renders_with_placeholders():
    lib = topics.load_library()
    assert len(lib) >= 15
    cats = {t["category"] for t in lib.values()}
    assert cats == {"Account Health", "Listings and Catalog", "FBA Inventory and Reimbursement",
                    "Brand Registry and IP", "Payments", "Product Safety and Compliance",
                    "Orders and Shipping"}
    for want in ("listing_suppressed", "authenticity_complaint", "condition_complaint",
                 "fba_lost_damaged", "fba_inbound_shortage", "policy_violation",
                 "brand_infringement_report", "disbursement_hold", "compliance_documents"):
        assert want in lib
    for topic in lib.values():
        assert topic["needs"] and topic["evidence"] and topic["keywords"], topic["id"]
        subject, body = prepared.render({**topic, "builtin": True})
        assert "[" in body and body.endswith("\n") and subject, topic["id"]
        assert "{{" not in body and "{%" not in body


def test_identifiers_given_fill_the_template(caselog_home):
    topic = topics.get("fba_inbound_shortage")
    subject, body = prepared.render(topic, "our shipment FBA15XK2LM9, please")
    assert "FBA15XK2LM9" in subject and "FBA15XK2LM9" in body
    assert "[shipment ID]" not in body
    (caselog_home / "replies.toml").write_text('[seller]\nname = "Jane Doe, Acme GmbH"\n')
    _, body = prepared.render(topic, related=[{"case_id": "10000000002"}])
    assert "Jane Doe, Acme GmbH" in body and "Related cases: 10000000002." in body


def test_a_user_topic_adds_replaces_or_extends(caselog_home):
    _user_topic(caselog_home, "gpsr_de.toml", """
id = "gpsr_de"
title = "GPSR for Germany"
category = "Product Safety and Compliance"
keywords = ["gpsr"]
template = "Hallo, {{ ph('ASIN') }}"
[[evidence]]
text = "Label photo"
""")
    _user_topic(caselog_home, "chargeback.toml", """
id = "chargeback"
title = "Chargeback (our way)"
category = "Orders and Shipping"
template = "Our own chargeback text {{ ph('order') }}"
""")
    _user_topic(caselog_home, "more_fba.toml", """
id = "fba_lost_damaged"
extend = true
title = "Lost or damaged in the warehouse"
keywords = ["Verloren"]
[[evidence]]
id = "ledger"
text = "Ledger rows, as CSV"
[[evidence]]
id = "photos"
text = "Photos of the damage, if we have them"
""")
    problems: list[str] = []
    lib = topics.library(problems)
    assert problems == []
    assert lib["gpsr_de"]["builtin"] is False and lib["gpsr_de"]["categories"] == [
        "product safety and compliance"]
    assert lib["gpsr_de"]["evidence"] == [{"id": "item1", "text": "Label photo", "help": ""}]
    assert lib["chargeback"]["title"] == "Chargeback (our way)"
    assert lib["chargeback"]["evidence"] == [] and lib["chargeback"]["keywords"] == []
    fba = lib["fba_lost_damaged"]
    assert fba["title"] == "Lost or damaged in the warehouse"
    assert fba["template"] == topics.load_library()["fba_lost_damaged"]["template"]
    assert "verloren" in fba["keywords"] and "lost" in fba["keywords"]
    texts = {e["id"]: e["text"] for e in fba["evidence"]}
    assert texts["ledger"] == "Ledger rows, as CSV" and "photos" in texts and "invoice" in texts
    assert prepared.render(lib["gpsr_de"])[1] == "Hallo, [ASIN]\n"  # isolated render


@pytest.mark.parametrize("name,text,says", [
    ("broken.toml", "id = \"x\"\ntitle = ", "broken.toml: cannot read topic file"),
    ("badid.toml", 'id = "no spaces"\n', "badid.toml: id must be letters"),
    ("needs.toml", 'id = "n"\ntitle = "T"\ncategory = "C"\ntemplate = "x"\nneeds = "one"\n',
     "needs.toml: needs must be a list of strings"),
    ("ev.toml", 'id = "e"\ntitle = "T"\ncategory = "C"\ntemplate = "x"\n[[evidence]]\nid = "a"\n',
     "ev.toml: evidence item 1 needs a text"),
    ("half.toml", 'id = "h"\ntitle = "T"\n', "half.toml: a topic needs category, template"),
    ("ext.toml", 'id = "nobody"\nextend = true\ntitle = "T"\n',
     "ext.toml: extend = true, but no topic has the id 'nobody'"),
    ("jinja.toml", 'id = "j"\ntitle = "T"\ncategory = "C"\ntemplate = "{% if %}"\n',
     "jinja.toml: template, line 1:"),
    ("title.toml", 'id = "ti"\ntitle = 3\n', "title.toml: title must be a string"),
])
def test_a_bad_topic_file_is_named_and_skipped(caselog_home, client, name, text, says):
    _user_topic(caselog_home, "good.toml", 'id = "good"\ntitle = "Good one"\n'
                'category = "Payments"\ntemplate = "x"\n')
    _user_topic(caselog_home, name, text)
    problems: list[str] = []
    lib = topics.library(problems)
    assert len(problems) == 1 and problems[0].startswith(says), problems
    assert "good" in lib and "authenticity_complaint" in lib  # the rest stays usable
    with pytest.raises(topics.TopicError, match=re.escape(name)):
        topics.load_library(caselog_home / "topics")
    page = client.get("/cases/new")
    assert page.status_code == 200
    assert says.replace("'", "&#39;") in page.get_data(as_text=True)


def test_non_utf8_and_duplicate_user_ids_are_problems_too(caselog_home):
    (caselog_home / "topics").mkdir()
    (caselog_home / "topics" / "latin1.toml").write_bytes(b'title = "Gr\xfc\xdfe"\n')
    _user_topic(caselog_home, "a.toml", 'id = "same"\ntitle = "A"\ncategory = "C"\n'
                'template = "x"\n')
    _user_topic(caselog_home, "b.toml", 'id = "same"\ntitle = "B"\ncategory = "C"\n'
                'template = "x"\n')
    problems: list[str] = []
    lib = topics.library(problems)
    assert any(p.startswith("latin1.toml: cannot read") for p in problems)
    assert "b.toml: the topic id 'same' is already defined in a.toml" in problems
    assert lib["same"]["title"] == "A"


def test_unknown_topic_is_a_404_with_the_list_not_a_500(client):
    r = client.get("/cases/new?topic=nope")
    assert r.status_code == 404 and "There is no topic" in r.get_data(as_text=True)
    assert client.get("/cases/new?topic=%00&ids=" + "x" * 5000).status_code in (200, 404)


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


# --- the prepared case ------------------------------------------------------------

def test_prepare_store_revise_and_ready(db, caselog_home):
    p = newcase.prepare(db, "listing_suppressed", "B0ABCDEFGH", now=NOW)
    assert p["revision"] == 1 and p["state"] == "draft" and p["topic"] == "listing_suppressed"
    assert "B0ABCDEFGH" in p["subject"] and "Related cases: 10000000001." in p["description"]
    assert [i["key"] for i in prepared.items(db, p["id"])] == ["reason", "report"]
    with pytest.raises(prepared.PreparedError, match="fill in the placeholders first"):
        prepared.mark_ready(db, p["id"])
    body = prepared.drafts.PLACEHOLDER.sub("x", p["description"])
    prepared.save(db, p["id"], p["subject"], body + "\n[note to self]")
    with pytest.raises(prepared.PreparedError, match="square brackets you typed"):
        prepared.mark_ready(db, p["id"])
    prepared.save(db, p["id"], p["subject"], body)
    assert prepared.mark_ready(db, p["id"])["state"] == "ready"
    assert prepared.save(db, p["id"], p["subject"] + " again", None)["state"] == "draft"
    assert [h["source"] for h in prepared.history(db, p["id"])] == [
        "edited", "edited", "edited", "generated"]


def test_files_checked_kept_once_and_removed(db, caselog_home):
    p = newcase.prepare(db, "fba_inbound_shortage")
    row = prepared.add_file(db, p["id"], PDF, "pod.pdf", "pod")
    assert row["sha256"] and (caselog_home / row["path"]).read_bytes() == PDF
    with pytest.raises(evidence.EvidenceError, match="already attached"):
        prepared.add_file(db, p["id"], PDF, "again.pdf", "pod")
    with pytest.raises(evidence.EvidenceError, match="content is png"):
        prepared.add_file(db, p["id"], PNG, "fake.pdf")
    with pytest.raises(prepared.PreparedError, match="not on this preparation"):
        prepared.add_file(db, p["id"], PDF, "x.pdf", "nope")
    evidence.attach(db, "10000000001", PDF, "same.pdf")  # the bytes used by a case too
    prepared.remove_file(db, p["id"], row["id"])
    assert (caselog_home / row["path"]).exists()
    other = prepared.add_file(db, p["id"], PNG, "photo.png")
    prepared.remove_file(db, p["id"], other["id"])
    assert not (caselog_home / other["path"]).exists()


def test_attach_moves_the_work_onto_the_case_and_survives_a_rebuild(db, caselog_home):
    p = newcase.prepare(db, "fba_inbound_shortage")
    prepared.set_done(db, p["id"], "pod", True)
    f = prepared.add_file(db, p["id"], PDF, "pod.pdf", "pod")
    prepared.add_file(db, p["id"], PNG, "photo.png")
    prepared.attach_to_case(db, p["id"], "10000000002")
    items = {i["key"]: i for i in checklists.view(db, "10000000002")}
    pod = items[f"prepared:{p['id']}:pod"]
    assert pod["done"] == 1 and pod["checklist_title"] == (
        "Prepared: Inbound FBA shipment received with units missing")
    assert [e["name"] for e in pod["evidence"]] == ["pod.pdf"]
    assert checklists.view(db, "10000000002")[0]["key"].startswith("prepared:")  # first
    assert [e["name"] for e in evidence.list_for_case(db, "10000000002")] == [
        "pod.pdf", "photo.png"]
    assert prepared.files(db, p["id"]) == []
    assert (caselog_home / f["path"]).exists()
    with pytest.raises(prepared.PreparedError, match="attached to case 10000000002"):
        prepared.save(db, p["id"], "x", "y")
    second = newcase.prepare(db, "fba_inbound_shortage")
    with pytest.raises(prepared.PreparedError, match="already holds prepared case"):
        prepared.attach_to_case(db, second["id"], "10000000002")
    with pytest.raises(prepared.PreparedError, match="no case 99"):
        prepared.attach_to_case(db, second["id"], "99")
    # caselog reparse deletes and rebuilds the cases: the work stays keyed by case id
    with db.conn:
        db.execute("delete from messages")
        db.execute("delete from cases")
    assert prepared.for_case(db, "10000000002")[0]["id"] == p["id"]
    add_case(db, "10000000002", "Lost inventory", "PendingAmazonAction", "FBA", [])
    assert f"prepared:{p['id']}:pod" in {i["key"] for i in checklists.view(db, "10000000002")}
    assert "Prepared in caselog before the case was opened" in dossier.build(db, "10000000002")


def test_discard_lets_the_files_go(db, caselog_home):
    p = newcase.prepare(db, "chargeback")
    f = prepared.add_file(db, p["id"], PDF, "pod.pdf", "pod")
    assert prepared.discard(db, p["id"])["state"] == "discarded"
    assert not (caselog_home / f["path"]).exists()
    assert prepared.open_list(db) == []


def test_prepared_dossier_is_self_contained(db):
    p = newcase.prepare(db, "fba_inbound_shortage", "FBA15XK2LM9")
    prepared.save(db, p["id"], p["subject"], p["description"] + "\n<script>alert(1)</script>")
    f = prepared.add_file(db, p["id"], PDF, "pod <b>.pdf", "pod")
    html = dossier.build_prepared(db, p["id"], topics.get("fba_inbound_shortage"))
    assert "FBA15XK2LM9" in html and f["sha256"] in html and "pod &lt;b&gt;.pdf" in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "What Amazon needs to decide it" in html and "default-src 'none'" in html
    assert not re.search(r"(src|href)=['\"]?https?:", html)


# --- the pages --------------------------------------------------------------------

def _dump(db) -> list[str]:
    return list(db.conn.iterdump())


def _token(client, url="/cases/new?topic=chargeback") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_pages_read_only_on_get_and_act_on_post(client, db):
    token = _token(client, "/cases/new?topic=fba_inbound_shortage")
    r = client.post("/cases/new", data={"csrf_token": token, "topic": "fba_inbound_shortage",
                                        "ids": "FBA15XK2LM9"})
    assert r.status_code == 303
    pid = int(r.headers["Location"].rsplit("/", 1)[1])
    r = client.post(f"/cases/new/{pid}/files", data={
        "csrf_token": token, "item": "pod", "file": (io.BytesIO(PDF), "pod.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 303
    fid = prepared.files(db, pid)[0]["id"]
    before = _dump(db)
    for url in ("/cases/new", "/cases/new?topic=fba_inbound_shortage&ids=FBA15XK2LM9",
                f"/cases/new/{pid}", f"/cases/new/{pid}/dossier",
                f"/cases/new/{pid}/files/{fid}", "/cases/10000000002", "/"):
        assert client.get(url).status_code == 200, url
    assert client.get(f"/cases/new/{pid + 99}").status_code == 404
    assert client.get(f"/cases/new/{pid}/files/{fid + 99}").status_code == 404
    assert _dump(db) == before
    page = client.get("/cases/new?topic=fba_inbound_shortage&ids=FBA15XK2LM9")
    html = page.get_data(as_text=True)
    assert 'data-testid="duplicate" data-case="10000000002"' in html
    assert 'href="/cases/10000000002"' in html and "Prepare a new case anyway" in html
    r = client.post(f"/cases/new/{pid}/ready", data={"csrf_token": token})
    assert "cannot mark ready" in client.get(r.headers["Location"]).get_data(as_text=True)
    r = client.post(f"/cases/new/{pid}/attach", data={"csrf_token": token,
                                                       "case_id": "10000000002"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/cases/10000000002#prepared")
    case = client.get("/cases/10000000002").get_data(as_text=True)
    assert 'data-testid="prepared-on-case"' in case and "pod.pdf" in case
    assert client.post(f"/cases/new/{pid}/save", data={"csrf_token": token,
                                                       "description": "x"}).status_code == 303
    assert client.post("/cases/new/999/save", data={"csrf_token": token}).status_code == 404


def test_bad_form_values_are_messages(client, db):
    token = _token(client)
    r = client.post("/cases/new", data={"csrf_token": token, "topic": "nope"})
    assert r.status_code == 303
    assert "no topic" in client.get(r.headers["Location"]).get_data(as_text=True)
    p = newcase.prepare(db, "chargeback")
    for path, data in (("files", {}), ("done", {"item": "nope"}), ("attach", {"case_id": "x"}),
                       ("files/5/remove", {})):
        r = client.post(f"/cases/new/{p['id']}/{path}", data={"csrf_token": token, **data})
        assert r.status_code == 303, path
        assert "alert" in client.get(r.headers["Location"]).get_data(as_text=True), path


def test_prepared_page_lists_and_offers(client, db):
    p = _offer_db(db)
    html = client.get("/cases/new").get_data(as_text=True)
    assert "Prepared, not yet opened in Seller Central" in html
    assert 'data-testid="attach-offer" data-case="30000000001"' in html
    assert f'action="/cases/new/{p["id"]}/attach"' in html
    page = client.get(f"/cases/new/{p['id']}").get_data(as_text=True)
    assert "Is this the case you opened?" in page
