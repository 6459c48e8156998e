"""What reaches the UI from outside: every GET page, partial and download reads the
database without changing a byte of it (a real ``caselog serve`` subprocess crawled over
a populated archive with the seller's own checklist ticks, files, drafts and events);
bad query parameters are clamped or refused, never a 500; ``--host 127.0.0.2`` answers
at the address it prints."""

from __future__ import annotations

import hashlib
import html as html_mod
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_db import generate  # noqa: E402

from fixtures.harness import UIServer, free_port, stop_process, wait_http  # noqa: E402

pytestmark = pytest.mark.slow  # minutes: its file is scheduled first (tests/conftest.py)

PDF = b"%PDF-1.4\n% caselog edge test\n1 0 obj<<>>endobj\n"
ASKING = ("To proceed, please provide invoices from your supplier dated within the last "
          "365 days. We need a plan of action that explains the root cause of the issue.")


def _seller_work(db, home: Path) -> dict:
    """The seller's own data on four cases: A with ticks, a note, files, a sent reply
    and a current draft; B with a stored untouched draft that a newer Amazon message
    makes stale; C never opened; D resolved, drafted by the person's own template."""
    from companion.replies import checklists, drafts, evidence

    owing = [r["case_id"] for r in db.query(
        "select case_id from cases where status = 'PendingMerchantAction' "
        "order by case_id limit 3")]
    a, b, c = owing
    d = db.execute("select case_id from cases where status = 'Resolved' "
                   "order by case_id limit 1").fetchone()[0]
    for cid, key, text in ((a, "edge-ask-a", ASKING), (c, "edge-ask-c", ASKING)):
        db["messages"].insert({"case_id": cid, "message_key": key, "sender": "amazon",
                               "sent_at": "2099-01-01T00:00:00Z", "text": text})
    items = checklists.refresh(db, a)
    checklists.set_done(db, a, items[0]["id"], True)
    checklists.set_note(db, a, items[1]["id"], "asked the supplier")
    ev = evidence.attach(db, a, PDF, "invoice.pdf", item_id=items[0]["id"])
    evidence.attach(db, a, PDF + b"loose", "other.pdf")
    first = drafts.ensure(db, a)
    drafts.save(db, a, first["id"], "Our answer, no placeholders left.")
    drafts.mark_ready(db, a, first["id"])
    drafts.mark_sent(db, a, first["id"])
    drafts.ensure(db, a, regenerate=True)  # the person starts the next one themselves
    drafts.ensure(db, b)
    db["messages"].insert({"case_id": b, "message_key": "edge-newer-b", "sender": "amazon",
                           "sent_at": "2099-01-02T00:00:00Z",
                           "text": "Please send photos of the packaging."})
    att = db.execute("select attachment_id from attachments where case_id = ? limit 1",
                     [a]).fetchone()
    if att is None:
        db["attachments"].insert({"case_id": a, "attachment_id": "edge-att",
                                  "message_key": "edge-ask-a", "name": "label.pdf"})
        att = ("edge-att",)
    (home / "att").mkdir()
    (home / "att" / "label.pdf").write_bytes(PDF)
    db.execute("update attachments set local_path = 'att/label.pdf' where case_id = ? "
               "and attachment_id = ?", [a, att[0]])
    db.conn.commit()
    _queue_marks(db, c, d)
    return {"a": a, "b": b, "c": c, "d": d, "evidence": ev["id"], "attachment": att[0]}


