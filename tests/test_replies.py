"""Documented replies on a real SQLite file: checklists from category and asks, evidence
files (and hostile ones), drafts and their sandbox, reminders, related cases, dossier."""

from __future__ import annotations

import io
import os
import time
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from companion.replies import (
    checklists,
    dossier,
    drafts,
    evidence,
    library,
    progress,
    related,
    reminders,
)
from companion.replies.sandbox import DraftTemplateError
from companion.schema import open_db
from fixtures.harness import run_caselog

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ASKING = ("Hello from Amazon Selling Partner Support,\nWe reviewed your appeal.\nTo proceed, "
          "please provide invoices from your supplier dated within the last 365 days. We need a "
          "plan of action that explains the root cause of the issue.\nBest regards,\nAmazon")


def _t(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_case(db, case_id, subject, status, category, messages, created=None):
    db["cases"].insert({"case_id": case_id, "subject": subject, "status": status,
                        "category": category, "created_at": created or _t(30),
                        "can_reopen": 1})
    for n, (sender, days_ago, text) in enumerate(messages):
        db["messages"].insert({"case_id": case_id, "message_key": f"{case_id}-{n}",
                               "sender": sender, "sent_at": _t(days_ago), "text": text,
                               "html": text.replace("\n", "<br>")})


@pytest.fixture
def db(caselog_home):
    conn = open_db(caselog_home / "caselog.db")
    add_case(conn, "10000000001", "Appeal: listing deactivated for B0ABCDEFGH",
             "PendingMerchantAction", "Listings and Catalog",
             [("seller", 10, "Our listing B0ABCDEFGH was removed, order 113-1234567-7654321."),
              ("amazon", 2, ASKING)])
    add_case(conn, "10000000002", "Lost inventory in shipment FBA15XK2LM9",
             "PendingAmazonAction", "FBA Inventory and Reimbursement",
             [("seller", 12, "Shipment FBA15XK2LM9 was delivered but units are missing.")],
             created=_t(40))
    add_case(conn, "10000000003", "Listing deactivated again for B0ABCDEFGH",
             "Closed", "Listings and Catalog",
             [("seller", 60, "Again B0ABCDEFGH."), ("amazon", 3, "This case is closed.")],
             created=_t(90))
    add_case(conn, "10000000004", "Request to reinstate selling privileges",
             "PendingMerchantAction", "Account Health",
             [("amazon", 1, "Your appeal must include a Plan of Action: (1) the root cause, (2) "
               "the actions you took. Please send copies of invoices from the last 365 days.")])
    add_case(conn, "10000000005", "Disbursement on hold", "Resolved", "Payments",
             [("amazon", 5, "Your disbursement has been released.")])
    return conn


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


def test_list_pages_count_cases_never_opened_and_new_asks_after_a_sync(caselog_home, db):
    """Home and the cases table show progress without anyone opening the case page, and
    without writing (the counts are computed); a message a later sync brings (with a new
    ask), a tick and a new checklist file change the counts there too, and what
    ``refresh_after_sync`` stores is what the pages counted."""
    nothing = _stored(db)
    before = progress.for_cases(db, ["10000000001", "10000000005"])
    assert "10000000005" not in before  # resolved: nothing to prepare
    assert before["10000000001"]["done"] == 0 and before["10000000001"]["total"] >= 5
    kinds = {i["ask_kind"] for i in checklists.view(db, "10000000001")}
    assert {"invoices", "plan_of_action"} <= kinds
    db["messages"].insert({"case_id": "10000000001", "message_key": "synced-later",
                           "sender": "amazon", "sent_at": _t(0.5),
                           "text": "Please provide the safety data sheet for the product."})
    after = progress.for_cases(db, ["10000000001"])["10000000001"]
    assert after["total"] > before["10000000001"]["total"]
    assert any(i["ask_kind"] == "safety_data_sheet" for i in checklists.view(db, "10000000001"))
    assert _stored(db) == nothing
    # a checklist file added for the case's category shows in the counts too
    user = caselog_home / "checklists"
    user.mkdir()
    (user / "gpsr.toml").write_text('id = "gpsr"\ncategories = ["listings"]\n'
                                    '[[items]]\nid = "eu"\ntext = "EU responsible person"\n')
    assert progress.for_cases(db, ["10000000001"])["10000000001"] == {
        "done": 0, "total": after["total"] + 1}
    assert _stored(db) == nothing
    # storing them (after a sync, or on the person's first act) changes no count
    assert checklists.refresh_after_sync(db) == 3  # the open cases
    stored = checklists.progress(db, ["10000000001"])
    assert stored == progress.for_cases(db, ["10000000001"])
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

PDF = b"%PDF-1.4\n%test\n1 0 obj<<>>endobj\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


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


# --- drafts --------------------------------------------------------------------------

def test_asked_draft_answers_each_ask_in_order_with_evidence(db):
    items = checklists.refresh(db, "10000000001")
    inv = next(i for i in items if i["key"] == "invoices:recent")
    evidence.attach(db, "10000000001", PDF, "invoice-acme.pdf", item_id=inv["id"])
    d = drafts.ensure(db, "10000000001")
    assert d["situation"] == "asked" and d["revision"] == 1
    body = d["body"]
    assert body.index("1. Invoices") < body.index("2. Plan of action")
    assert "Please find attached: invoice-acme.pdf." in body
    assert "[attach plan of action, or explain why it is not available]" in body
    assert "10000000001" in body


def test_an_ask_repeated_in_two_messages_is_answered_once(db):
    db["messages"].insert({"case_id": "10000000001", "message_key": "again",
                           "sender": "amazon", "sent_at": _t(1),
                           "text": "Please send copies of invoices or receipts."})
    _, _, body = drafts.render(db, "10000000001", now=NOW)
    assert body.count("Invoices\nYou asked:") == 1 and "2. Plan of action" in body


def test_placeholders_block_ready_and_sent_then_history_and_event(db):
    d = drafts.ensure(db, "10000000001")
    with pytest.raises(drafts.DraftError, match="fill in the placeholders"):
        drafts.mark_ready(db, "10000000001", d["id"])
    with pytest.raises(drafts.DraftError, match="placeholders"):
        drafts.mark_sent(db, "10000000001", d["id"])
    filled = drafts.PLACEHOLDER.sub("done", d["body"])
    d2 = drafts.save(db, "10000000001", d["id"], filled)
    assert d2["revision"] == 2
    assert [r["source"] for r in drafts.history(db, d["id"])] == ["edited", "generated"]
    assert drafts.mark_ready(db, "10000000001", d["id"])["state"] == "ready"
    sent = drafts.mark_sent(db, "10000000001", d["id"])
    assert sent["state"] == "sent" and sent["sent_at"]
    kinds = [e["kind"] for e in drafts.events(db, "10000000001")]
    assert "draft_sent" in kinds and "draft_ready" in kinds
    with pytest.raises(drafts.DraftError):
        drafts.save(db, "10000000001", d["id"], "more")
    # the next draft is a new one
    assert drafts.ensure(db, "10000000001")["id"] != d["id"]


def test_typed_square_brackets_block_with_a_message_that_says_so(db, client):
    """Text a person types in [brackets] is not silently accepted (it may be a note to
    self), but the refusal names it apart from the template's placeholders and says how
    to keep a bracket on purpose."""
    d = drafts.ensure(db, "10000000001")
    template_ph = drafts.placeholders(d["body"])
    assert template_ph
    edited = drafts.PLACEHOLDER.sub("done", d["body"]) + "\nSee page 2 [sic].\n"
    edited = edited.replace("done", template_ph[0], 1)  # one template placeholder left
    d = drafts.save(db, "10000000001", d["id"], edited)
    assert drafts.split_placeholders(db, d) == ([template_ph[0]], ["[sic]"])
    with pytest.raises(drafts.DraftError) as exc:
        drafts.mark_ready(db, "10000000001", d["id"])
    msg = str(exc.value)
    assert f"fill in the placeholders first: {template_ph[0]}" in msg
    assert "square brackets you typed: [sic]" in msg and "round brackets" in msg
    page = client.get("/cases/10000000001").get_data(as_text=True)
    assert 'data-testid="typed-brackets"' in page and "[sic]" in page
    d = drafts.save(db, "10000000001", d["id"],
                    drafts.PLACEHOLDER.sub("done", edited) + "See page 2 (sic).\n")
    assert drafts.split_placeholders(db, d) == ([], [])
    assert drafts.mark_ready(db, "10000000001", d["id"])["state"] == "ready"


def test_follow_up_names_case_and_last_message_and_escalates(db):
    ctx = drafts.context(db, "10000000002", now=NOW)
    assert ctx["situation"] == "follow_up" and ctx["days_waiting"] == 12
    _, _, body = drafts.render(db, "10000000002", now=NOW)
    assert "10000000002" in body and "March 8, 2026" in body
    assert "escalate" not in body
    for n in range(2):  # two more seller messages without an answer
        db["messages"].insert({"case_id": "10000000002", "message_key": f"f{n}",
                               "sender": "seller", "sent_at": _t(11 - n * 4), "text": "Any news?"})
    _, _, body = drafts.render(db, "10000000002", now=NOW)
    assert "escalate this case" in body
    assert "we have not received an answer since" in body
    assert any("escalation" in n for n in drafts.notes(drafts.context(db, "10000000002", NOW)))
    # once Amazon wrote after the seller, the draft must not claim it never answered
    db["messages"].insert({"case_id": "10000000002", "message_key": "a1", "sender": "amazon",
                           "sent_at": _t(2), "text": "We are still investigating."})
    _, _, body = drafts.render(db, "10000000002", now=NOW)
    assert "not received an answer" not in body
    assert "We last heard from you on March 18, 2026" in body


def _saw_closing(db, last_saw_open_days_ago: float, saw_closed_days_ago: float) -> None:
    """Case 10000000003 seen open by one sync and closed by the next."""
    for sid, ago, status, prev in ((1, last_saw_open_days_ago, "PendingAmazonAction", None),
                                   (2, saw_closed_days_ago, "Closed", "PendingAmazonAction")):
        db["syncs"].insert({"id": sid, "started_at": _t(ago), "state": "done"}, replace=True)
        db["status_history"].insert({"case_id": "10000000003", "status": status,
                                     "previous_status": prev, "observed_at": _t(ago - 0.001),
                                     "sync_id": sid})


def test_reopen_names_the_closing_day_only_when_the_syncs_pin_it(db):
    """A sync a week after the last one saw the case closed: the closing day is unknown
    (the draft names none) and the window counts from the earlier sync, so the warning
    is never late. Two syncs on the same day pin the day, and the draft names it."""
    _saw_closing(db, 10, 3)
    ctx = drafts.context(db, "10000000003", now=NOW)
    assert ctx["reopen"]["closed_on"] is None
    # the window counts from the sync 10 days ago (March 10), not the one 3 days ago
    assert ctx["reopen"]["deadline"] == "April 9, 2026"
    _, _, body = drafts.render(db, "10000000003", now=NOW)
    assert "closed on" not in body
    db.execute("delete from status_history")
    _saw_closing(db, 3.2, 3)
    ctx = drafts.context(db, "10000000003", now=NOW)
    assert ctx["reopen"]["closed_on"] == "March 17, 2026"
    _, _, body = drafts.render(db, "10000000003", now=NOW)
    assert "which was closed on March 17, 2026" in body


def test_answered_with_a_request_is_answered_not_reopened(db):
    """Amazon's answer that asks for documents gets the answer draft; an answer without
    a request (and no resolution) gets the reopen request."""
    add_case(db, "10000000006", "Unable to edit brand content", "Answered",
             "Brand Registry and IP",
             [("seller", 6, "We cannot edit the brand content."), ("amazon", 2, ASKING)])
    add_case(db, "10000000007", "Brand Registry application pending", "Answered",
             "Brand Registry and IP",
             [("seller", 6, "Any news?"), ("amazon", 2, "We are still investigating.")])
    situation, _, body = drafts.render(db, "10000000006", now=NOW)
    assert situation == "asked"
    assert body.index("1. Invoices") < body.index("2. Plan of action")
    assert drafts.render(db, "10000000007", now=NOW)[0] == "reopen"
    # an answered case still takes a reply: the advice is to reply, not to open a new case
    db["cases"].update("10000000007", {"can_edit": 1, "can_reopen": 0})
    notes = drafts.notes(drafts.context(db, "10000000007", now=NOW))
    assert any("send this as a reply there" in n for n in notes)
    assert not any("open a new case" in n for n in notes)


def test_reopen_warns_near_window_end_and_appeal_skeleton(db):
    ctx = drafts.context(db, "10000000003", now=NOW)
    assert ctx["situation"] == "reopen"
    assert not drafts.notes(ctx)  # 27 days left of 30
    late = drafts.context(db, "10000000003", now=NOW + timedelta(days=24))
    assert any("Reopen soon" in n for n in drafts.notes(late))
    _, _, body = drafts.render(db, "10000000003", now=NOW)
    assert "Please reopen case 10000000003" in body and "[what is still wrong" in body
    assert "closed on" not in body  # caselog never saw it close: no date is claimed
    db["status_history"].insert({"case_id": "10000000003", "status": "Closed",
                                 "previous_status": "PendingAmazonAction",
                                 "observed_at": _t(4)})
    _, _, body = drafts.render(db, "10000000003", now=NOW)
    assert "which was closed on March 16, 2026" in body
    situation, _, body = drafts.render(db, "10000000004", now=NOW)
    assert situation == "appeal"
    for part in ("1. Root cause", "2. Corrective actions", "3. Preventive measures",
                 "4. Your other requests", "Invoices (you asked:"):
        assert part in body
    assert drafts.render(db, "10000000005")[0] == "reply"


def test_seller_name_from_config_and_user_template_override(caselog_home, db):
    (caselog_home / "replies.toml").write_text('[seller]\nname = "Jane Doe, Acme GmbH"\n')
    (caselog_home / "templates").mkdir()
    (caselog_home / "templates" / "reply.j2").write_text(
        "Case {{ case.case_id }} by {{ seller_name }}\n")
    assert drafts.render(db, "10000000005")[2] == "Case 10000000005 by Jane Doe, Acme GmbH\n"


@pytest.mark.parametrize("source,message", [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed"),
    ("{{ cycler.__init__.__globals__.os.system('id') }}", "not allowed|unknown name"),
    ("{{ 'x' * 1000000000 }}", "repetition too large"),
    ("{{ 10 ** 100000000 }}", "exponent too large"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "took longer"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion"),
    ("{% for x in %}", "line 1"),
    ("{{ no_such_thing }}", "unknown name"),
    ("{% include '../../../../etc/passwd' %}", "cannot find template"),
    ("{{ ph.__globals__['__builtins__'] }}", "not allowed"),
    ("{{ '{0.__class__.__mro__}'.format(case) }}", "not allowed|SecurityError"),
    ("{% for i in range(99999) %}{{ 'y' * 99 }}{% endfor %}", "output longer"),
    # one call that allocates gigabytes before any check runs: the child's memory cap
    ("{{ '%999999999d' % 1 }}", "too much memory"),
    ("{{ 'x'.ljust(9999999999) }}", "too much memory"),
    ("{{ range(99999)|join('y'.ljust(99999)) }}", "too much memory"),
])
def test_hostile_template_text_gets_a_clear_error(db, source, message):
    started = time.monotonic()
    with pytest.raises(DraftTemplateError, match=message):
        drafts.render_string(source, db, "10000000005")
    assert time.monotonic() - started < 10


def test_broken_user_template_is_a_clear_error_and_nothing_saved(caselog_home, db):
    (caselog_home / "templates").mkdir()
    (caselog_home / "templates" / "reply.j2").write_text("{{ ''.__class__.__mro__ }}")
    with pytest.raises(DraftTemplateError, match="reply.j2"):
        drafts.ensure(db, "10000000005")
    assert db["drafts"].count == 0
    # a user's template file renders under the memory cap too; then a good one works
    (caselog_home / "templates" / "reply.j2").write_text("{{ 'x'.center(9999999999) }}")
    with pytest.raises(DraftTemplateError, match="reply.j2: used too much memory"):
        drafts.ensure(db, "10000000005")
    (caselog_home / "templates" / "reply.j2").write_text("Case {{ case.case_id }}, {{ ph('x') }}")
    assert drafts.ensure(db, "10000000005")["body"] == "Case 10000000005, [x]"


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
    assert "<p>ok</p>" in html and "Draft reply" in html and "[your name" in html


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


# --- web layer through the Flask test client (the browser tests cover the full flow) ----

@pytest.fixture
def client(caselog_home, db):
    from webui.app import create_app

    db.conn.commit()
    app = create_app(caselog_home / "caselog.db", {"CASELOG_HOME": str(caselog_home)})
    c = app.test_client()
    c.environ_base["HTTP_HOST"] = "127.0.0.1"
    return c


def _token(client, case_id="10000000001"):
    import re

    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1), html


def _draft_id(html: str) -> str:
    """The draft id the page's editor posts ('' while the draft is only computed)."""
    import re

    return re.search(r'name="draft_id" value="(\d*)"', html).group(1)


def test_plain_forms_work_without_htmx(client, db):
    import re

    token, html = _token(client)
    # the page computed the checklist; nothing is stored until the person acts
    assert db["checklist_items"].count == 0
    item = re.search(r'data-key="([^"]+)"', html).group(1)
    assert item == "invoices:recent"
    r = client.post("/cases/10000000001/checklist/done",
                    data={"csrf_token": token, "item": item, "done": "1"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/cases/10000000001#replies")
    page = client.get("/cases/10000000001").get_data(as_text=True)
    assert "Done: Dated within the last 365 days" in page
    stored = checklists.items(db, "10000000001")
    assert [i["key"] for i in stored if i["done"]] == [item] and len(stored) > 1
    r = client.post("/cases/10000000001/evidence", content_type="multipart/form-data",
                    data={"csrf_token": token, "item": item,
                          "file": (io.BytesIO(PDF), "inv.pdf")})
    assert r.status_code == 303
    ev = evidence.list_for_case(db, "10000000001")[0]
    assert ev["item_id"] == next(i["id"] for i in stored if i["key"] == item)
    got = client.get(f"/cases/10000000001/evidence/{ev['id']}")
    assert got.data == PDF and 'filename=inv.pdf' in got.headers["Content-Disposition"]
    assert got.mimetype == "application/octet-stream"
    assert client.get(f"/cases/10000000002/evidence/{ev['id']}").status_code == 404
    assert client.get("/cases/10000000001/evidence/999").status_code == 404
    # no token, no change
    r = client.post("/cases/10000000001/checklist/done", data={"item": item, "done": "0"})
    assert r.status_code == 403
    assert checklists.get_item(db, "10000000001", ev["item_id"])["done"] == 1
    # a key the checklist does not hold is a message, not an error page
    r = client.post("/cases/10000000001/checklist/done",
                    data={"csrf_token": token, "item": "no:such", "done": "1"})
    assert r.status_code == 303
    assert "no longer on this case" in client.get("/cases/10000000001").get_data(as_text=True)


def test_htmx_answers_the_panel_with_clear_errors(client, db):
    token, html = _token(client)
    hx = {"HX-Request": "true", "X-CSRF-Token": token}
    r = client.post("/cases/10000000001/evidence", headers=hx,
                    content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"MZ\x90"), "run.exe")})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.lstrip().startswith("<section id=\"replies\"")
    assert "type .exe is not allowed" in body
    assert drafts.current(db, "10000000001") is None  # shown, not stored
    # the page's draft is stored by the first POST on it, then the same id is posted
    r = client.post("/cases/10000000001/draft/ready", headers=hx,
                    data={"draft_id": _draft_id(html)})
    body = r.get_data(as_text=True)
    assert "fill in the placeholders first" in body
    d = drafts.current(db, "10000000001")
    assert _draft_id(body) == str(d["id"]) and drafts.history(db, d["id"])[0]["source"] == \
        "generated"
    r = client.post("/cases/10000000001/draft", headers=hx,
                    data={"draft_id": d["id"], "body": "Hello <script>alert(1)</script>"})
    body = r.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert" not in body
    r = client.post("/cases/10000000001/draft/ready", headers=hx, data={"draft_id": d["id"]})
    assert "Ready to send" in r.get_data(as_text=True)
    assert drafts.get(db, "10000000001", d["id"])["state"] == "ready"
    r = client.get("/cases/10000000001/dossier")
    assert r.headers["Content-Disposition"].startswith(
        'attachment; filename="caselog-dossier-10000000001-')
    assert client.get("/cases/99999999999/dossier").status_code == 404


