"""Preparing a new case, on a real SQLite file: the topic library (built-ins, the
person's files overriding and extending them, bad files named and skipped), the
prepared case's storage (revisions, placeholders, files, attaching to a case, surviving
a rebuild of the cases), the dossier, and the pages through Flask's test client (no GET
writes, no 500). The warn and offer rules are ``test_newcase_rules.py``; the whole way
in a real browser is ``test_newcase_browser.py``."""

from __future__ import annotations

import io
import re

import pytest
from replies_helpers import NOW, PDF, PNG, add_case, seeded_db, web_client

from companion.newcase import dossier as prepared_dossier
from companion.newcase import pages as newcase
from companion.newcase import prepared, topics
from companion.queue import derive
from companion.replies import checklists, dossier, evidence


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


def test_the_documented_example_file_works_as_written(caselog_home):
    guide = (topics.BUILTIN_DIR.parents[3] / "docs" / "REPLIES.md").read_text()
    block = guide.split("### Your own topics")[1].split("A topic needs")[0]
    example = "\n".join(line[4:] for line in block.splitlines() if line.startswith("    "))
    _user_topic(caselog_home, "gpsr_de.toml", example)
    problems: list[str] = []
    topic = topics.library(problems)["gpsr_de"]
    assert problems == [] and topic["evidence"][0]["id"] == "label"
    subject, body = prepared.render(topic, "B0ABCDEFGH")
    assert subject == "GPSR information for B0ABCDEFGH"
    assert "[a fact caselog cannot know]" in body and "[your name]" in body


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
    html = prepared_dossier.build(db, p["id"], topics.get("fba_inbound_shortage"))
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
    derive.refresh(db)  # what the sync that stored these cases ran
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