def _queue_marks(db, c: str, d: str) -> None:
    """Home's queue as a person leaves it: a case snoozed, one marked nothing to do and
    undone, home marked seen halfway through the changes; and an answer marked sent on
    another owing case, with no draft since (the thread shows the sent copy)."""
    from datetime import UTC, datetime, timedelta

    from companion.queue import marks
    from companion.replies import drafts

    soon = datetime.now(UTC) + timedelta(days=2)
    marks.mark(db, c, "snooze", "answer", "Answer Amazon", soon)
    undone = marks.mark(db, d, "nothing", "none", "This case")
    marks.undo(db, d, undone["id"])
    owing = [r[0] for r in db.execute("select case_id from cases where status = "
                                      "'PendingMerchantAction' order by case_id")]
    e = owing[3]
    draft = drafts.ensure(db, e)
    drafts.save(db, e, draft["id"], "Our answer: the invoices are attached.")
    drafts.mark_ready(db, e, draft["id"])
    drafts.mark_sent(db, e, draft["id"])
    newest = db.execute("select coalesce(max(id), 0) from changes").fetchone()[0]
    marks.mark_seen(db, newest // 2)


NOT_SYNCED = "99999999001"  # a continuation no sync has brought yet


def _v2_rows(db, a: str) -> dict:
    """PORTAL.md v2 on top: a chat (with its turns) and a call in case A; case E
    transferred to F (both stored, linked both ways); G transferred to a case not
    synced yet; H answered a day ago (its reopen window open)."""
    from datetime import UTC, datetime, timedelta

    turns = [{"at": "2026-01-05T10:00:05Z", "name": "Anna", "text": "Pallets missing."},
             {"at": "2026-01-05T10:01:00Z", "name": "Keiko", "text": "Let me check."}]
    db["messages"].insert({"case_id": a, "message_key": "edge-chat", "sender": "seller",
                           "sent_at": "2026-01-05T10:00:05Z", "channel": "chat",
                           "turns": json.dumps(turns),
                           "text": "10:00:05 UTC Anna: Pallets missing.\n"
                                   "10:01:00 UTC Keiko: Let me check."})
    db["messages"].insert({"case_id": a, "message_key": "edge-call", "sender": "amazon",
                           "sent_at": "2026-01-06T09:00:00Z", "channel": "phone",
                           "text": "Outbound call. Walked the seller through the upload."})
    e, f, g = [r[0] for r in db.execute(
        "select case_id from cases where status = 'PendingAmazonAction' "
        "order by case_id limit 3")]
    db.execute("update cases set status = 'Transferred', continued_in = ? "
               "where case_id = ?", [f, e])
    db.execute("update cases set continues = ? where case_id = ?", [e, f])
    db.execute("update cases set status = 'Transferred', continued_in = ? "
               "where case_id = ?", [NOT_SYNCED, g])
    h = db.execute("select case_id from cases where status = 'Answered' "
                   "order by case_id limit 1").fetchone()[0]
    day_ago = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    db["messages"].insert({"case_id": h, "message_key": "edge-answer", "sender": "amazon",
                           "sent_at": day_ago, "text": "We answered your question."})
    db.conn.commit()
    return {"e": e, "f": f, "g": g, "h": h}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    home = tmp_path_factory.mktemp("edges-home")
    path = generate(home / "caselog.db", cases=120, messages=1200, seed=5)
    (home / "replies.toml").write_text("[defaults]\nanswer_within_days = 0\n")
    (home / "templates").mkdir()
    (home / "templates" / "reply.j2").write_text(
        "Case {{ case.case_id }}: {{ ph('what you want to say') }}\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CASELOG_HOME", str(home))
        from companion.queue import derive
        from companion.schema import open_db

        db = open_db(path)
        ids = _seller_work(db, home)
        ids.update(_v2_rows(db, ids["a"]))
        derive.refresh(db)  # what the writers above would have run
        db.conn.close()
    return SimpleNamespace(home=home, db=path, **ids)


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _get(url: str, hx: bool = False) -> tuple[int, str, bytes]:
    headers = {"HX-Request": "true"} if hx else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=60) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


LINK = re.compile(r'(?:href|hx-get)="(/[^"#]*)')


