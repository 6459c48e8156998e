"""Notifications without a portal: the events of a sync (one per case; a transfer says
it all), deadlines due within a day, storing once per event, read and unread, the
message text only when asked for, and the desktop channel through a real session bus
with a stand-in notification server (and no error where there is no bus)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils
from replies_helpers import add_case

from companion.notify import channels, events, list_notifications, mark_read, store
from companion.notify import settings as notify_settings
from companion.notify.deliver import record_sync, tell
from companion.schema import open_db
from fixtures.harness import run_async

SECRET_TEXT = "Please send the invoice for order 113-0000000-1234567 within 3 days."


@pytest.fixture
def db(caselog_home):
    """A caselog database the coroutines under test may use from their own thread."""
    open_db(caselog_home / "caselog.db").close()
    conn = sqlite_utils.Database(sqlite3.connect(caselog_home / "caselog.db",
                                                 check_same_thread=False))
    now = datetime.now(UTC)
    ago = (now - timedelta(days=2, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    add_case(conn, "20000000001", "Payment on hold", "PendingMerchantAction", "Payments",
             [("seller", 5, "Where is my money?"), ("amazon", 0, SECRET_TEXT)])
    add_case(conn, "20000000002", "Listing down", "Transferred", "Listings", [])
    conn["cases"].update("20000000002", {"continued_in": "20000000009"})
    add_case(conn, "20000000003", "Deadline case", "PendingMerchantAction", "Other", [])
    conn["messages"].insert({"case_id": "20000000003", "message_key": "d", "sender": "amazon",
                             "sent_at": ago, "text": "We need more information."})
    conn["changes"].insert_all([
        {"sync_id": 7, "case_id": "20000000001", "kind": "new_reply", "detail": '{"count": 1}'},
        {"sync_id": 7, "case_id": "20000000001", "kind": "status_change",
         "detail": '{"from": "PendingAmazonAction", "to": "PendingMerchantAction"}'},
        {"sync_id": 7, "case_id": "20000000002", "kind": "new_reply", "detail": "{}"},
        {"sync_id": 7, "case_id": "20000000002", "kind": "status_change",
         "detail": '{"from": "PendingAmazonAction", "to": "Transferred"}'},
        {"sync_id": 7, "case_id": "20000000001", "kind": "new_case", "detail": "{}"},
    ])
    return conn


def test_one_event_per_case_with_id_subject_and_change_but_no_text(db):
    found = events.sync_events(db, "shop2", 7)
    assert [(e.kind, e.case_id) for e in found] == [("reply", "20000000001"),
                                                    ("transfer", "20000000002")]
    reply, transfer = found
    assert reply.title == "[shop2] Amazon replied in case 20000000001"
    assert "Payment on hold" in reply.body and "-> Needs your attention" in reply.body
    assert SECRET_TEXT not in reply.body and "20000000009" in transfer.body
    with_text = events.sync_events(db, "default", 7, include_text=True)
    assert SECRET_TEXT in with_text[0].body and not with_text[0].title.startswith("[")


def test_answers_due_within_a_day_are_told_once_per_due_date(db):
    (due,) = events.deadline_events(db, "shop2")
    assert due.kind == "deadline" and due.case_id == "20000000003"
    assert "Answer Amazon within 12 h" in due.title and "Deadline case" in due.body
    quiet = notify_settings.Settings(desktop=False)
    first = run_async(tell(db, "shop2", [due], quiet))
    again = run_async(tell(db, "shop2", events.deadline_events(db, "shop2"), quiet))
    assert len(first) == 1 and again == []


def test_stored_once_listed_newest_first_and_marked_read(db):
    quiet = notify_settings.Settings(desktop=False)
    run_async(tell(db, "shop2", events.sync_events(db, "shop2", 7), quiet, sync_id=7))
    run_async(tell(db, "shop2", events.sync_events(db, "shop2", 7), quiet, sync_id=7))
    rows = list_notifications(db)
    assert [r["kind"] for r in rows] == ["transfer", "reply"]
    assert store.unread_count(db) == 2 and rows[0]["account"] == "shop2"
    assert mark_read(db, [rows[1]["id"]]) == 1 and store.unread_count(db) == 1
    assert [r["kind"] for r in list_notifications(db, unread_only=True)] == ["transfer"]
    assert mark_read(db) == 1 and store.unread_count(db) == 0


def test_a_sync_a_person_ran_stores_its_events_for_the_ui_and_sends_nothing(db, monkeypatch):
    async def no_send(settings, title, body):
        raise AssertionError(f"sent {title!r}")

    monkeypatch.setattr(channels, "send", no_send)
    assert record_sync(db, "default", 7) == 3  # the reply, the transfer, the deadline
    assert record_sync(db, "default", 7) == 0
    assert store.unread_count(db) == 3
    # a watch round after it finds them stored: it sends none of them again
    found = events.sync_events(db, "default", 7) + events.deadline_events(db, "default")
    assert run_async(tell(db, "default", found, notify_settings.Settings())) == []


def test_many_updates_at_once_send_a_few_then_one_summary(db, monkeypatch):
    sent = []

    async def fake_send(settings, title, body):
        sent.append(title)
        return [channels.Delivery("fake", True, "sent")]

    monkeypatch.setattr(channels, "send", fake_send)
    many = [events.Event("reply", f"k{i}", f"Amazon replied in case {i}", "b", str(i))
            for i in range(12)]
    out = run_async(tell(db, "default", many, notify_settings.Settings()))
    assert len(out) == 12 and len(sent) == 6 and sent[-1] == "7 more case updates"


def test_no_desktop_session_is_no_error(monkeypatch):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setattr(channels, "USER_BUS", "/nonexistent/{uid}/bus")
    got = run_async(channels.send_desktop("t", "b"))
    assert not got.ok and got.detail.startswith("skipped: no desktop session")


@pytest.mark.skipif(not shutil.which("dbus-daemon"), reason="needs dbus-daemon")
def test_a_desktop_notification_reaches_the_session_bus(monkeypatch):
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                               "--print-address=1"], stdout=subprocess.PIPE, text=True)
    try:
        address = daemon.stdout.readline().strip()
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        shown = run_async(_through_a_notification_server())
    finally:
        daemon.terminate()
        daemon.wait(10)
    delivery, got = shown
    assert delivery.ok and delivery.detail == "shown"
    assert got == [("caselog", "[shop2] Case 1: replied", "Case 1: a subject")]


async def _through_a_notification_server():
    """A stand-in for the desktop's notification daemon on the bus, then one send."""
    from dbus_fast.aio import MessageBus
    from dbus_standin import NotificationServer

    server = NotificationServer()
    bus = await MessageBus().connect()
    bus.export("/org/freedesktop/Notifications", server)
    await bus.request_name("org.freedesktop.Notifications")
    try:
        delivery = await channels.send_desktop("[shop2] Case 1: replied", "Case 1: a subject")
    finally:
        bus.disconnect()
    return delivery, server.got
