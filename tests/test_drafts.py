"""Drafts on a real SQLite file: the situation each case is in, the templates' text,
placeholders that block "ready", the sandbox against hostile template text, and user
templates rendered once per inputs, one child process at a time."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from replies_helpers import ASKING, NOW, PDF, _t, add_case, seeded_db, web_client

from companion.replies import checklists, drafts, evidence, sandbox
from companion.replies.sandbox import DraftTemplateError
from companion.schema import open_db
from fixtures.harness import wait_until


@pytest.fixture
def db(caselog_home):
    return seeded_db(caselog_home)


@pytest.fixture
def client(caselog_home, db):
    return web_client(caselog_home, db)


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
    # the answer is out: no new draft starts by itself until Amazon writes again
    assert drafts.preview(db, "10000000001") is None
    with pytest.raises(drafts.DraftError, match="when Amazon writes again"):
        drafts.ensure(db, "10000000001")
    db["messages"].insert({"case_id": "10000000001", "message_key": "later",
                           "sender": "amazon", "sent_at": "2099-01-01T00:00:00Z",
                           "text": "Thank you, we need one more document."})
    assert drafts.preview(db, "10000000001")["id"] is None  # Amazon wrote: a new one
    assert drafts.ensure(db, "10000000001")["id"] != d["id"]


def test_a_new_draft_after_an_answer_only_when_the_person_asks(db):
    d = drafts.ensure(db, "10000000001")
    drafts.save(db, "10000000001", d["id"], "Our answer.")
    drafts.mark_ready(db, "10000000001", d["id"])
    drafts.mark_sent(db, "10000000001", d["id"])
    assert drafts.answered_at(db, "10000000001")
    fresh = drafts.ensure(db, "10000000001", regenerate=True)  # "Start a new draft"
    assert fresh["id"] != d["id"] and drafts.preview(db, "10000000001")["id"] == fresh["id"]


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




# --- a person's template: rendered once per inputs, one child at a time ---------------

@pytest.fixture
def child_runs(monkeypatch):
    """Counts the isolated renders (child processes) and the most running at once."""
    real = sandbox._run_child
    runs = {"count": 0, "active": 0, "most": 0}
    lock = threading.Lock()

    def spy(*args):
        with lock:
            runs["count"] += 1
            runs["active"] += 1
            runs["most"] = max(runs["most"], runs["active"])
        try:
            return real(*args)
        finally:
            with lock:
                runs["active"] -= 1

    monkeypatch.setattr(sandbox, "_run_child", spy)
    return runs


SLOW = ("{% for i in range(60000) %}{% endfor %}"
        "Case {{ case.case_id }}, last word on {{ last_amazon_message_on }}\n")


def _together(n: int, fn) -> list:
    """Run ``fn(i)`` in ``n`` threads released at once; their results in order."""
    start = threading.Barrier(n)
    out: list = [None] * n

    def run(i):
        start.wait()
        out[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def test_eight_views_of_a_slow_template_render_nothing_until_the_draft_is_opened(
        caselog_home, client, db, child_runs):
    import re

    (caselog_home / "templates").mkdir()
    (caselog_home / "templates" / "reply.j2").write_text(SLOW)
    app = client.application

    def view(_):
        c = app.test_client()
        c.environ_base["HTTP_HOST"] = "127.0.0.1"
        r = c.get("/cases/10000000005")
        return r.status_code, r.get_data(as_text=True)

    pages = _together(8, view)
    assert all(code == 200 and "Write the draft" in html for code, html in pages)
    assert child_runs["count"] == 0  # looking renders no template
    assert db["drafts"].count == 0
    # the person opens the draft: rendered once, stored, then shown as stored
    html = client.get("/cases/10000000005").get_data(as_text=True)
    tok = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post("/cases/10000000005/draft/open",
                    headers={"HX-Request": "true", "X-CSRF-Token": tok})
    assert "Case 10000000005, last word on March 15, 2026" in r.get_data(as_text=True)
    assert child_runs["count"] == 1 and db["drafts"].count == 1
    assert all("last word on March 15, 2026" in html for _, html in _together(4, view))
    assert child_runs["count"] == 1
    # a broken template says so when the person asks for the draft, and stores nothing
    (caselog_home / "templates" / "reply.j2").write_text("{{ 'x'.center(9999999999) }}")
    r = client.post("/cases/10000000005/draft/regenerate",
                    headers={"HX-Request": "true", "X-CSRF-Token": tok})
    assert "used too much memory" in r.get_data(as_text=True)


def test_isolated_renders_run_one_at_a_time_and_the_queue_is_bounded(
        caselog_home, db, child_runs, monkeypatch):
    db.conn.commit()
    path = caselog_home / "caselog.db"

    def render(i):
        conn = open_db(path)
        try:
            return drafts.render_string(SLOW + f"{i}", conn, "10000000005")
        finally:
            conn.conn.close()

    bodies = _together(6, render)
    assert [b.endswith(f"{i}") for i, b in enumerate(bodies)] == [True] * 6
    assert child_runs["count"] == 6 and child_runs["most"] == 1
    # with the queue full, a view is told to come back instead of piling up
    monkeypatch.setattr(sandbox, "_QUEUE", threading.Semaphore(1))
    release = threading.Event()
    real = sandbox._run_child
    monkeypatch.setattr(sandbox, "_run_child",
                        lambda *a: release.wait(60) and real(*a))
    first = threading.Thread(target=render, args=(100,))
    first.start()
    try:
        wait_until(lambda: sandbox._CHILD.locked(), what="the first render starting")
        with pytest.raises(DraftTemplateError, match="busy rendering other drafts"):
            render(101)
    finally:
        release.set()
        first.join(60)
    assert render(101).endswith("101")  # a busy answer is not remembered