def _shape(path_and_query: str) -> str:
    """URLs that differ only in ids or values count as one kind of page."""
    parts = urlsplit(path_and_query)
    keys = sorted(k.split("=")[0] for k in parts.query.split("&") if k)
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def _seeds(a) -> list[str]:
    return [
        "/", "/timeline", "/timeline?status=PendingMerchantAction", "/timeline?sender=amazon",
        "/timeline?category=Payments", f"/timeline?case={a.a}", "/timeline?q=invoices",
        "/timeline?from=2025-01-01&to=2099-12-31", "/cases", "/cases?owes=yes",
        "/cases?status=Resolved&sort=subject&dir=asc", "/cases?page=2", "/cases?q=invoice",
        "/cases?category=Payments&sort=messages", f"/cases/{a.a}", f"/cases/{a.b}",
        f"/cases/{a.c}", f"/cases/{a.d}", f"/cases/{a.a}?order=newest",
        f"/cases/{a.a}/replies", f"/cases/{a.a}/dossier", f"/cases/{a.b}/dossier",
        f"/cases/{a.c}/dossier", f"/cases/{a.d}/dossier",
        f"/cases/{a.a}/evidence/{a.evidence}", f"/cases/{a.a}/attachments/{a.attachment}",
        "/search?q=invoice", "/search?q=", "/sync/status", "/cases/00000000000",
        "/no/such/page", f"/cases/{a.a}/evidence/999999", "/static/app.css",
        "/timeline?from=0001-01-01&to=0001-01-01", "/timeline?q=%00", "/cases?q=%00",
        "/search?q=%00", "/cases?page=99999999999999999999",
        f"/cases/{a.a}/evidence/99999999999999999999",
        "/timeline?channel=chat", "/timeline?channel=phone&sender=amazon",
        "/timeline?channel=email&status=Transferred", "/cases?status=Transferred",
        f"/cases/{a.e}", f"/cases/{a.f}", f"/cases/{a.g}", f"/cases/{NOT_SYNCED}",
        f"/cases/{a.h}", f"/cases/{a.e}/dossier", f"/cases/{a.e}/replies",
        "/search?q=pallets", "/search?q=walked",
        # Search by part of a word (migration 22): a case id typed whole (a redirect, a
        # GET like any other), the start of one, of ids, two and one CJK characters.
        f"/search?q={a.a}", f"/search?q={a.a[:5]}", "/search?q=FBA15", "/search?q=B0",
        "/search?q=%E8%AB%8B%E6%B1%82", "/search?q=%E8%AB%8B", "/cases?q=FBA1",
        "/cases?q=%E8%AB%8B%E6%B1%82", "/timeline?q=113-", "/timeline?q=%E8%AB%8B",
        "/queue", "/queue?group=stale", "/queue?group=snoozed", "/queue?page=99999",
        "/cases?sort=deadline&dir=asc", "/cases.csv", "/cases.csv?owes=yes&sort=deadline",
        f"/cases/{a.c}/dossier", f"/timeline?case={a.c}",
        # Accounts (issue 13): notifications, the All accounts pages, an unknown account.
        "/notifications", "/notifications?unread=1", "/all/", "/all/?account=default",
        "/all/?account=nobody&page=99", "/all/notifications", "/all/sync/status",
        "/a/nobody/", "/a/default/cases",
    ]


def _crawl(base: str, seeds: list[str], per_shape: int = 3, cap: int = 400) -> dict:
    """Every seed, then every same-site link the pages hold (``href`` and ``hx-get``),
    at most ``per_shape`` of each kind; each HTML page also as an htmx request."""
    seen: dict[str, tuple] = {}
    shapes: Counter = Counter()
    todo = list(seeds)
    while todo and len(seen) < cap:
        url = todo.pop(0)
        if url in seen:
            continue
        seen[url] = _get(base + url)
        status, ctype, body = seen[url]
        if "text/html" not in ctype or "attachment" in url or "dossier" in url:
            continue
        seen[url + " (htmx)"] = _get(base + url, hx=True)
        for link in LINK.findall(body.decode(errors="replace")):
            link = html_mod.unescape(link)
            if link.startswith("/static/") or link in seen:
                continue
            shapes[_shape(link)] += 1
            if shapes[_shape(link)] <= per_shape:
                todo.append(link)
    return seen