def test_draft_events_page_through_the_timeline(client, db):
    from companion.read import timeline
    from companion.replies.events import draft_event_source

    for cid in ("10000000001", "10000000002", "10000000004"):
        d = drafts.ensure(db, cid)
        drafts.save(db, cid, d["id"], "Final text.")
        drafts.mark_sent(db, cid, d["id"])
    seen, cursor = [], None
    while True:
        page = timeline.events(db, {}, cursor, limit=2, sources=[draft_event_source])
        seen += [(e["kind"], e["seq"]) for e in page["events"]]
        cursor = page["next"]
        if cursor is None:
            break
    drafted = [s for s in seen if s[0].startswith("draft_")]
    assert sorted(drafted) == [("draft_sent", 1), ("draft_sent", 2), ("draft_sent", 3)]
    one = timeline.events(db, {"case": "10000000002"}, None, sources=[draft_event_source])
    assert {e["case_id"] for e in one["events"]} == {"10000000002"}


def test_edited_draft_warns_when_amazon_writes_again(client, db):
    token, html = _token(client)
    hx = {"HX-Request": "true", "X-CSRF-Token": token}
    client.post("/cases/10000000001/draft", headers=hx, data={"draft_id": _draft_id(html),
                                                               "body": "My own words."})
    d = drafts.current(db, "10000000001")
    assert [r["source"] for r in drafts.history(db, d["id"])] == ["edited", "generated"]
    later = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    db["messages"].insert({"case_id": "10000000001", "message_key": "new", "sender": "amazon",
                           "sent_at": later, "text": "Please send photos of the label."})
    db.conn.commit()
    html = client.get("/cases/10000000001").get_data(as_text=True)
    assert "Amazon wrote again after you last edited this draft" in html
    assert "My own words." in html  # the person's text is not replaced behind their back


