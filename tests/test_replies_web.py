"""The documented-replies web layer through the Flask test client over a real SQLite
file: plain forms and htmx answers, what a POST stores, the timeline's draft events,
uploads kept inside CASELOG_HOME, problems shown as messages (the browser tests cover
the whole flow)."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from replies_helpers import NOW, PDF, add_case, draft_id, page_token, seeded_db, web_client

from companion.queue import derive
from companion.replies import checklists, drafts, evidence


@pytest.fixture
def db(caselog_home):
    return seeded_db(caselog_home)


@pytest.fixture
def client(caselog_home, db):
    return web_client(caselog_home, db)


def test_plain_forms_work_without_htmx(client, db):
    import re

    token, html = page_token(client)
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
    token, html = page_token(client)
    hx = {"HX-Request": "true", "X-CSRF-Token": token}
    r = client.post("/cases/10000000001/evidence", headers=hx,
                    content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"MZ\x90"), "run.exe")})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.lstrip().startswith("<section id=\"replies\"")
    assert "type .exe is not allowed" in body
    assert drafts.current(db, "10000000001") is None  # shown, not stored
    # the draft the panel showed is stored by the next POST on it, with the same id
    r = client.post("/cases/10000000001/draft/ready", headers=hx,
                    data={"draft_id": draft_id(body)})
    body = r.get_data(as_text=True)
    assert "fill in the placeholders first" in body
    d = drafts.current(db, "10000000001")
    assert draft_id(body) == str(d["id"]) and drafts.history(db, d["id"])[0]["source"] == \
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
    from companion.queue.timeline_events import draft_event_source
    from companion.read import timeline

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
    token, _ = page_token(client)
    hx = {"HX-Request": "true", "X-CSRF-Token": token}
    opened = client.post("/cases/10000000001/draft/open", headers=hx).get_data(as_text=True)
    client.post("/cases/10000000001/draft", headers=hx, data={"draft_id": draft_id(opened),
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
    token, _ = page_token(client)
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
    derive.refresh(db)  # as the sync that brought the case would
    html = client.get("/cases/10000000007").get_data(as_text=True)
    assert "Reopen soon: the window ends around" in html  # before any draft is written
    token, _ = page_token(client)
    opened = client.post("/cases/10000000007/draft/open",
                         headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert "Please reopen case 10000000007" in opened.get_data(as_text=True)
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



def test_one_day_rule_for_every_kind_of_event(db, monkeypatch):
    """An event belongs to the local day the timeline shows it under, whatever its UTC
    date: a day filter finds a message and a draft event at the same instant together
    (here 23:30 UTC is the next day in UTC+14), and a reminder by its due time."""
    import time as time_mod

    from companion.queue.timeline_events import SOURCES
    from companion.read import local_days as days
    from companion.read import timeline

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14, no daylight saving
    time_mod.tzset()
    try:
        at = "2026-03-19T23:30:00Z"
        db["messages"].insert({"case_id": "10000000002", "message_key": "late",
                               "sender": "seller", "sent_at": at, "text": "Any news?"})
        db["draft_events"].insert({"case_id": "10000000002", "draft_id": 1,
                                   "kind": "draft_sent", "at": at, "detail": "{}"})
        assert days.local_day(at) == "2026-03-20"
        found = timeline.events(db, {"from": "2026-03-20", "to": "2026-03-20",
                                     "case": "10000000002"}, sources=SOURCES)["events"]
        assert {e["kind"] for e in found if e["at"] == at} == {"message", "draft_sent"}
        before = timeline.events(db, {"to": "2026-03-19", "case": "10000000002"},
                                 sources=SOURCES)["events"]
        assert at not in {e["at"] for e in before}
        reminder = next(e for e in timeline.events(db, {"case": "10000000002"},
                                                   sources=SOURCES)["events"]
                        if e["kind"] == "reminder")
        day = days.local_day(reminder["at"])
        on_day = timeline.events(db, {"from": day, "to": day, "case": "10000000002"},
                                 sources=SOURCES)["events"]
        assert reminder in on_day
    finally:
        monkeypatch.undo()  # the zone this process had, and tell the C library
        time_mod.tzset()
