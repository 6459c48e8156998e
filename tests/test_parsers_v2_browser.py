"""Layout b of PORTAL.md v2 in a real Chromium: ``PortalClient.case_page_html`` drives the
bundled portal's kat-expander page (older messages loaded, "See more" expanded) and the
page it captures parses to the portal's ground truth, to the second, and to the same
records as the JSON, in en_US, en_GB (zones shown as offsets) and de_DE, for e-mail,
chat and phone contacts and a transferred case; the six-column lobby lists what
SearchForCases lists."""

from __future__ import annotations

import json

import pytest

from fixtures.harness import run_async, start_portal
from scrapers.parse.monsapi import (
    apply_full_messages,
    parse_contact_message,
    parse_search,
    parse_view_case,
)
from scrapers.parse.pages import parse_case_page, parse_lobby

ZONES = {"en_US": "America/Los_Angeles", "en_GB": "Asia/Karachi", "de_DE": "Europe/Berlin"}


def _names(truth: dict) -> dict[str, str]:
    cases = truth["cases"]
    mixed = next(c for c in cases
                 if {"chat", "phone"} <= {m["channel"] for m in c["messages"][-10:]})
    transferred = next(c for c in cases if c["status"] == "Transferred")
    long = max(cases, key=lambda c: len(c["messages"]))
    return {"mixed": mixed["case_id"], "transferred": transferred["case_id"],
            "long": long["case_id"]}


async def _capture(url: str, cfg: dict, picks: dict[str, str]) -> dict:
    from scrapers.browser.client import PortalClient
    from scrapers.browser.login import login_with_password

    state = await login_with_password(url, cfg["email"], cfg["password"])
    out: dict = {"pages": {}, "json": {}}
    async with PortalClient(url, storage_state=state, timezone=cfg["timezone"]) as client:
        for name, case_id in picks.items():
            out["pages"][name] = (await client.case_page_html(case_id)).body
            view = (await client.view_case(case_id, page_size=50)).body
            full = [(await client.get_contact_message(case_id, c["contactId"])).body
                    for c in json.loads(view)["contactList"] if c["messageTruncated"]]
            out["json"][name] = (view, full)
        out["lobby"] = (await client.lobby_html(1, 25)).body
        out["search"] = (await client.search_cases(0, 25)).body
    return out


@pytest.fixture(scope="module", params=list(ZONES))
def rendered(request):
    """One layout-b portal per locale, a transfer made, its pages captured by a browser."""
    locale = request.param
    portal = start_portal("--cases", "12", "--seed", "13", "--layout", "b", "--v2-data",
                          "--mixed-id-lengths", "--locale", locale,
                          "--timezone", ZONES[locale])
    try:
        portal.sim("mutate", {"transfers": 1})
        truth = portal.sim("truth")
        picks = _names(truth)
        caps = run_async(_capture(portal.url, portal.sim("config"), picks))
        yield locale, truth, picks, caps
    finally:
        portal.stop()


def _json(view: bytes, full: list[bytes], case_id: str) -> dict:
    case = parse_view_case(view, case_id)
    texts = {m["contact_id"]: m["html"] for m in map(parse_contact_message, full)}
    return apply_full_messages(case, texts)


def _export(messages: list[dict]) -> list[tuple]:
    return [(m["sender"], m["sent_at"], m["text"], m["channel"],
             [a["name"] for a in m["attachments"]]) for m in messages]


def _same(case: dict) -> dict:
    keys = ("case_id", "subject", "status", "category", "created_at", "can_edit",
            "can_reopen", "total_messages")
    return {**{k: case[k] for k in keys}, "messages": [
        {k: m[k] for k in ("sender", "sender_address", "sent_at", "text", "channel",
                           "turns", "truncated")} for m in case["messages"]]}


@pytest.mark.parametrize("name", ["mixed", "transferred", "long"])
def test_rendered_layout_b_page_is_the_truth_and_the_json(rendered, name):
    locale, truth, picks, caps = rendered
    case_id = picks[name]
    want = next(c for c in truth["cases"] if c["case_id"] == case_id)
    html = parse_case_page(caps["pages"][name], timezone=ZONES[locale])
    assert (html["case_id"], html["status"], html["subject"]) == (
        case_id, want["status"], want["subject"])
    assert html["created_at"] == want["created_at"]
    assert _export(html["messages"][::-1]) == _export(want["messages"])  # to the second
    assert html["total_messages"] == len(want["messages"])  # every older page loaded
    assert not any(m["truncated"] for m in html["messages"])  # every "See more" clicked
    assert _same(html) == _same(_json(*caps["json"][name], case_id))
    if name == "mixed":
        assert {m["channel"] for m in html["messages"]} == {"email", "chat", "phone"}
        chat = next(m for m in html["messages"] if m["channel"] == "chat")
        assert chat["turns"] and all(t["at"] and t["name"] for t in chat["turns"])
    if name == "transferred":
        assert html["can_edit"] is False and html["can_reopen"] is False


def test_rendered_layout_b_lobby_lists_what_the_json_lists(rendered):
    _, _, _, caps = rendered
    rows, total = parse_lobby(caps["lobby"])
    listed, json_total = parse_search(caps["search"])
    assert total == json_total == len(rows) == 13
    keys = ("case_id", "status", "subject")
    assert [{k: r[k] for k in keys} for r in rows] == [{k: c[k] for k in keys} for c in listed]
    assert all(r["last_reply_known"] is False and r["last_amazon_reply_at"] is None
               for r in rows)
    assert {len(r["case_id"]) for r in rows} == set(range(8, 15))