HOLD = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
print("ready", flush=True)
sys.stdin.read()
conn.close()
"""


def test_every_get_leaves_the_database_byte_for_byte_unchanged(archive):
    db_file, wal = archive.db, Path(str(archive.db) + "-wal")
    # Another process empties the WAL into the database and keeps a connection open, so
    # that no server connection closing last checkpoints or removes it: both files are
    # then stable unless someone writes. (Not this process: reading the files to hash
    # them would drop its SQLite locks, which POSIX ties to the process.)
    hold = subprocess.Popen([sys.executable, "-c", HOLD, str(db_file)], text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert hold.stdout.readline().strip() == "ready"
        before = (_digest(db_file), _digest(wal))
        assert before[1] is not None  # WAL mode: the file is there, empty
        server = UIServer(db_file, archive.home)
        try:
            pages = _crawl(server.url, _seeds(archive))
        finally:
            server.stop()
        after = (_digest(db_file), _digest(wal))
    finally:
        hold.communicate("", timeout=30)
    assert after == before
    codes = {url: got[0] for url, got in pages.items()}
    assert not [u for u, c in codes.items() if c >= 500], codes
    assert len(pages) > 120 and Counter(codes.values())[200] > 100

    def text(url):
        assert codes[url] == 200, (url, codes[url])
        return pages[url][2].decode()

    # the pages hold what they should, computed without storing it; a draft is written
    # (its template rendered) only when the person opens it, a POST
    never_opened = text(f"/cases/{archive.c}")
    assert 'data-key="invoices:recent"' in never_opened
    assert "Write the draft" in never_opened and 'id="draft-body"' not in never_opened
    stale = text(f"/cases/{archive.b}")
    assert 'data-key="photos:' in stale  # the newer message's ask, not stored yet
    assert "Write the draft" in text(f"/cases/{archive.d}")
    mine = text(f"/cases/{archive.a}")
    assert "invoice.pdf" in mine and "asked the supplier" in mine and "Marked sent" in mine
    assert text(f"/cases/{archive.a}/replies (htmx)").lstrip().startswith('<section id="replies"')
    partial = text("/timeline (htmx)")
    assert "<html" not in partial and '<div id="events"' in partial
    nxt = [u for u in pages if u.startswith("/timeline?after=")]
    assert nxt and codes[nxt[0]] == 200 and 'class="event' in text(nxt[0])
    assert pages[f"/cases/{archive.a}/evidence/{archive.evidence}"][2] == PDF
    assert pages[f"/cases/{archive.a}/attachments/{archive.attachment}"][2] == PDF
    assert "Case " + archive.c in text(f"/cases/{archive.c}/dossier")
    assert codes["/cases/00000000000"] == 404 and codes["/no/such/page"] == 404
    assert codes[f"/cases/{archive.a}/evidence/99999999999999999999"] == 404
    # v2: channels, both ends of a transfer, one not synced yet, a reopen window
    assert 'data-channel="chat"' in mine and 'class="turn"' in mine and "Phone call" in mine
    assert 'data-channel="chat"' in text("/timeline?channel=chat")
    moved = text(f"/cases/{archive.e}")
    assert 'data-testid="continued-in"' in moved and 'data-testid="transfer-reason"' in moved
    assert f'href="/cases/{archive.f}"' in moved and 'id="draft-body"' not in moved
    assert f'href="/cases/{archive.e}"' in text(f"/cases/{archive.f}")
    assert "not synced yet" in text(f"/cases/{archive.g}")
    assert codes[f"/cases/{NOT_SYNCED}"] == 404
    assert b"is not in caselog yet" in pages[f"/cases/{NOT_SYNCED}"][2]
    assert 'data-testid="reopen-window" class="open"' in text(f"/cases/{archive.h}")
    assert "Chat" in text("/search?q=pallets") and "Phone call" in text("/search?q=walked")
    _seller_day_pages(text, pages, archive)


def _seller_day_pages(text, pages: dict, archive) -> None:
    """The crawl's pages of the seller's day held what they should."""
    home = text("/")
    assert 'id="queue"' in home and "What changed since you last looked" in home
    assert "Snoozed until" in text("/queue?group=snoozed")
    assert 'data-kind="mark_snooze"' in text(f"/timeline?case={archive.c}")
    assert pages["/cases.csv"][1].startswith("text/csv")
    assert 'data-testid="sent-copy"' in text(f"/cases/{archive.a}")
    assert pages["/queue?group=stale (htmx)"][0] == 200


# ---- bad parameters: clamped or refused, never a 500 ----------------------------------

@pytest.fixture(scope="module")
def client(archive):
    from webui.app import create_app

    app = create_app(archive.db, {"CASELOG_HOME": str(archive.home)})
    return app.test_client()


# A lone surrogate cannot travel in a URL (its UTF-8 bytes arrive as %ED%A0%80 and are
# decoded with replacement); clean_text's own test covers one that reaches a query.
BAD = ["\x00", "%00", "a\x00b", "%ED%A0%80", "%FF", "x" * 5000, "'\"", "*",
       "-1", "0", "99999999999999999999", "1e9", "NEAR(", "\u202e", "%EF%BF%BF"]
PARAMS = {
    "/timeline": ["status", "category", "sender", "channel", "case", "from", "to", "q",
                  "after", "day"],
    "/cases": ["status", "category", "q", "owes", "sort", "dir", "page"],
    "/search": ["q"],
    "/cases/{a}": ["order"],
    "/sync/status": ["x"],
    "/cases/{a}/replies": ["x"],
    "/queue": ["group", "page"],
    "/all/": ["account", "page"],
    "/notifications": ["unread"],
    "/cases.csv": ["status", "category", "q", "owes", "sort", "dir"],
}


def test_no_query_parameter_value_is_a_server_error(client, archive):
    bad = []
    for route, names in PARAMS.items():
        path = route.format(a=archive.a)
        for name in names:
            for value in BAD:
                partial = route in ("/timeline", "/cases", "/search", "/queue")
                for hx in ({}, {"HX-Request": "true"}) if partial else ({},):
                    r = client.get(f"{path}?{name}={value}", headers=hx)
                    if r.status_code >= 500:
                        bad.append((path, name, value, r.status_code))
    assert bad == []


def test_out_of_range_values_are_clamped_to_what_the_page_shows(client, archive):
    page = client.get("/timeline?from=0001-01-01&to=0001-01-01").get_data(as_text=True)
    assert 'value="1970-01-02"' in page and "No events match these filters" in page
    page = client.get("/timeline?to=9999-12-31").get_data(as_text=True)
    assert 'value="9998-12-31"' in page and 'class="event' in page
    total = client.get("/cases").get_data(as_text=True)
    pages = re.search(r"page 1 of (\d+)", total).group(1)
    last = client.get("/cases?page=99999999999999999999").get_data(as_text=True)
    assert f"page {pages} of {pages}" in last and "Next page" not in last
    r = client.get("/cases?page=99999999999999999999", headers={"HX-Request": "true"})
    assert r.headers["HX-Push-Url"] == f"/cases?page={pages}"
    for url in ("/timeline?q=%00", "/cases?q=%00", "/search?q=%00"):
        assert client.get(url).status_code == 200, url
    assert 'id="s-q" name="q" type="search" value=""' in client.get(
        "/search?q=%00").get_data(as_text=True)
    hits = client.get("/search?q=invoice%00").get_data(as_text=True)
    assert "<mark>" in hits  # the NUL goes, the word is searched
    page = client.get("/timeline?status=Bogus&sender=robot").get_data(as_text=True)
    assert "Filtered:" not in page  # unknown values are dropped, not echoed
    # a cursor SQLite could not hold reads as the first page
    first = client.get("/timeline").get_data(as_text=True)
    odd = client.get("/timeline?after=2026-01-01T00:00:00Z~2~99999999999999999999")
    assert odd.status_code == 200 and "Older events. " not in odd.get_data(as_text=True)
    assert re.findall(r'data-key="([^"]+)"', odd.get_data(as_text=True))[:5] == \
        re.findall(r'data-key="([^"]+)"', first)[:5]


def test_bad_form_values_are_messages_not_errors(client, archive):
    html = client.get(f"/cases/{archive.c}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    hx = {"HX-Request": "true", "X-CSRF-Token": token}
    cases = [("draft", {"draft_id": "99999999999999999999", "body": "x"},
              f"no draft {2**63 - 1} in case"),
             ("draft/sent", {"draft_id": "-5"}, "no draft 0"),
             ("checklist/done", {"item": "a\x00b", "done": "1"}, "no longer on this case"),
             ("checklist/note", {"item": "x" * 5000, "note": "n"}, "no longer on this case"),
             ("checklist/add", {"text": "\x00\x00"}, "an item needs some text")]
    for action, data, message in cases:
        r = client.post(f"/cases/{archive.c}/{action}", headers=hx, data=data)
        assert r.status_code == 200 and message in r.get_data(as_text=True), action


# ---- serve on another loopback address ------------------------------------------------

def test_serve_on_127_0_0_2_answers_at_the_address_it_prints(archive):
    port = free_port()
    log = archive.home / "serve-127.0.0.2.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "companion", "serve", "--host", "127.0.0.2", "--port",
             str(port), "--db", str(archive.db)], cwd=ROOT, stdout=out,
            stderr=subprocess.STDOUT, env={**os.environ, "CASELOG_HOME": str(archive.home)})
    try:
        url = f"http://127.0.0.2:{port}/"
        wait_http(url + "sync/status", proc)
        printed = re.search(r"caselog UI: (\S+)", log.read_text()).group(1)
        assert printed == url
        status, _, body = _get(printed)
        assert status == 200 and b"Your Case Log" in body
        # the Host check still refuses other names on that address
        req = urllib.request.Request(url, headers={"Host": f"rebind.example:{port}"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=30)
        assert err.value.code == 403
    finally:
        stop_process(proc)
