"""Documented replies on a real SQLite file: checklists from category and asks (shown
without writing, stored on request), evidence files (and hostile ones), reminders,
related cases, the dossier and the CLI. Drafts are in test_drafts.py, the web layer in
test_replies_web.py."""

from __future__ import annotations

import io
import os
import zipfile
from datetime import timedelta

import pytest
from replies_helpers import NOW, PDF, PNG, _t, add_case, seeded_db

from companion.queue import derive, progress
from companion.queue import rows as queue_rows
from companion.replies import checklists, dossier, drafts, evidence, library, related, reminders
from fixtures.harness import run_caselog


@pytest.fixture
def db(caselog_home):
    return seeded_db(caselog_home)


# --- checklists --------------------------------------------------------------------

def test_checklist_from_asks_and_category(db):
    items = checklists.refresh(db, "10000000001")
    asked = [i for i in items if i["source"] == "ask"]
    assert [i["checklist"] for i in asked][:1] == ["invoices"]
    assert {i["checklist"] for i in asked} == {"invoices", "plan_of_action"}
    inv = next(i for i in asked if i["key"] == "invoices:recent")
    assert inv["sentence"] == ("To proceed, please provide invoices from your supplier dated "
                               "within the last 365 days.")
    poa = next(i for i in asked if i["key"] == "plan_of_action:root_cause")
    assert poa["sentence"] == "We need a plan of action that explains the root cause of the issue."
    # the category (listings) adds its own items without a sentence
    cat = [i for i in items if i["source"] == "category"]
    assert cat and all(i["checklist"] == "listings_brand" and i["sentence"] is None for i in cat)


def test_library_covers_the_issue_topics():
    lib = library.load_library(None)
    texts = {cid: " ".join(i["text"].lower() for i in cl["items"]) for cid, cl in lib.items()}
    assert all(w in texts["plan_of_action"] for w in ("root cause", "corrective", "preventive",
                                                      "asin"))
    assert all(w in texts["invoices"] for w in ("365", "supplier name", "phone", "website",
                                                "pro forma", "unaltered", "quantities"))
    assert all(w in texts["letter_of_authorization"] for w in (
        "licensor", "licensee", "granted", "territory", "duration", "letterhead", "signed"))
    assert all(w in texts["fba_reimbursement"] for w in (
        "shipment id", "ownership", "proof of delivery", "bill of lading", "claim window"))
    assert all(w in texts["listings_brand"] for w in ("trademark", "logo", "product", "packaging"))
    assert all(w in texts["product_safety"] for w in ("certificates", "accredited", "5 years"))


def test_ticks_and_notes_survive_refresh_and_new_asks(db):
    items = checklists.refresh(db, "10000000001")
    first = items[0]
    checklists.set_done(db, "10000000001", first["id"], True)
    checklists.set_note(db, "10000000001", first["id"], "from Acme, March")
    db["messages"].insert({"case_id": "10000000001", "message_key": "late", "sender": "amazon",
                           "sent_at": _t(1), "text": "Please send photos of the packaging."})
    again = checklists.refresh(db, "10000000001")
    kept = next(i for i in again if i["id"] == first["id"])
    assert kept["done"] == 1 and kept["note"] == "from Acme, March"
    photos = [i for i in again if i["ask_kind"] == "photos"]
    assert photos and photos[0]["sentence"] == "Please send photos of the packaging."
    assert checklists.progress(db, ["10000000001"])["10000000001"]["done"] == 1


def _stored(db) -> dict:
    return {t: db[t].count for t in ("case_asks", "asks_scanned", "checklist_items",
                                     "drafts", "draft_revisions")}


