"""PORTAL.md v2 in the read models and documented replies, on a real SQLite file: the
5-day reopen rule (window, reminders, situations, drafts, notes) table by table, a
transferred case (no draft, the continuation first among related cases, both links),
chats and calls (turns, fallback, the timeline's channel filter, search), and status
labels wherever a person reads a status (dossier, CLI). The pages themselves are
tested in a real browser in ``test_webui_v2_browser.py``."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from replies_helpers import NOW, _t, add_case, page_token, seeded_db, web_client

from companion.read import search, thread, timeline
from companion.replies import dossier, drafts, panels, related, reminders, window
from companion.replies.situation import situation_of
from fixtures.harness import run_caselog

SETTINGS = {**reminders.DEFAULTS}


@pytest.fixture
def db(caselog_home):
    return seeded_db(caselog_home)


@pytest.fixture
def client(caselog_home, db):
    return web_client(caselog_home, db)


def test_the_default_window_is_amazons_five_days():
    assert reminders.DEFAULTS["reopen_window_days"] == 5
    assert "PORTAL.md" in reminders.__doc__ and "PORTAL.md" in window.__doc__


# --- the window itself -------------------------------------------------------------

@pytest.mark.parametrize("days_ago,passed,days_left", [
    (0, False, 5),
    (2, False, 3),
    (4.5, False, 0),                  # less than a day left
    (5, False, 0),                    # the very second it closes: still open (portal: <=)
    (5 + 1 / 86400, True, -1),        # one second later: closed
    (30, True, -25),
])
def test_answered_window_closes_five_days_after_the_last_message(days_ago, passed, days_left):
    last = NOW - timedelta(days=days_ago)
    w = window.answered(last, SETTINGS, NOW)
    assert w["closes_at"] == window.iso(last + timedelta(days=5))
    assert (w["passed"], w["days_left"], w["rule"], w["estimated"]) == (
        passed, days_left, "answered", False)
    assert bool(window.advice(w, "1")) is passed
    if passed:
        assert "open a new case" in window.advice(w, "1") and "5 days" in window.advice(w, "1")


def test_last_activity_is_the_latest_of_either_side_or_the_listing():
    assert window.last_activity(None, _t(3), _t(1), "nonsense") == window.parse(_t(1))
    assert window.last_activity(None, None) is None
    assert window.answered(None, SETTINGS, NOW) is None


# --- reminders ------------------------------------------------------------------------

def _row(**kw):
    return {"case_id": "1", "subject": "s", "status": "Answered", "category": "Payments",
            "created_at": _t(40), "last_amazon_reply_at": None, "last_amazon": None,
            "last_seller": None, "last_sent": None, "last_amazon_text": None, **kw}


@pytest.mark.parametrize("row,due_in_days,label,listed", [
    # Amazon answered 2 days ago: the window closes in 3; listed as due (warn: 5 days)
    (_row(last_amazon=_t(2), last_seller=_t(6)), 3, "Reopen window closes", "due"),
    # the seller wrote after Amazon's answer: the window counts from that
    (_row(last_amazon=_t(2), last_seller=_t(1)), 4, "Reopen window closes", "due"),
    # the listing saw a newer Amazon reply than the stored thread holds
    (_row(last_amazon=_t(2), last_amazon_reply_at=_t(0.5)), 4.5, "Reopen window closes", "due"),
    # closed a day ago: said so (for 7 days), what to do instead in the note
    (_row(last_amazon=_t(6)), -1, "Cannot be reopened", "overdue"),
    # closed 8 days ago: the case page still says so, home and timeline leave it
    (_row(last_amazon=_t(13)), -8, "Cannot be reopened", None),
])
def test_reopen_reminder_of_an_answered_case(row, due_in_days, label, listed):
    config = {"defaults": dict(SETTINGS), "categories": {}, "seller": {}}
    rem = reminders.reminder_for(row, config, NOW)
    assert rem["kind"] == "reopen" and rem["label"] == label
    assert rem["due_at"] == reminders.iso(NOW + timedelta(days=due_in_days))
    assert ("new case" in rem["note"]) is (due_in_days < 0)
    lists = reminders.split_due([rem], NOW, config)
    where = [k for k, v in lists.items() if v]
    assert where == ([listed] if listed else [])
    event = reminders.timeline_events(None, NOW, rems=[rem], config=config)
    assert [e["reminder_kind"] for e in event] == (["reopen"] if listed else [])


def test_reopen_reminder_waits_for_its_warning_and_goes_once_acted_on():
    config = {"defaults": {**SETTINGS, "reopen_warn_days": 1}, "categories": {}, "seller": {}}
    rem = reminders.reminder_for(_row(last_amazon=_t(2)), config, NOW)
    assert reminders.split_due([rem], NOW, config) == {"overdue": [], "due": []}
    later = NOW + timedelta(days=2, hours=1)  # less than a day before it closes
    assert [r["case_id"] for r in reminders.split_due([rem], later, config)["due"]] == ["1"]
    # the person marked a reply sent after the last message: nothing to remind
    assert reminders.reminder_for(_row(last_amazon=_t(2), last_sent=_t(1)), config, NOW) is None


@pytest.mark.parametrize("status,kind,due_in_days", [
    ("PENDING_MERCHANT_ACTION", "answer", 1),     # Amazon wrote 2 days ago; 3 to answer
    ("PENDING_AMAZON_ACTION", "follow_up", 5),    # silent 2 days; follow up after 7
])
def test_a_case_only_the_support_api_has_seen_gets_its_reminder(status, kind, due_in_days):
    config = {"defaults": dict(SETTINGS), "categories": {}, "seller": {}}
    rem = reminders.reminder_for(_row(status=status, last_amazon=_t(2)), config, NOW)
    assert rem["kind"] == kind
    assert rem["due_at"] == reminders.iso(NOW + timedelta(days=due_in_days))


def test_the_window_is_a_setting(caselog_home, db):
    add_case(db, "10000000008", "Answered a week ago", "Answered", "Payments",
             [("seller", 9, "Where is the money?"), ("amazon", 7, "It was paid.")])
    assert reminders.for_cases(db, ["10000000008"], NOW)["10000000008"]["overdue"]
    (caselog_home / "replies.toml").write_text("[defaults]\nreopen_window_days = 10\n")
    rem = reminders.for_cases(db, ["10000000008"], NOW)["10000000008"]
    assert not rem["overdue"] and rem["due_at"] == _t(-3)
    assert drafts.context(db, "10000000008", now=NOW)["situation"] == "reopen"


# --- situations, drafts and their notes -------------------------------------------------

@pytest.mark.parametrize("status,reopen,asks,expected", [
    ("Answered", {"passed": False, "estimated": False, "can_reopen": 1}, [], "reopen"),
    ("Answered", {"passed": True, "estimated": False, "can_reopen": 1}, [], "new_case"),
    ("Answered", {"passed": True, "estimated": False, "can_reopen": 1}, [{"kind": "x"}],
     "asked"),
    ("Closed", {"passed": False, "estimated": True, "can_reopen": 1}, [], "reopen"),
    ("Closed", {"passed": True, "estimated": True, "can_reopen": 1}, [], "reopen"),
    ("Closed", {"passed": False, "estimated": True, "can_reopen": 0}, [], "new_case"),
    ("Transferred", None, [], None),
    ("Transferred", None, [{"kind": "x"}], None),
    ("PendingAmazonAction", None, [], "follow_up"),
])
def test_situation_table(status, reopen, asks, expected):
    assert situation_of(status, "Payments", asks, reopen) == expected


def test_answered_case_within_its_window_gets_a_reopen_draft_that_says_until_when(db):
    add_case(db, "10000000008", "Payout still missing", "Answered", "Payments",
             [("seller", 6, "Where is the money?"), ("amazon", 2, "It was paid.")])
    ctx = drafts.context(db, "10000000008", now=NOW)
    assert ctx["situation"] == "reopen" and ctx["reopen"]["closes_at"] == _t(-3)
    notes = drafts.notes(ctx)
    assert any("only within 5 days of its last message: reopen by "
               + window.local_moment(NOW + timedelta(days=3)) + " (3 days left)" in n
               for n in notes), notes
    assert "Please reopen case 10000000008" in drafts.render(db, "10000000008", now=NOW)[2]


def test_after_the_window_the_draft_is_a_new_case_citing_this_one(db):
    add_case(db, "10000000008", "Payout still missing", "Answered", "Payments",
             [("seller", 9, "Where is the money?"), ("amazon", 6, "It was paid.")])
    ctx = drafts.context(db, "10000000008", now=NOW)
    assert ctx["situation"] == "new_case" and ctx["reopen"]["passed"]
    situation, template, body = drafts.render(db, "10000000008", now=NOW)
    assert (situation, template) == ("new_case", "new_case.j2")
    assert "about the issue of case 10000000008" in body
    assert "can no longer be reopened" in body and "Please reopen" not in body
    [note] = drafts.notes(ctx)
    assert "does not reopen an answered case after 5 days with no activity" in note
    assert "open a new case in Seller Central and cite case 10000000008" in note
    # an untouched stored reopen draft follows the case into its new situation
    db["cases"].update("10000000008", {"status": "Answered"})
    assert drafts.ensure(db, "10000000008")["situation"] == "new_case"


def test_closed_without_a_reopen_button_is_a_new_case_too(db):
    db["cases"].update("10000000003", {"can_reopen": 0})
    ctx = drafts.context(db, "10000000003", now=NOW)
    assert ctx["situation"] == "new_case"
    assert any("no Reopen button" in n for n in drafts.notes(ctx))


def _transfer(db, source="10000000002", target="10000000009", store_target=True):
    db["cases"].update(source, {"status": "Transferred", "continued_in": target,
                                "can_edit": 0, "can_reopen": 0})
    if store_target:
        add_case(db, target, "Lost inventory (continued)", "PendingAmazonAction",
                 "FBA Inventory and Reimbursement",
                 [("amazon", 1, f"This case continues case {source}.")], created=_t(1))
        db["cases"].update(target, {"continues": source})


def test_a_transferred_case_has_no_draft_and_says_where_to_write(db):
    before = drafts.ensure(db, "10000000002")  # drafted while it was open
    _transfer(db)
    assert drafts.context(db, "10000000002", now=NOW)["situation"] is None
    for act in (lambda: drafts.ensure(db, "10000000002"),
                lambda: drafts.ensure(db, "10000000002", regenerate=True),
                lambda: drafts.for_edit(db, "10000000002", before["id"]),
                lambda: drafts.render(db, "10000000002")):
        with pytest.raises(drafts.DraftError, match="transferred to case 10000000009.*"
                                                    "Write to Amazon in case 10000000009"):
            act()
    panel = panels.case_panel(db, "10000000002", NOW)
    assert panel["draft"] is None and panel["reminder"] is None
    assert panel["transfer"]["continued_in"] == "10000000009" and panel["transfer"]["stored"]
    assert panel["transfer"]["old_draft"]["id"] == before["id"]  # kept, shown read-only
    assert "10000000002" not in {r["case_id"] for r in reminders.due(db, NOW)["overdue"]}


def test_related_cases_put_the_continuation_first_stored_or_not(db):
    _transfer(db)
    first = related.find(db, "10000000002")[0]
    assert (first["case_id"], first["transfer"], first["stored"]) == ("10000000009", True, True)
    assert first["reasons"][0] == "continues this case (transferred)"
    back = related.find(db, "10000000009")[0]
    assert back["case_id"] == "10000000002" and back["reasons"][0] == \
        "the case this one continues"
    db["cases"].update("10000000003", {"status": "Transferred", "continued_in": "10000000077"})
    first = related.find(db, "10000000003")[0]
    assert (first["case_id"], first["stored"], first["subject"]) == ("10000000077", False, None)


def test_pages_link_both_ends_and_explain_one_not_synced_yet(client, db):
    _transfer(db, store_target=False)
    db.conn.commit()
    page = client.get("/cases/10000000002").get_data(as_text=True)
    assert re.search(r'data-testid="continued-in">Continued in <a href="/cases/10000000009">'
                     r"case 10000000009</a> <span class=\"meta\">\(not synced yet", page)
    assert 'data-testid="transfer-reason"' in page and 'id="draft-body"' not in page
    missing = client.get("/cases/10000000009")
    text = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "is not in caselog yet" in text
    assert "/cases/10000000002" in text and "is continued in case 10000000009" in text
    assert client.get("/cases/10000000010").status_code == 404  # named by nobody
    token, _ = page_token(client, "10000000001")
    r = client.post("/cases/10000000002/draft/regenerate", data={"csrf_token": token},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200 and "was transferred to case 10000000009" in r.get_data(
        as_text=True)
    assert db["drafts"].count == 0


# --- channels -----------------------------------------------------------------------------

TURNS = [{"at": "2026-03-19T10:00:05Z", "name": "Anna", "text": "Hi, 12 units are missing."},
         {"at": None, "name": "Keiko", "text": "Let me check."}]


@pytest.mark.parametrize("channel,turns,text,expected", [
    (None, None, "a\nb", ("email", "", [])),
    ("fax", None, "a", ("email", "", [])),
    ("phone", None, "Outbound call.\nNotes.", ("phone", "Phone call", [])),
    ("chat", json.dumps(TURNS), "ignored", ("chat", "Chat", TURNS)),
    ("chat", "not json", "10:00 Anna: hi\n\n  10:01 Keiko: yes ",
     ("chat", "Chat", [{"at": None, "name": None, "text": "10:00 Anna: hi"},
                       {"at": None, "name": None, "text": "10:01 Keiko: yes"}])),
    ("chat", "[]", "one line", ("chat", "Chat", [{"at": None, "name": None,
                                                  "text": "one line"}])),
    ("chat", json.dumps([{"text": 5}, "x", {"text": "ok", "at": 7, "name": " "}]), "",
     ("chat", "Chat", [{"at": None, "name": None, "text": "ok"}])),
])
def test_a_message_reads_by_its_channel(channel, turns, text, expected):
    m = thread.present({"channel": channel, "turns": turns, "text": text})
    assert (m["channel"], m["channel_label"], m["turns"]) == expected


def _channels(db):
    for key, sender, channel, text in (
            ("chat-1", "seller", "chat", "10:00:05 UTC Anna: the pallets are missing"),
            ("call-1", "amazon", "phone", "Outbound call. Walked the seller through it."),
            ("mail-1", "amazon", "email", "An e-mail about pallets.")):
        db["messages"].insert({"case_id": "10000000002", "message_key": key, "sender": sender,
                               "sent_at": _t(1), "text": text, "channel": channel})


@pytest.mark.parametrize("filters,keys", [
    ({"channel": "chat"}, ["chat-1"]),
    ({"channel": "phone"}, ["call-1"]),
    ({"channel": "email", "case": "10000000002"}, ["10000000002-0", "mail-1"]),  # NULL too
    ({"channel": "phone", "sender": "amazon"}, ["call-1"]),
    ({"channel": "chat", "sender": "amazon"}, []),
    ({"sender": "seller", "case": "10000000002"}, ["10000000002-0", "chat-1"]),
])
def test_timeline_channel_filter(db, filters, keys):
    _channels(db)
    clean = timeline.clean_filters({**filters, "x": "y"})
    assert clean == filters
    found = timeline.events(db, clean)["events"]
    assert sorted(e["message_key"] for e in found) == keys
    assert all(e["kind"] == "message" for e in found)


def test_unknown_channel_is_dropped_and_search_finds_chats_and_calls(db):
    assert timeline.clean_filters({"channel": "fax"}) == {}
    _channels(db)
    hits = search.search(db, "pallets")["messages"]
    assert {(m["message_key"], m["channel"]) for m in hits} == {("chat-1", "chat"),
                                                                ("mail-1", "email")}
    assert [m["channel"] for m in search.search(db, "walked")["messages"]] == ["phone"]


# --- status labels where a person reads them ---------------------------------------------

def test_dossier_speaks_labels_channels_and_transfers(db):
    _transfer(db)
    _channels(db)
    db["status_history"].insert({"case_id": "10000000002", "status": "Transferred",
                                 "previous_status": "PendingAmazonAction",
                                 "observed_at": _t(0.5)})
    html = dossier.build(db, "10000000002")
    assert "PendingAmazonAction" not in html and "Transferred" in html
    assert "Work in progress" in html and "Continued in case" in html
    assert ">Chat<" in html and "Amazon's notes of the call" in html
    assert "<strong>Anna:</strong>" not in html  # no stored turns: the line as it is
    assert "No draft: Case 10000000002 was transferred to case 10000000009" in html
    assert "continues this case (transferred)" in html
    assert "PendingMerchantAction" not in dossier.build(db, "10000000001")


def test_cli_outputs_say_labels_and_the_reopen_rule(caselog_home, db):
    add_case(db, "10000000008", "Payout still missing", "Answered", "Payments",
             [("seller", 9, "Where is the money?"), ("amazon", 6, "It was paid.")],
             created=reminders.iso(NOW - timedelta(days=9)))
    # these rows are relative to the test's NOW; the CLI runs at the real now, so the
    # answered case's last message is moved to six days before it
    from datetime import UTC, datetime
    real = datetime.now(UTC)
    db.execute("update messages set sent_at = ? where case_id = '10000000008' and "
               "sender = 'amazon'", [reminders.iso(real - timedelta(days=6))])
    _transfer(db)
    db.conn.commit()
    env = {"CASELOG_HOME": str(caselog_home)}
    r = run_caselog("reminders", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if "10000000008" in x)
    assert "Answered  Cannot be reopened (Its reopen window has closed" in line
    assert "Pending" not in r.stdout and "Needs your attention" in r.stdout
    r = run_caselog("draft", "10000000008", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "can no longer be reopened" in r.stdout
    assert "-- new_case draft, revision 1, draft (case 10000000008: Answered)" in r.stderr
    assert "open a new case in Seller Central and cite case 10000000008" in r.stderr
    r = run_caselog("draft", "10000000002", env=env, timeout=60)
    assert r.returncode == 1 and "Write to Amazon in case 10000000009" in r.stderr
    r = run_caselog("checklist", "10000000001", env=env, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith(
        "Case 10000000001 (Needs your attention): Appeal")
