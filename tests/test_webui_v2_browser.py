"""PORTAL.md v2 in the local UI, in a real Chromium against a real ``caselog serve`` over
a database synced from the bundled portal with v2 data (30 cases, seed 3: chats, calls,
a case already transferred, Answered cases on both sides of the 5-day reopen window).

After the first sync Amazon transfers two more cases (``/__sim/mutate``); the second
sync stores one transfer with its continuation and the other with its continuation
failing (a 404 every time), so one end of a transfer is not synced yet, as happens
when a sync is cut short. One portal, two syncs and one UI server per module; every
test only reads.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sync_helpers import signed_in_and_synced

from fixtures.harness import UIServer, run_caselog, start_portal

PORTAL_ARGS = ("--cases", "30", "--seed", "3", "--v2-data")
API_STATUSES = ("PendingAmazonAction", "PendingMerchantAction")


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    home = tmp_path_factory.mktemp("webui-v2-home")
    portal = start_portal(*PORTAL_ARGS)
    try:
        env = signed_in_and_synced(portal, home)
        moved = portal.sim("mutate", {"transfers": 2})["transfers"]
        assert len(moved) == 2
        # odd positions of failing_cases answer 404 at once (even ones 500, retried)
        portal.sim("faults", {"failing_cases": ["00000000", moved[1]["continued_in"]]})
        second = run_caselog("sync", "--portal", portal.url, env=env, timeout=180)
        assert second.returncode == 1, second.stderr  # partial: the continuation failed
        yield SimpleNamespace(home=home, db=home / "caselog.db", url=portal.url,
                              stored=moved[0], missing=moved[1])
    finally:
        portal.stop()


@pytest.fixture(scope="module")
def ui(v2):
    server = UIServer(v2.db, v2.home, ready_path="/sync/status")
    yield server
    server.stop()


def sql(v2, query, *params):
    con = sqlite3.connect(v2.db)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def local(iso: str, fmt: str = "%d %b %Y %H:%M") -> str:
    """A stored UTC time as the UI shows it (the server runs in this process's zone)."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime(fmt)


def no_serious_axe(page: Page) -> None:
    bad = [v for v in Axe().run(page).response["violations"]
           if v.get("impact") in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


# ---- channels --------------------------------------------------------------------------

def test_a_chat_reads_as_turns_and_a_call_as_amazons_notes(page: Page, ui, v2):
    (case_id,), = sql(v2, "select case_id from messages where channel = 'chat' intersect "
                          "select case_id from messages where channel = 'phone' limit 1")
    chat_key, turns = sql(v2, "select message_key, turns from messages where case_id = ? "
                              "and channel = 'chat'", case_id)[0]
    turns = json.loads(turns)
    call_key, notes = sql(v2, "select message_key, text from messages where case_id = ? "
                              "and channel = 'phone'", case_id)[0]
    page.goto(f"{ui.url}/cases/{case_id}")
    chat = page.locator(f"article.message#m-{chat_key}")
    expect(chat).to_have_attribute("data-channel", "chat")
    expect(chat.get_by_test_id("channel")).to_have_text("Chat")
    rows = chat.locator("ol.turns li.turn")
    expect(rows).to_have_count(len(turns))
    for row, turn in zip(rows.all(), turns, strict=True):
        expect(row.locator(".who")).to_have_text(turn["name"])
        expect(row.locator(".said")).to_have_text(turn["text"])
        expect(row.locator("time")).to_have_text(local(turn["at"], "%H:%M:%S"))
    call = page.locator(f"article.message#m-{call_key}")
    expect(call.get_by_test_id("channel")).to_have_text("Phone call")
    expect(call.locator("h3")).to_contain_text("Amazon's notes of the call")
    expect(call.locator(".body")).to_contain_text(notes.splitlines()[0])
    emails = page.locator("article.message[data-channel=email]")
    expect(emails.get_by_test_id("channel")).to_have_count(0)  # an e-mail needs no word
    # their own look: not the e-mail's solid border
    styles = [m.evaluate("e => getComputedStyle(e).borderTopStyle") for m in (chat, call)]
    assert styles == ["dashed", "dashed"]
    no_serious_axe(page)


def test_timeline_channel_filter_works_with_the_sender_filter(page: Page, ui, v2):
    counts = dict(sql(v2, "select coalesce(channel, 'email'), count(*) from messages "
                          "group by 1"))
    page.goto(ui.url + "/timeline")
    page.get_by_label("Channel").select_option("chat")
    expect(page).to_have_url(re.compile(r"channel=chat"))
    events = page.locator("li.event")
    expect(events).to_have_count(counts["chat"])
    assert set(events.evaluate_all("els => els.map(e => e.dataset.channel)")) == {"chat"}
    expect(events.first.get_by_test_id("channel")).to_have_text("Chat")
    page.get_by_label("Sender").select_option("amazon")  # a chat is the seller's contact
    expect(page.locator("#events")).to_contain_text("No events match these filters")
    page.get_by_label("Sender").select_option("seller")
    expect(events).to_have_count(counts["chat"])
    page.get_by_label("Channel").select_option("phone")
    expect(page.locator("#events")).to_contain_text("No events match")  # calls are Amazon's
    page.get_by_label("Sender").select_option("amazon")
    expect(events).to_have_count(counts["phone"])
    expect(events.first).to_contain_text("Amazon noted a call in")
    page.go_back()
    expect(page.get_by_label("Sender")).to_have_value("seller")
    expect(page.get_by_label("Channel")).to_have_value("phone")


def test_search_finds_words_said_in_chats_and_calls(page: Page, ui, v2):
    turns = json.loads(sql(v2, "select turns from messages where channel = 'chat' "
                               "order by sent_at limit 1")[0][0])
    for word, channel, label in ((turns[1]["name"], "chat", "Chat"),
                                 ("walked", "phone", "Phone call")):
        want = {r[0] for r in sql(v2, "select m.message_key from messages_fts f join "
                                      "messages m on m.rowid = f.rowid where messages_fts "
                                      "match ? and m.channel = ?", f'"{word}"', channel)}
        assert want, word
        page.goto(f"{ui.url}/search?q={word}")
        hits = page.locator("#search-results ul.results li", has=page.get_by_test_id("channel"))
        expect(hits.first).to_be_visible()
        tagged = {re.search(r"#m-(\w+)", h.locator("a").first.get_attribute("href")).group(1)
                  for h in hits.all() if h.get_by_test_id("channel").text_content() == label}
        assert tagged == want


# ---- transferred -------------------------------------------------------------------------

def test_a_transfer_is_linked_both_ways_and_takes_no_draft(page: Page, ui, v2):
    old, new = v2.stored["case_id"], v2.stored["continued_in"]
    page.goto(f"{ui.url}/cases/{old}")
    expect(page.locator(".summary .badge")).to_have_text("Transferred")
    expect(page.get_by_test_id("continued-in")).to_have_text(f"Continued in case {new}")
    reason = page.get_by_test_id("transfer-reason")
    expect(reason).to_contain_text(f"was transferred to case {new}")
    expect(reason).to_contain_text("takes no reply and no reopening")
    expect(page.locator("#draft-body")).to_have_count(0)
    expect(page.get_by_role("button", name="Mark ready")).to_have_count(0)
    first_related = page.locator("section.related li").first
    expect(first_related).to_have_attribute("data-testid", "related-transfer")
    expect(first_related).to_contain_text(f"{new}")
    expect(first_related).to_contain_text("continues this case (transferred)")
    page.get_by_test_id("continued-in").get_by_role("link").click()
    expect(page).to_have_url(f"{ui.url}/cases/{new}")
    expect(page.get_by_test_id("continues")).to_have_text(f"Continues case {old}")
    # the continuation takes replies: its draft is written when the person opens it
    expect(page.get_by_role("button", name="Write the draft")).to_be_visible()
    expect(page.locator("section.related li").first).to_contain_text(
        "the case this one continues")
    page.get_by_test_id("continues").get_by_role("link").click()
    expect(page).to_have_url(f"{ui.url}/cases/{old}")
    page.get_by_test_id("continuation-link").click()
    expect(page).to_have_url(re.compile(rf"/cases/{new}#replies$"))
    no_serious_axe(page)


def test_a_continuation_not_synced_yet_is_linked_and_explained(page: Page, ui, v2):
    old, new = v2.missing["case_id"], v2.missing["continued_in"]
    assert not sql(v2, "select 1 from cases where case_id = ?", new)
    page.goto(f"{ui.url}/cases/{old}")
    link = page.get_by_test_id("continued-in")
    expect(link).to_contain_text(f"Continued in case {new} (not synced yet")
    expect(link.get_by_role("link", name="open it in Seller Central")).to_have_attribute(
        "href", f"{v2.url}/cu/case-dashboard/view-case?caseID={new}")
    expect(page.get_by_test_id("transfer-reason")).to_contain_text(f"case {new}")
    link.get_by_role("link", name=f"case {new}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Case {new} is not in caselog yet")
    expect(page.locator("main")).to_contain_text(f"is continued in case {new}")
    expect(page.locator(f"main a[href='/cases/{old}']")).to_have_count(1)


def test_timeline_marks_the_transfer_event_and_the_rows(page: Page, ui, v2):
    old, new = v2.stored["case_id"], v2.stored["continued_in"]
    page.goto(f"{ui.url}/timeline?case={old}")
    event = page.locator("li.event-status")
    expect(event).to_have_count(1)
    expect(event.locator(".badge")).to_have_text("Transferred")
    expect(event.get_by_test_id("transfer-mark")).to_have_text(f"→ continued in case {new}")
    expect(event.get_by_role("link", name=f"case {new}")).to_have_attribute(
        "href", f"/cases/{new}")
    rows = page.locator("li.event-message")
    expect(rows.first).to_be_visible()
    for row in rows.all():
        expect(row.get_by_test_id("transfer-mark")).to_contain_text(f"case {new}")
    page.goto(f"{ui.url}/timeline?case={new}")
    expect(page.locator("li.event-opened").get_by_test_id("transfer-mark")).to_have_text(
        f"continues case {old}")
    page.goto(ui.url + "/timeline")
    page.get_by_label("Status").select_option("Transferred")
    transferred = sql(v2, "select count(*) from cases where status = 'Transferred'")[0][0]
    expect(page.locator("li.event-opened")).to_have_count(transferred)


def test_transferred_in_the_cases_table_and_on_home(page: Page, ui, v2):
    rows = sql(v2, "select case_id, continued_in from cases where status = 'Transferred'")
    assert len(rows) == 3
    page.goto(ui.url + "/cases")
    page.get_by_label("Status", exact=True).select_option(label="Transferred")
    expect(page).to_have_url(re.compile("status=Transferred"))
    expect(page.locator("#cases-count")).to_contain_text("3 cases")
    for case_id, target in rows:
        row = page.locator("table.cases tbody tr", has=page.get_by_role("link", name=case_id,
                                                                       exact=True))
        expect(row.locator(".badge")).to_have_text("Transferred")
        expect(row.get_by_test_id("transfer-mark")).to_have_text(f"→ continued in case {target}")
        expect(row.locator("td:nth-child(7)")).to_have_text("No")
    page.goto(ui.url + "/")
    lists = page.locator("#queue, section[aria-labelledby=waiting-h]")
    for case_id, _ in rows:  # waiting on nobody: neither the queue nor the list holds it
        expect(lists.locator(f"li > a[href='/cases/{case_id}'], "
                             f".qline > a[href='/cases/{case_id}']")).to_have_count(0)
    old, new = v2.stored["case_id"], v2.stored["continued_in"]
    waiting = page.locator("section[aria-labelledby=waiting-h] li", has_text=new)
    expect(waiting.get_by_test_id("transfer-mark")).to_have_text(f"continues case {old}")
    change = page.locator("li.change-status_change", has_text=old)
    expect(change).to_contain_text("→ Transferred")
    expect(change.get_by_test_id("transfer-mark")).to_have_text(f"→ continued in case {new}")


# ---- the 5-day reopen window --------------------------------------------------------------

def _answered(v2) -> list[tuple[str, datetime]]:
    """Every Answered case with the moment its window closes: 5 days after its last
    message (or the listing's last Amazon reply, when newer)."""
    out = []
    for case_id, last, listed in sql(v2, "select c.case_id, max(m.sent_at), "
                                         "c.last_amazon_reply_at from cases c join messages m "
                                         "using (case_id) where c.status = 'Answered' "
                                         "group by c.case_id"):
        at = max(t for t in (last, listed) if t)
        out.append((case_id, datetime.fromisoformat(at.replace("Z", "+00:00"))
                    + timedelta(days=5)))
    return out


def _asked(v2, case_id: str) -> bool:
    """Amazon's answer asked for documents since the seller last wrote: then the draft
    answers it (a reply, which an Answered case still takes), not a reopen request."""
    return bool(sql(v2, "select count(*) from case_asks where case_id = ? and sent_at > "
                        "coalesce((select max(sent_at) from messages where case_id = ? "
                        "and sender = 'seller'), '')", case_id, case_id)[0][0])


def test_answered_cases_show_when_their_reopen_window_closes(page: Page, ui, v2):
    now = datetime.now(UTC)
    answered = sorted(_answered(v2), key=lambda a: _asked(v2, a[0]))  # reopen drafts first
    open_ = [(c, t) for c, t in answered if t > now + timedelta(minutes=5)]
    closed = [(c, t) for c, t in answered if t < now - timedelta(minutes=5)]
    assert open_ and closed, answered  # v2 data: both sides of the 5 days
    assert not _asked(v2, closed[0][0])  # one shows the new-case draft
    for case_id, closes in open_[:1] + closed[:1]:
        page.goto(f"{ui.url}/cases/{case_id}")
        shown = page.get_by_test_id("reopen-window")
        expect(shown).to_contain_text(local(closes.strftime("%Y-%m-%dT%H:%M:%SZ")))
        page.get_by_role("button", name="Write the draft").click()
        draft = page.locator("section.draft")
        expect(page.locator("#draft-body")).to_be_visible()
        reminder = page.get_by_test_id("case-reminder")
        asked = _asked(v2, case_id)
        if asked:
            expect(draft).to_contain_text("Answer to what Amazon asked")
        if closes > now:
            expect(shown).to_contain_text("Open until")
            expect(reminder).to_contain_text("Reopen window closes")
            if not asked:
                expect(draft).to_contain_text("Request to reopen")
                expect(page.get_by_test_id("draft-note").first).to_contain_text("reopen by")
        else:
            expect(shown).to_contain_text("Closed on")
            expect(shown).to_contain_text(f"open a new case in Seller Central and cite "
                                          f"case {case_id}")
            expect(reminder).to_contain_text("Cannot be reopened")
            expect(draft).to_contain_text("A new case: this one can no longer be reopened")
            expect(page.locator("#draft-body")).to_contain_text("can no longer be reopened")
            expect(page.get_by_test_id("draft-note").first).to_contain_text(
                "does not reopen an answered case after 5 days with no activity")
    page.goto(f"{ui.url}/timeline?case={open_[0][0]}")
    expect(page.locator("li.event-reminder")).to_contain_text("Reopen window closes")


def test_home_reminds_of_open_windows_and_of_those_just_closed(page: Page, ui, v2):
    now = datetime.now(UTC)
    page.goto(ui.url + "/queue")  # the whole queue: home shows its top
    reminders = page.locator("#queue [data-testid=queue-row]")
    expect(reminders.first).to_be_visible()
    for case_id, closes in _answered(v2):
        item = page.locator(f'#queue [data-testid=queue-row][data-case="{case_id}"]')
        if closes > now:  # listed from 5 days before it closes: its whole window
            expect(item).to_contain_text(re.compile("Reopen window closes|also: reopen "
                                                    "window closes"))
        elif closes > now - timedelta(days=7):
            expect(item).to_contain_text(re.compile("Cannot be reopened|also: cannot be"))
        else:  # long closed: the case page still says so; the queue no more
            assert item.count() == 0 or "reopen" not in item.inner_text().lower()


def test_people_read_status_labels_not_api_values(page: Page, ui, v2):
    old = v2.stored["case_id"]
    (answered,), = sql(v2, "select case_id from cases where status = 'Answered' limit 1")
    for url in ("/", "/timeline", "/cases", f"/cases/{old}", f"/cases/{answered}",
                "/timeline?status=PendingMerchantAction", "/search?q=case"):
        page.goto(ui.url + url)
        text = page.locator("body").inner_text()
        assert not [s for s in API_STATUSES if s in text], url