def test_list_pages_count_what_the_writers_stored(caselog_home, db):
    """Home and the cases table read progress as stored: by the sync's refresh for cases
    nobody opened, again when a later sync brings a message with a new ask, when a new
    checklist file appears (the library's stamp changed: ``derive.current``) and when the
    person ticks an item. Reading stores nothing itself."""
    assert progress.for_cases(db, ["10000000001"]) == {}  # nothing stored yet
    derive.refresh(db)  # what a sync's save runs
    before = progress.for_cases(db, ["10000000001", "10000000005"])
    assert "10000000005" not in before  # resolved: nothing to prepare
    assert before["10000000001"]["done"] == 0 and before["10000000001"]["total"] >= 5
    kinds = {i["ask_kind"] for i in checklists.items(db, "10000000001")}
    assert {"invoices", "plan_of_action"} <= kinds
    db["messages"].insert({"case_id": "10000000001", "message_key": "synced-later",
                           "sender": "amazon", "sent_at": _t(0.5),
                           "text": "Please provide the safety data sheet for the product."})
    derive.refresh(db, ["10000000001"])
    after = progress.for_cases(db, ["10000000001"])["10000000001"]
    assert after["total"] > before["10000000001"]["total"]
    assert any(i["ask_kind"] == "safety_data_sheet"
               for i in checklists.items(db, "10000000001"))
    # a checklist file added for the case's category shows in the counts too
    user = caselog_home / "checklists"
    user.mkdir()
    (user / "gpsr.toml").write_text('id = "gpsr"\ncategories = ["listings"]\n'
                                    '[[items]]\nid = "eu"\ntext = "EU responsible person"\n')
    stored = _stored(db)
    assert progress.for_cases(db, ["10000000001"]) == {"10000000001": after}  # not yet
    derive.current(db)  # what a page asks first: the library changed
    assert progress.for_cases(db, ["10000000001"])["10000000001"] == {
        "done": 0, "total": after["total"] + 1}
    assert _stored(db)["checklist_items"] == stored["checklist_items"] + 1
    first = checklists.items(db, "10000000001")[0]
    checklists.set_done(db, "10000000001", first["id"], True)
    assert progress.for_cases(db, ["10000000001"])["10000000001"]["done"] == 1


def test_view_is_what_refresh_stores(db):
    """The in-memory checklist (what pages show) and the stored one after ``refresh``
    hold the same items in the same order, with a stale touched item kept in both."""
    lib = library.load_library(None)
    shown = checklists.view(db, "10000000001", lib)
    assert shown and all(i["id"] is None for i in shown)
    stored = checklists.refresh(db, "10000000001", lib)
    keys = ("key", "text", "sentence", "position", "done", "note", "evidence")

    def same(rows):
        return [{k: i[k] for k in keys} for i in rows]

    assert same(shown) == same(stored)
    checklists.set_note(db, "10000000001", stored[0]["id"], "kept")
    smaller = {k: v for k, v in lib.items() if k != stored[0]["checklist"]}
    shown = checklists.view(db, "10000000001", smaller)
    after = checklists.refresh(db, "10000000001", smaller)
    assert same(after) == same(shown) and [i["id"] for i in after] == [i["id"] for i in shown]
    assert shown[-1]["id"] == stored[0]["id"] and shown[-1]["note"] == "kept"


def test_untouched_stale_items_go_touched_ones_stay(db):
    lib = library.load_library(None)
    items = checklists.refresh(db, "10000000001", lib)
    inv = [i for i in items if i["checklist"] == "invoices"]
    checklists.set_done(db, "10000000001", inv[0]["id"], True)
    checklists.set_note(db, "10000000001", inv[1]["id"], "asked the supplier")
    evidence.attach(db, "10000000001", PDF, "x.pdf", item_id=inv[2]["id"])
    smaller = {k: v for k, v in lib.items() if k != "invoices"}
    after = checklists.refresh(db, "10000000001", smaller)
    kept = [i for i in after if i["checklist"] == "invoices"]
    assert [i["id"] for i in kept] == [i["id"] for i in inv[:3]]
    assert after[-3:] == kept  # moved after the current list
    assert len(after) == len(items) - len(inv) + 3


def test_user_checklists_override_and_extend(caselog_home, db):
    user = caselog_home / "checklists"
    user.mkdir()
    (user / "mine.toml").write_text(
        'id = "payments_extra"\ntitle = "Bank proof"\ncategories = ["payments"]\n'
        '[[items]]\nid = "iban"\ntext = "IBAN letter from the bank"\n')
    (user / "inv.toml").write_text(
        'id = "invoices"\nextend = true\n[[items]]\nid = "stamp"\ntext = "Supplier stamp"\n')
    lib = library.load_library(user)
    assert "Supplier stamp" in [i["text"] for i in lib["invoices"]["items"]]
    assert len(lib["invoices"]["items"]) == 7
    items = checklists.refresh(db, "10000000005")
    assert "IBAN letter from the bank" in [i["text"] for i in items]
    (user / "broken.toml").write_text("id = [unclosed")
    with pytest.raises(checklists.ChecklistError, match="broken.toml"):
        library.load_library(user)
    errors: list[str] = []
    assert "invoices" in library.load_library(user, errors)
    assert errors and "broken.toml" in errors[0]


