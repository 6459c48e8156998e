"""The seller's day without a browser: home's queue (kinds, deadlines, one row per case,
the stale group, snoozes and "nothing to do" with undo, on the timeline), what changed
since the person last looked, a sent reply as a fact of the thread (then merged with
the portal's copy), repeated asks in words, and the cases table's deadline and CSV.

Over a database from benchmarks/make_db.py with a seller's day in it (asks, call-backs,
replies marked sent, snoozes, a last look), and small hand-made cases for exact words.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_db import generate  # noqa: E402

from companion.cli.export import export  # noqa: E402
from companion.queue import marks  # noqa: E402
from companion.queue import rows as queue  # noqa: E402
from companion.read import overview  # noqa: E402
from companion.replies import drafts, repeats, sent  # noqa: E402
from companion.schema import open_db  # noqa: E402
from webui.app import create_app  # noqa: E402

ISO = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CASELOG_HOME", str(tmp_path))
    generate(tmp_path / "caselog.db", cases=160, messages=1600, seed=11, day=True)
    return tmp_path


@pytest.fixture
def db(home):
    d = open_db(home / "caselog.db")
    yield d
    d.conn.close()


@pytest.fixture
def client(home):
    return create_app(home / "caselog.db", {"CASELOG_HOME": str(home)}).test_client()


def token(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def htmx(tok: str) -> dict:
    return {"HX-Request": "true", "X-CSRF-Token": tok}


def now() -> datetime:
    return datetime.now(UTC)


def every_row(db) -> list[dict]:
    found = queue.candidates(db, now())
    return found["rows"] + found["stale"] + found["snoozed"]


# ---- the queue ------------------------------------------------------------------------

def test_one_row_per_case_by_deadline_and_every_owing_case_in_it(db):
    found = queue.candidates(db, now())
    rows = every_row(db)
    ids = [r["case_id"] for r in rows]
    assert len(ids) == len(set(ids))  # one row each
    for part in ("rows", "stale", "snoozed"):
        dues = [r["due_at"] for r in found[part]]
        assert dues == sorted(dues)  # by deadline, overdue first
    owing = {r[0] for r in db.execute("select case_id from cases where status = "
                                      "'PendingMerchantAction'")}
    answered = {c for c in owing if drafts.answered_at(db, c)}
    assert answered  # make_db marked some answers sent: those wait on Amazon now
    assert owing - answered <= set(ids) and not answered & set(ids)
    kinds = {k for r in rows for k in r["kinds"]}
    assert {"answer", "follow_up", "callback", "evidence"} <= kinds
    for r in rows:
        assert r["what"] == queue.WHAT[r["kind"]] and r["due_at"]
        assert all(a["due_at"] >= r["due_at"] for a in r["also"])  # earliest first
    # a call-back still to come is wanted by its window's start
    call = db.execute("select case_id, earliest from appointments where status = "
                      "'SCHEDULED' and latest >= ? order by earliest limit 1",
                      [now().strftime(ISO)]).fetchone()
    row = next(r for r in rows if r["case_id"] == call[0])
    assert "callback" in row["kinds"] and call[1] in [row["due_at"]] + [
        a["due_at"] for a in row["also"]]


def test_old_silence_folds_into_the_stale_group_by_setting(db, home):
    found = queue.candidates(db, now())
    cutoff = (now() - timedelta(days=30)).strftime(ISO)
    assert found["stale_days"] == 30 and found["stale"]
    assert all(r["last_activity"] < cutoff for r in found["stale"])
    assert all((r["last_activity"] or "") >= cutoff or set(r["kinds"]) & {"callback", "reopen"}
               for r in found["rows"])
    (home / "replies.toml").write_text("[defaults]\nstale_after_days = 0\n")  # 0: never
    assert queue.candidates(db, now())["stale"] == []
    (home / "replies.toml").write_text("[defaults]\nstale_after_days = 7\n")
    assert len(queue.candidates(db, now())["stale"]) > len(found["stale"])


def test_home_holds_sync_now_then_the_queue_then_the_rest(client, db):
    html = client.get("/").get_data(as_text=True)
    assert html.index("Sync now") < html.index('id="queue"') < html.index('id="waiting-h"')
    assert html.index('id="waiting-h"') < html.index('id="changes-h"') < html.index(
        'id="charts-h"')
    shown = re.findall(r'data-testid="queue-row" data-case="(\d+)" data-kind="(\w+)" '
                       r'data-due="([^"]+)"', html)
    assert len(shown) == min(queue.HOME_ROWS, len(queue.candidates(db, now())["rows"]))
    assert [s[2] for s in shown] == sorted(s[2] for s in shown)
    assert "of" in html and 'aria-label="Evidence for case' in html  # progress inline
    assert 'data-testid="stale-group"' in html and 'data-testid="snoozed-group"' in html
    stale = client.get("/queue?group=stale", headers={"HX-Request": "true"})
    assert "<html" not in stale.get_data(as_text=True)
    count = int(re.search(r"Stale: <strong>(\d+) cases?", html).group(1))
    assert stale.get_data(as_text=True).count('data-testid="queue-row"') == min(count, 50)


def test_in_force_rules_of_a_mark():
    t = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    case = {"status": "PendingMerchantAction", "last_amazon": "2026-12-01T00:00:00Z"}
    snooze = {"kind": "snooze", "until": "2026-12-03T08:00:00Z", "until_amazon": 1,
              "amazon_at": "2026-12-01T00:00:00Z", "status": "PendingMerchantAction"}
    assert marks.in_force(snooze, case, t)
    assert not marks.in_force(snooze, case, t + timedelta(days=2))  # the day came
    wrote = {**case, "last_amazon": "2026-12-02T09:00:00Z"}
    assert not marks.in_force(snooze, wrote, t)  # Amazon wrote: back sooner
    assert not marks.in_force({**snooze, "undone_at": "2026-12-02T10:00:00Z"}, case, t)
    until_amazon = {**snooze, "until": None}
    assert marks.in_force(until_amazon, case, t + timedelta(days=300))
    nothing = {**snooze, "kind": "nothing", "until": None, "until_amazon": 0}
    assert marks.in_force(nothing, case, t + timedelta(days=300))
    assert not marks.in_force(nothing, {**case, "status": "Answered"}, t)  # it moved
    assert not marks.in_force(nothing, wrote, t)
    with pytest.raises(marks.MarkError, match="after today"):
        marks.snooze_until("date", (t - timedelta(days=1)).date().isoformat(), t)
    assert marks.snooze_until("tomorrow", None, t) > t
    assert marks.snooze_until("amazon", None, t) is None


def test_snooze_nothing_to_do_and_undo_are_posts_on_the_timeline(client, db):
    tok = token(client)
    first = queue.candidates(db, now())["rows"][0]
    cid = first["case_id"]
    r = client.post(f"/queue/{cid}/snooze", data={"until": "week"}, headers=htmx(tok))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<section id="queue"')
    assert f"{first['what']} · case {cid}: Snoozed until" in html
    assert f'data-case="{cid}"' not in html  # out of the list
    assert cid in queue.candidates(db, now())["by_case"] and cid in marks.standing(db, now())
    mark_id = re.search(r'data-testid="undo-last"', html) and re.search(
        r'name="mark_id" value="(\d+)"', html).group(1)
    r = client.post(f"/queue/{cid}/undo", data={"mark_id": mark_id}, headers=htmx(tok))
    assert "is back in the queue" in r.get_data(as_text=True)
    assert f'data-case="{cid}"' in r.get_data(as_text=True) and not marks.standing(
        db, now()).get(cid)
    # without htmx: a plain form that comes back to the page it was on
    r = client.post(f"/queue/{cid}/nothing", data={"csrf_token": tok,
                                                   "back": "/queue?group=snoozed"})
    assert r.status_code == 303 and r.headers["Location"].startswith("/queue?group=snoozed")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Nothing to do until the case moves" in page and 'data-testid="undo-last"' in page
    r = client.post(f"/queue/{cid}/nothing", data={"csrf_token": tok, "back": "//evil"})
    assert r.headers["Location"] == "/#queue"  # only our own pages
    kinds = re.findall(r'data-kind="(mark_\w+)"', client.get(
        f"/timeline?case={cid}").get_data(as_text=True))
    assert kinds == ["mark_nothing", "mark_nothing", "mark_undone", "mark_snooze"]
    assert client.post(f"/queue/{cid}/snooze", data={"csrf_token": tok}).status_code == 303
    bad = client.post(f"/queue/{cid}/snooze", data={"until": "date", "day": "x"},
                      headers=htmx(tok)).get_data(as_text=True)
    assert "Choose the day the row should come back." in bad
    assert client.post("/queue/00000000000/nothing", data={"csrf_token": tok}).status_code == 404
    assert client.post(f"/queue/{cid}/nothing").status_code in (400, 403)  # no CSRF token


def test_what_changed_counts_from_the_last_look(client, db):
    db.execute("delete from home_looks")
    db.conn.commit()
    before = overview.changes_since(db, None)
    assert before["look"] is None and before["sync"]  # never looked: the last sync
    tok = token(client)
    r = client.post("/home/seen", data={"csrf_token": tok, "change_id": before["newest_id"]})
    assert r.status_code == 303
    look = marks.last_look(db)
    assert look["change_id"] == before["newest_id"]
    html = client.get("/").get_data(as_text=True)
    assert "What changed since you last looked" in html and "Nothing new since then." in html
    row = queue.candidates(db, now())["rows"][0]
    db["changes"].insert({"sync_id": 3, "case_id": row["case_id"], "kind": "new_reply",
                          "detail": json.dumps({"count": 1}), "at": now().strftime(ISO)})
    db.conn.commit()
    html = client.get("/").get_data(as_text=True)
    assert "New replies from Amazon (1)" in html
    new = re.search(rf'data-case="{row["case_id"]}".*?</li>', html, re.S).group(0)
    assert 'data-testid="new-since-look"' in new
    assert 'data-testid="since-look"' in html and "1 change" in html
    # a change the page had not shown stays new after "Mark as seen" of that page
    client.post("/home/seen", data={"csrf_token": tok, "change_id": look["change_id"]})
    assert "New replies from Amazon (1)" in client.get("/").get_data(as_text=True)


# ---- a sent reply is a fact ------------------------------------------------------------

def test_sent_copies_match_by_sender_time_and_text():
    at = "2026-12-02T10:00:00.123456Z"
    copies = [{"id": 1, "body": "Hello,\nattached are the invoices.\nJane", "sent_at": at}]
    near = {"message_key": "m1", "sender": "seller", "sent_at": "2026-12-02T09:58:00Z",
            "text": "Hello, attached are the invoices. Jane\n\n-- Sent from Seller Central"}
    assert sent.merge([near], copies) == {1: "m1"}
    assert sent.merge([{**near, "sender": "amazon"}], copies) == {}
    assert sent.merge([{**near, "sent_at": "2026-12-09T10:00:00Z"}], copies) == {}
    assert sent.merge([{**near, "text": "Something else entirely, about a refund."}],
                      copies) == {}
    twice = [{**copies[0], "id": 2, "sent_at": "2026-12-02T10:05:00Z"}] + copies
    assert sent.merge([near], twice) in ({1: "m1"}, {2: "m1"})  # each message once
    assert sent.similarity("a  B\nc", "A b c") == 1.0


def test_mark_sent_puts_the_text_in_the_thread_until_a_sync_merges_it(client, db, home):
    cid = next(c for c, in db.execute(
        "select case_id from cases where status = 'PendingMerchantAction' and case_id not in "
        "(select case_id from appointments) order by case_id")  # a call-back is wanted too
        if not drafts.answered_at(db, c))
    d = drafts.ensure(db, cid)
    text = "Hello,\nplease find attached the invoices from our supplier.\nJane Doe"
    drafts.save(db, cid, d["id"], text)
    drafts.mark_ready(db, cid, d["id"])
    tok = token(client)
    r = client.post(f"/cases/{cid}/draft/sent", data={"draft_id": d["id"]}, headers=htmx(tok))
    assert r.headers["HX-Refresh"] == "true"  # the whole page again
    page = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert "Marked sent. The thread shows it as sent from caselog" in page
    copy = re.search(r'<article[^>]*data-testid="sent-copy".*?</article>', page, re.S).group(0)
    assert "please find attached the invoices" in copy and "Sent from caselog" in copy
    assert re.search(r"You answered on [^;]+; waiting for Amazon", page)
    assert 'data-testid="answered"' in page and 'id="draft-body"' not in page
    assert cid not in queue.candidates(db, now())["by_case"]  # nothing wanted now
    waiting = overview.waiting_on_amazon(db, now(), limit=10_000)["rows"]
    assert any(w["case_id"] == cid and w["answered_at"] for w in waiting)
    dossier = client.get(f"/cases/{cid}/dossier").get_data(as_text=True)
    assert "Replies sent from caselog" in dossier and "Next draft" not in dossier
    assert "Not in Seller Central's thread at the last sync." in dossier
    out = CliRunner().invoke(export, ["--db", str(home / "caselog.db"), "--case", cid])
    assert out.exit_code == 0 and "please find attached the invoices" not in out.output
    # a sync brings the portal's copy, a minute before the moment it was marked sent
    marked = drafts.get(db, cid, d["id"])["sent_at"]
    at = (datetime.fromisoformat(marked.replace("Z", "+00:00")) - timedelta(minutes=1))
    db["messages"].insert({"case_id": cid, "message_key": "portal-copy", "sender": "seller",
                           "sent_at": at.strftime(ISO), "text": text, "html": text})
    db.conn.commit()
    page = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert 'data-testid="sent-copy"' not in page and 'data-testid="sent-merged"' in page
    assert page.count("please find attached the invoices from our supplier") == 1
    assert re.search(r"You answered on [^;]+; waiting for Amazon", page)
    # Amazon writes again: a new draft is offered, written when the person opens it
    db["messages"].insert({"case_id": cid, "message_key": "amazon-later", "sender": "amazon",
                           "sent_at": (now() + timedelta(minutes=1)).strftime(ISO),
                           "text": "Thank you. Please also provide photos."})
    db.conn.commit()
    page = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert "Write the draft" in page and 'data-testid="answered"' not in page


# ---- repeated asks -----------------------------------------------------------------------

def test_repeated_asks_in_the_issues_words():
    year = datetime.now().year

    def local(month_day: str) -> str:  # noon, this machine's zone, as stored (UTC)
        return datetime.fromisoformat(f"{year}-{month_day}T12:00:00").astimezone().astimezone(
            UTC).strftime(ISO)

    asks = [{"kind": "invoices", "label": "Invoices", "message_key": k, "sent_at": local(d)}
            for k, d in (("a", "11-02"), ("b", "11-09"), ("c", "11-20"))]
    sends = [{"at": local("11-04"), "kinds": {"invoices"}, "how": "message"},
             {"at": local("11-10"), "kinds": {"invoices", "photos"}, "how": "caselog"}]
    found = repeats.find(asks, sends)
    assert [r["sentence"] for r in found] == [
        "Amazon asked for invoices 3 times: 2 Nov, 9 Nov, 20 Nov; "
        "you sent them on 4 Nov and 10 Nov"]
    once_after = repeats.find(asks[2:], sends[:1])
    assert once_after[0]["sentence"] == ("Amazon asked for invoices on 20 Nov; "
                                         "you sent them on 4 Nov")
    assert repeats.find(asks[:1], []) == []  # asked once, nothing sent: no repeat
    assert repeats.kinds_named("invoice_0412.pdf") == {"invoices"}


def test_repeated_asks_on_the_panel_in_the_draft_and_the_dossier(client, db):
    cid = next(c for c, in db.execute(
        "select a.case_id from case_asks a join cases c using (case_id) where c.status = "
        "'PendingMerchantAction' and a.kind = 'invoices' and c.category != 'Account Health' "
        "group by a.case_id having count(distinct a.message_key) >= 2 order by a.case_id")
        if not drafts.answered_at(db, c))
    found = repeats.for_case(db, cid)
    inv = next(r for r in found if r["kind"] == "invoices")
    times = "twice" if inv["times"] == 2 else f"{inv['times']} times"
    assert inv["sentence"].startswith(f"Amazon asked for invoices {times}: ")
    page = client.get(f"/cases/{cid}").get_data(as_text=True)
    assert 'data-testid="repeats"' in page and inv["sentence"] in page
    body = drafts.preview(db, cid)["body"]
    assert f"You have now asked for this {inv['times']} times" in body
    assert "Repeated requests" in client.get(f"/cases/{cid}/dossier").get_data(as_text=True)
    found = queue.candidates(db, now())
    part = next(g for g in queue.GROUPS if any(r["case_id"] == cid for r in found[g]))
    listed = client.get(f"/queue?group={part}").get_data(as_text=True)
    row = re.search(rf'data-case="{cid}".*?</li>', listed, re.S)
    assert row and 'data-testid="repeat-mark"' in row.group(0)


# ---- the cases table: deadline and CSV ---------------------------------------------------

def test_deadline_column_and_sort(client, db):
    html = client.get("/cases?sort=deadline&dir=asc").get_data(as_text=True)
    dues = [d for d in re.findall(r'deadline-cell" data-due="([^"]*)"', html)]
    dated = [d for d in dues if d]
    assert dated and dated == sorted(dated) and dues[:len(dated)] == dated  # none last
    assert 'aria-sort="ascending"' in html
    desc = client.get("/cases?sort=deadline&dir=desc").get_data(as_text=True)
    dated = [d for d in re.findall(r'deadline-cell" data-due="([^"]*)"', desc) if d]
    assert dated == sorted(dated, reverse=True)


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_reads_back_with_the_csv_module(client, db, home):
    out = CliRunner().invoke(export, ["--db", str(home / "caselog.db"), "--format", "csv"])
    assert out.exit_code == 0, out.output
    rows = read_csv(out.output)
    total = db.execute("select count(*) from cases").fetchone()[0]
    assert len(rows) == total and list(rows[0]) == [
        "Case ID", "Status", "Subject", "Category", "Created", "Last Amazon reply",
        "Last message", "Next deadline", "Wanted", "Evidence"]
    by_id = {r["Case ID"]: r for r in rows}
    deadlines = queue.deadlines(db, now())
    for cid, r in by_id.items():
        case = db["cases"].get(cid)
        subject = case["subject"]
        assert r["Subject"] == ("'" + subject if subject[:1] in "=+-@" else subject)
        assert r["Status"] != case["status"] or case["status"] in ("Answered", "Resolved",
                                                                   "Closed", "Reopened")
        want = deadlines.get(cid)
        assert r["Next deadline"] == (want["due_at"] if want else "")
        assert r["Wanted"] == (want["what"] if want else "")
        assert re.fullmatch(r"(\d+ of \d+)?", r["Evidence"])
    assert [r["Created"] for r in rows] == sorted((r["Created"] for r in rows), reverse=True)
    # the table's download: its filters and its sort, and a GET that writes nothing
    got = client.get("/cases.csv?owes=yes&sort=deadline&dir=asc")
    assert got.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in got.headers["Content-Disposition"]
    text = got.get_data(as_text=True)
    assert text.startswith("\ufeffCase ID,")  # the byte-order mark Excel reads UTF-8 by
    owing = read_csv(text.removeprefix("\ufeff"))
    assert {r["Status"] for r in owing} == {"Needs your attention"}
    dated = [r["Next deadline"] for r in owing if r["Next deadline"]]
    assert dated == sorted(dated)
    assert {r["Case ID"] for r in owing} == {c for c, in db.execute(
        "select case_id from cases where status = 'PendingMerchantAction'")}
    link = re.search(r'href="(/cases\.csv[^"]*)"', client.get(
        "/cases?owes=yes&sort=deadline&dir=asc").get_data(as_text=True)).group(1)
    assert link.replace("&amp;", "&") == "/cases.csv?sort=deadline&dir=asc&owes=yes"
    json_out = CliRunner().invoke(export, ["--db", str(home / "caselog.db")])
    assert json.loads(json_out.output)["cases"][0]["case_id"] == rows[0]["Case ID"]