def test_big_uploads_are_spooled_inside_caselog_home(client, caselog_home, db):
    big = b"%PDF-1.4\n" + b"0" * (800 * 1024)  # above werkzeug's in-memory limit
    token, _ = _token(client)
    seen = []
    real = client.application.request_class._get_file_stream

    def spy(self, *args, **kwargs):
        f = real(self, *args, **kwargs)
        f.rollover()  # force the on-disk file now, as a large upload would
        seen.append(os.readlink(f"/proc/self/fd/{f.fileno()}"))
        return f

    client.application.request_class._get_file_stream = spy
    try:
        r = client.post("/cases/10000000001/evidence", content_type="multipart/form-data",
                        data={"csrf_token": token, "file": (io.BytesIO(big), "big.pdf")})
    finally:
        client.application.request_class._get_file_stream = real
    assert r.status_code == 303
    assert seen and all(p.startswith(str(caselog_home / "evidence")) for p in seen), seen
    assert evidence.list_for_case(db, "10000000001")[0]["size"] == len(big)


def test_case_page_shows_reopen_warning_and_reminder(client, db):
    add_case(db, "10000000007", "Closed too early", "Closed", "Orders and Shipping",
             [("seller", 40, "Where is my refund?"),
              ("amazon", 27 - (datetime.now(UTC) - NOW).days, "This case is closed.")])
    db.conn.commit()
    html = client.get("/cases/10000000007").get_data(as_text=True)
    assert "Reopen soon: the window ends around" in html
    assert "Please reopen case 10000000007" in html
    html = client.get("/cases/10000000002").get_data(as_text=True)
    assert 'data-testid="case-reminder"' in html and "Follow up with Amazon" in html


def test_broken_settings_and_checklist_files_are_messages_not_errors(client, caselog_home):
    (caselog_home / "replies.toml").write_text("[defaults\nanswer_within_days = 2")
    (caselog_home / "checklists").mkdir()
    (caselog_home / "checklists" / "mine.toml").write_text("id = [")
    for url in ("/", "/cases/10000000001", "/timeline", "/cases"):
        r = client.get(url)
        assert r.status_code == 200, url
    page = client.get("/cases/10000000001").get_data(as_text=True)
    assert "replies.toml" in page and "mine.toml: cannot read checklist" in page
    assert "replies.toml" in client.get("/").get_data(as_text=True)