def test_asks_rescanned_when_text_changes(db):
    assert checklists.scan_asks(db, "10000000005") == []
    db.execute("update messages set text = 'Please provide a bank statement.' "
               "where case_id = '10000000005'")
    db.conn.commit()
    assert [a["kind"] for a in checklists.scan_asks(db, "10000000005")] == ["bank_statement"]


# --- evidence ----------------------------------------------------------------------

def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def _files_under(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_attach_list_download_path_and_remove(caselog_home, db):
    items = checklists.refresh(db, "10000000001")
    row = evidence.attach(db, "10000000001", PDF, "invoice März.pdf", item_id=items[0]["id"])
    assert row["name"] == "invoice März.pdf" and row["size"] == len(PDF)
    path = evidence.file_path(row)
    assert path == (caselog_home / "evidence" / row["sha256"][:2] / row["sha256"]).resolve()
    assert path.read_bytes() == PDF
    # the same bytes twice are stored once; removing one keeps the file for the other
    twin = evidence.attach(db, "10000000002", PDF, "copy.pdf")
    assert twin["path"] == row["path"]
    evidence.remove(db, "10000000001", row["id"])
    assert path.exists()
    evidence.remove(db, "10000000002", twin["id"])
    assert not path.exists()
    assert evidence.list_for_case(db, "10000000001") == []
    # office files are sniffed inside the zip; a csv is text
    # the same file on the same item twice is refused with the name it already has
    evidence.attach(db, "10000000001", PDF, "a.pdf")
    with pytest.raises(evidence.EvidenceError, match="already attached as 'a.pdf'"):
        evidence.attach(db, "10000000001", PDF, "b.pdf")
    evidence.remove(db, "10000000001", evidence.list_for_case(db, "10000000001")[0]["id"])
    evidence.attach(db, "10000000001", _docx(), "plan.docx")
    evidence.attach(db, "10000000001", b"sku,qty\nA,3\n", "ledger.csv")
    evidence.attach(db, "10000000001", "Größe;Menge\r\nM;3\r\n".encode("cp1252"), "de.csv")
    evidence.attach(db, "10000000001", "sku\tqty\n".encode("utf-16"), "unicode.txt")
    assert {e["name"] for e in evidence.list_for_case(db, "10000000001")} == {
        "plan.docx", "ledger.csv", "de.csv", "unicode.txt"}


@pytest.mark.parametrize("data,name,message", [
    (b"MZ\x90\x00binary", "invoice.pdf", "content is an unknown"),
    (PNG, "invoice.pdf", "content is png"),
    (PDF, "tool.exe", "type .exe is not allowed"),
    (PDF, "../../etc/passwd", "type .(none) is not allowed"),
    (PDF, "evil\x00.pdf", "NUL byte"),
    (PDF, "../..", "empty"),
    (b"", "empty.pdf", "is empty"),
    (b"PK\x03\x04not really a zip", "plan.docx", "unknown or disallowed"),
    (b"\x00\x01\x02 binary", "notes.txt", "unknown or disallowed"),
])
def test_bad_files_are_refused_and_nothing_is_written(caselog_home, db, data, name, message):
    before = _files_under(caselog_home.parent)
    with pytest.raises(evidence.EvidenceError, match=message.replace("(", r"\(")
                       .replace(")", r"\)")):
        evidence.attach(db, "10000000001", data, name)
    after = _files_under(caselog_home.parent)
    assert [p for p in after if p not in before and "caselog.db" not in p.name] == []


def test_oversized_is_refused_while_copying(caselog_home, db):
    class Endless(io.RawIOBase):
        """A stream far bigger than the cap; attach must stop reading early."""
        read_bytes = 0

        def read(self, n=-1):
            self.read_bytes += n
            return b"%PDF-" + b"x" * (n - 5)

    src = Endless()
    with pytest.raises(evidence.EvidenceError, match="larger than the 1 MB limit"):
        evidence.attach(db, "10000000001", src, "huge.pdf", limit=1024 * 1024)
    assert src.read_bytes <= 3 * 1024 * 1024
    assert [p for p in (caselog_home / "evidence").rglob("*") if p.is_file()] == []


def test_hostile_names_become_safe_display_names(caselog_home, db):
    row = evidence.attach(db, "10000000001", PDF + b"0", "../../../../tmp/evil.pdf")
    assert row["name"] == "evil.pdf"
    row = evidence.attach(db, "10000000001", PDF + b"1", "..\\..\\windows\\evil2.pdf")
    assert row["name"] == "evil2.pdf"
    row = evidence.attach(db, "10000000001", PDF + b"2", "a\u202eb\tc\nd.pdf")  # bidi/control chars
    assert row["name"] == "abcd.pdf"
    row = evidence.attach(db, "10000000001", PDF + b"3", "x" * 5000 + ".pdf")
    assert len(row["name"]) <= evidence.MAX_NAME and row["name"].endswith(".pdf")
    row = evidence.attach(db, "10000000001", PDF + b"4", "請求書_2026 🧾.pdf")
    assert row["name"] == "請求書_2026 🧾.pdf"
    assert not (caselog_home.parent / "tmp").exists()
    for e in evidence.list_for_case(db, "10000000001"):
        assert evidence.file_path(e).is_relative_to((caselog_home / "evidence").resolve())
    # a tampered row cannot turn a download into reading another file
    bad = {**row, "path": "../../etc/passwd"}
    with pytest.raises(evidence.EvidenceError):
        evidence.file_path(bad)


# --- reminders -----------------------------------------------------------------------

def test_due_and_overdue_with_category_settings(caselog_home, db):
    lists = reminders.due(db, now=NOW)
    overdue = {r["case_id"]: r for r in lists["overdue"]}
    # waiting on the seller since Amazon asked 2 days ago: due after 3 days, not yet
    assert "10000000001" not in overdue
    assert "10000000001" in [r["case_id"] for r in lists["due"]]
    # waiting on Amazon since the seller wrote 12 days ago: follow-up after 7, overdue
    assert overdue["10000000002"]["kind"] == "follow_up"
    assert overdue["10000000002"]["days_overdue"] == 5
    (caselog_home / "replies.toml").write_text(
        '[defaults]\nanswer_within_days = 1\n[categories."fba inventory"]\n'
        'follow_up_after_days = 20\n')
    lists = reminders.due(db, now=NOW)
    overdue = {r["case_id"] for r in lists["overdue"]}
    assert "10000000001" in overdue and "10000000002" not in overdue
    (caselog_home / "replies.toml").write_text('[defaults]\nanswer_within_days = "soon"\n')
    with pytest.raises(reminders.ConfigError, match="whole number"):
        reminders.load_config()


@pytest.mark.parametrize("text,days", [
    ("Important: Please reply within 1 day.", 1),
    ("You must respond within 2 business days.", 3),
    ("Please reply within 30 days.", 3),          # the seller's own 3 days come first
    ("We will reply within 1 day.", 3),           # Amazon's promise, not a deadline
])
def test_amazons_stated_deadline(db, text, days):
    db["messages"].insert({"case_id": "10000000004", "message_key": "dl", "sender": "amazon",
                           "sent_at": _t(0.5), "text": text})
    rem = reminders.for_cases(db, ["10000000004"], now=NOW)["10000000004"]
    assert rem["due_at"] == reminders.iso(NOW - timedelta(days=0.5) + timedelta(days=days))


def test_marking_a_draft_sent_moves_the_follow_up(db):
    before = reminders.for_cases(db, ["10000000002"], now=NOW)["10000000002"]
    d = drafts.ensure(db, "10000000002")
    drafts.save(db, "10000000002", d["id"], drafts.PLACEHOLDER.sub("Jane", d["body"]))
    drafts.mark_sent(db, "10000000002", d["id"])
    after = reminders.for_cases(db, ["10000000002"])["10000000002"]
    assert after["due_at"] > before["due_at"]


# --- related and dossier ---------------------------------------------------------------

def test_related_by_asin_and_shipment(db):
    rel = related.find(db, "10000000001")
    by_id = {r["case_id"]: r for r in rel}
    assert "same ASIN B0ABCDEFGH" in by_id["10000000003"]["reasons"]
    assert by_id["10000000003"]["earlier"] is True
    assert "10000000005" not in by_id
    add_case(db, "10000000009", "Another question", "Closed", "FBA",
             [("seller", 80, "About FBA15XK2LM9 again, order 113-1234567-7654321.")])
    rel2 = {r["case_id"]: r for r in related.find(db, "10000000002")}
    assert "same shipment FBA15XK2LM9" in rel2["10000000009"]["reasons"]
    rel3 = {r["case_id"]: r for r in related.find(db, "10000000001")}
    assert "same order 113-1234567-7654321" in rel3["10000000009"]["reasons"]
    add_case(db, "10000000010", "Units gone", "Resolved", "FBA",
             [("seller", 100, "Our shipment was delivered on Monday, but 40 units are missing "
                              "from the inventory.")])
    add_case(db, "10000000011", "Other", "Resolved", "FBA",
             [("seller", 100, "The shipment label was missing.")])
    rel4 = {r["case_id"]: r for r in related.find(db, "10000000002")}
    assert rel4["10000000010"]["reasons"] == ["similar first message"]
    assert "10000000011" not in rel4


def test_dossier_is_self_contained_and_inert(caselog_home, db):
    db["messages"].insert({"case_id": "10000000001", "message_key": "x", "sender": "amazon",
                           "sent_at": _t(1.5), "text": "hostile",
                           "html": "<p>ok</p><script>alert(1)</script><img src=http://x/y "
                                   "onerror=alert(2)><a href='javascript:alert(3)'>l</a>"})
    items = checklists.refresh(db, "10000000001")
    ev = evidence.attach(db, "10000000001", PDF, "inv.pdf", item_id=items[0]["id"])
    html = dossier.build(db, "10000000001")
    assert ev["sha256"] in html and "inv.pdf" in html
    assert "To proceed, please provide invoices" in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert "<img" not in html and "Content-Security-Policy" in html
    assert "<p>ok</p>" in html and "Next draft" in html and "[your name" in html


def test_cli_dossier_checklist_draft(caselog_home, db):
    db.conn.commit()
    env = {"CASELOG_HOME": str(caselog_home)}
    out = caselog_home / "d.html"
    r = run_caselog("dossier", "10000000001", "-o", str(out), env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Case 10000000001" in out.read_text()
    r = run_caselog("checklist", "10000000001", env=env, timeout=60)
    assert r.returncode == 0 and 'Amazon asked: "To proceed, please provide invoices' in r.stdout
    r = run_caselog("draft", "10000000001", "--ready", env=env, timeout=60)
    assert r.returncode == 1 and "fill in the placeholders" in r.stderr
    r = run_caselog("dossier", "99999999999", env=env, timeout=60)
    assert r.returncode == 1 and "no case 99999999999" in r.stderr
    assert os.path.exists(out)




def test_two_databases_in_one_process_each_show_what_was_stored_for_them(tmp_path):
    """Progress, related cases and home's queue are stored in each database (or read
    from it), so two databases that differ only by updated rows (same lengths, same row
    ids) show their own state once the writer refreshed what follows from them."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = seeded_db(tmp_path / "a"), seeded_db(tmp_path / "b")
    ids = ["10000000001", "10000000002"]
    derive.refresh(a)
    derive.refresh(b)
    first = (progress.for_cases(a, ids), related.for_case(a, "10000000001"),
             set(queue_rows.deadlines(a, NOW)))
    assert "10000000003" in {r["case_id"] for r in first[1]}
    assert "10000000002" in first[2]
    with b.conn:
        # same lengths, same row ids: Amazon asked for something else, the closed case
        # names another ASIN, the case waiting on Amazon was resolved
        b.execute("update messages set text = replace(text, 'invoices', 'cheeses!') "
                  "where case_id = '10000000001'")
        b.execute("update messages set text = replace(text, 'B0ABCDEFGH', 'B0ZZZZZZZZ'), "
                  "html = null where case_id = '10000000003'")
        b.execute("update cases set subject = replace(subject, 'B0ABCDEFGH', 'B0ZZZZZZZZ') "
                  "where case_id = '10000000003'")
        b.execute("update cases set status = 'Resolved' where case_id = '10000000002'")
    derive.refresh(b, ids + ["10000000003"])
    assert progress.for_cases(b, ids)["10000000001"]["total"] < \
        first[0]["10000000001"]["total"]
    assert "10000000003" not in {r["case_id"] for r in related.for_case(b, "10000000001")}
    assert "10000000002" not in queue_rows.deadlines(b, NOW)
    # and the first database still shows its own
    assert progress.for_cases(a, ids) == first[0]
    assert related.for_case(a, "10000000001") == first[1]
    assert set(queue_rows.deadlines(a, NOW)) == first[2]
