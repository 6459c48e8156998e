"""The SP-API parsers as pure functions: the model's own examples (tests/data/spapi/model_*),
hand-made edge cases, malformed answers that must name what was expected, and a bounded
Hypothesis property: any JSON-ish value or any bytes give records or a ParseError,
never another exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrapers.errors import LayoutError, ParseError
from scrapers.parse.text import html_to_text
from scrapers.spapi import parse
from scrapers.spapi.parse import api_errors, parse_case, parse_list_cases, parse_list_contacts
from scrapers.spapi.times import iso_time
from scrapers.spapi.transcript import transcript_turns

DATA = Path(__file__).parent / "data" / "spapi"
MODEL_CASE = {
    "case_id": "1234567890", "status": "RESOLVED", "subject": "test subject",
    "created_at": "2024-01-12T10:00:00Z", "last_updated_at": "2024-01-12T10:00:00Z",
    "resolved_at": "2024-01-12T10:00:00Z", "primary_email": "test_seller@domain.com",
    "cc_emails": ["test_seller1@domain.com", "test_seller2@domain.com"],
    "appointments": [{"appointment_id": "TestAppointmentId", "status": "SCHEDULED",
                      "earliest": "2024-01-12T10:00:00Z", "latest": "2024-01-12T11:00:00Z",
                      "phone_number": {"country_code": "US", "number": "1234567890",
                                       "extension": "1"}}],
}


def body(name: str) -> bytes:
    return (DATA / name).read_bytes()


def by_id(messages: list[dict]) -> dict[str, dict]:
    return {m["contact_id"]: m for m in messages}


def test_model_list_cases_example():
    assert parse_list_cases(body("model_list_cases.json")) == ([MODEL_CASE], "SampleToken")


def test_model_get_case_example_is_the_same_record():
    assert parse_case(body("model_get_case.json")) == MODEL_CASE


def test_model_list_contacts_example():
    messages, token = parse_list_contacts(body("model_list_contacts.json"), case_id="1")
    assert token == "SampleToken"
    assert messages == [{
        "contact_id": "TestContactId", "message_key": "TestContactId", "channel": "email",
        "sender": "seller", "sender_address": None,
        "sender_name": "Test Selling Partner Name", "sent_at": "2024-01-12T11:00:00Z",
        "html": "sample email message", "text": "sample email message", "truncated": False,
        "attachments": [{"attachment_id": None, "name": "testAttachment.txt", "size": None,
                         "content_type": None,
                         "download_url": "https://filelocation/filename"}],
        "turns": [],
    }]


def test_model_chat_and_phone_examples():
    messages = by_id(parse_list_contacts(body("model_chat_and_phone.json"))[0])
    chat = messages["chat-events"]
    assert (chat["channel"], chat["sender"]) == ("chat", "seller")
    assert chat["text"] == "sample chat transcript"  # the transcript, when given
    assert chat["turns"] == [{"at": "2024-01-12T11:00:00Z",
                              "name": "Test Selling Partner Name",
                              "text": "sample chat message"}]
    # The model's transcript separates lines with the two characters "\n".
    transcript = messages["chat-transcript"]
    assert transcript["text"].startswith("2024-12-23T15:02:00.171Z SellingPartnerName")
    # One line each: nothing tells where "Amazon Associated Kyle" ends, so the first word
    # is the name (transcript.py); with repeated lines the whole name is found (below).
    assert [t["name"] for t in transcript["turns"]] == ["SellingPartnerName", "Amazon"]
    assert transcript["turns"][0]["text"] == "I'm having an issue with my Listing"
    phone = messages["phone-1"]
    assert (phone["channel"], phone["sender"], phone["text"]) == (
        "phone", "amazon", "sample notes from call")
    assert phone["sent_at"] == "2024-01-12T12:30:00Z"


def test_every_case_and_appointment_status():
    cases, token = parse_list_cases(body("list_cases_every_status.json"))
    assert token == "page-2"
    assert [c["status"] for c in cases] == list(parse.STATUSES)
    first = cases[0]
    assert first["last_updated_at"] == "2026-03-05T09:30:15Z"  # to the second
    assert [a["status"] for a in first["appointments"]] == [
        "SCHEDULED", "CANCELLED", "MISSED", "COMPLETED"]
    assert first["appointments"][2]["phone_number"] is None  # not given
    completed = first["appointments"][3]
    assert (completed["earliest"], completed["latest"]) == ("2026-03-04T16:30:00Z",
                                                            "2026-03-04T17:30:00Z")
    assert completed["phone_number"] == {"country_code": "US", "number": "2065550100",
                                         "extension": "12"}
    assert cases[1]["cc_emails"] == ["ops@example.com"]
    assert cases[2]["subject"] == "" and cases[2]["resolved_at"] == "2026-03-02T18:00:00Z"
    last = cases[3]
    assert (last["primary_email"], last["cc_emails"], last["appointments"],
            last["resolved_at"]) == (None, [], [], None)


def test_empty_pages_still_give_their_token():
    assert parse_list_cases(body("list_cases_empty_page.json")) == ([], "still-more")
    assert parse_list_contacts(body("list_contacts_empty_page.json")) == ([], "still-more")


def test_email_text_attachments_and_missing_links():
    messages, token = parse_list_contacts(body("contacts_edge_cases.json"), case_id="9")
    assert token is None  # "" means no more pages
    email = by_id(messages)["c-amazon"]
    assert email["sender"] == "amazon" and email["sent_at"] == "2026-03-06T12:35:07Z"
    assert email["text"] == html_to_text(email["html"]) == (
        "Hello,\nPlease send the invoice & a photo.\nThanks")
    assert [(a["name"], a["download_url"]) for a in email["attachments"]] == [
        ("label.pdf", "https://files.example/label.pdf?X-Amz-Signature=ab"),
        ("lost-link.png", None)]


def test_chat_without_transcript_is_built_from_its_message_events():
    chat = by_id(parse_list_contacts(body("contacts_edge_cases.json"))[0])["c-chat-built"]
    assert chat["text"] == ("2026-03-06T12:00:05.250Z Acme Store My listing is gone.\n\n"
                            "2026-03-06T12:02:00.000Z Amazon Associate Jo Let me check <that>.")
    assert chat["turns"] == [
        {"at": "2026-03-06T12:00:05Z", "name": "Acme Store", "text": "My listing is gone."},
        {"at": "2026-03-06T12:02:00Z", "name": "Amazon Associate Jo",
         "text": "Let me check <that>."}]
    assert "&lt;that&gt;" in chat["html"] and html_to_text(chat["html"]) == chat["text"]
    assert [a["name"] for a in chat["attachments"]] == ["screenshot.png"]
    assert chat["sender"] == "seller"


def test_chat_with_no_events_and_no_transcript_is_empty():
    chat = by_id(parse_list_contacts(body("contacts_edge_cases.json"))[0])["c-chat-blank"]
    assert (chat["text"], chat["html"], chat["turns"], chat["attachments"]) == ("", "", [], [])


def test_transcript_lines_become_turns_with_many_word_names():
    chat = by_id(parse_list_contacts(body("contacts_edge_cases.json"))[0])["c-chat-lines"]
    assert chat["turns"] == [
        {"at": "2026-03-06T10:00:00Z", "name": "Acme Store", "text": "I need help"},
        {"at": "2026-03-06T10:00:30Z", "name": "Amazon Associate Kyle",
         "text": "Hello, I can help."},
        {"at": "2026-03-06T10:01:00Z", "name": "Acme Store", "text": "Thanks\nsecond line"},
        {"at": "2026-03-06T10:02:00Z", "name": "Amazon Associate Kyle", "text": "Bye"}]
    assert html_to_text(chat["html"]) == chat["text"]


def test_phone_without_notes_and_a_zone_offset():
    phone = by_id(parse_list_contacts(body("contacts_edge_cases.json"))[0])["c-phone-empty"]
    assert (phone["text"], phone["sent_at"], phone["sender"]) == ("", "2026-03-06T08:00:00Z",
                                                                  "amazon")


def test_free_text_transcripts_never_fail():
    assert transcript_turns("") == []
    assert transcript_turns("no times at all\n\njust words") == []
    assert transcript_turns("2026-13-40T99:00:00Z Bad date") == []
    assert transcript_turns("2026-03-06T10:00:00Z Solo") == [
        {"at": "2026-03-06T10:00:00Z", "name": "Solo", "text": ""}]


def contacts(*items) -> bytes:
    return json.dumps({"contacts": list(items)}).encode()


def email(**changes) -> dict:
    base = {"contactId": "c", "channel": "EMAIL", "createdDate": "2026-03-06T12:00:00Z",
            "emailContent": {"sender": {"displayName": "A", "role": "AMAZON"},
                             "message": "hi"}}
    return {**base, **changes}


def case(**changes) -> dict:
    base = {"caseId": "7", "status": "RESOLVED", "createdDate": "2026-03-06T12:00:00Z",
            "lastUpdatedDate": "2026-03-06T12:00:00Z"}
    return {**base, **changes}


def cases(*items, **top) -> bytes:
    return json.dumps({"cases": list(items), **top}).encode()


MALFORMED = [
    (parse_list_cases, b"<html>Service Unavailable</html>", "listCases JSON"),
    (parse_list_cases, b"[]", "listCases JSON (an object)"),
    (parse_list_cases, b"{}", '"cases"'),
    (parse_list_cases, b'{"cases": {}}', '"cases" as a list'),
    (parse_list_cases, cases(case(caseId=None)), '"caseId"'),
    (parse_list_cases, cases(case(caseId="")), '"caseId" (not empty)'),
    (parse_list_cases, cases(case(status=3)), 'case 7: expected "status" as a string'),
    (parse_list_cases, cases(case(createdDate="2026-13-01T00:00:00Z")), '"createdDate" as an'),
    (parse_list_cases, cases(case(createdDate="2026-03-06T12:00:00")), "with a zone"),
    (parse_list_cases, cases(case(lastUpdatedDate=None)), '"lastUpdatedDate"'),
    (parse_list_cases, cases(case(appointments=[{"appointmentId": "a", "status": "X"}])),
     '"callbackTiming"'),
    (parse_list_cases, cases(case(appointments=[{"appointmentId": "a", "status": "X",
                                                 "callbackTiming": {}}])),
     '"earliestCallbackTime"'),
    (parse_list_cases, cases(case(), nextToken=5), '"nextToken" as a string'),
    (parse_list_cases, cases("7"), "a Case object"),
    (parse_case, b'"x"', "getCase JSON"),
    (parse_list_contacts, contacts(email(channel="FAX")), '"channel" EMAIL, CHAT or PHONE'),
    (parse_list_contacts, contacts(email(contactId=None)), '"contactId"'),
    (parse_list_contacts, contacts(email(createdDate="yesterday")), '"createdDate" as an'),
    (parse_list_contacts, contacts(email(emailContent=None)), '"emailContent"'),
    (parse_list_contacts, contacts(email(emailContent={"message": "x"})), '"sender"'),
    (parse_list_contacts, contacts(email(emailContent={"sender": {"role": "BOT"}})),
     '"role" AMAZON or SELLING_PARTNER'),
    (parse_list_contacts, contacts(email(emailContent={
        "sender": {"role": "AMAZON"}, "attachments": [{"downloadUrl": "https://x"}]})),
     'expected "name" inside contacts[0].emailContent.attachments[0]'),
    (parse_list_contacts, contacts({"contactId": "c", "channel": "CHAT",
                                    "createdDate": "2026-03-06T12:00:00Z"}), '"chatContent"'),
    (parse_list_contacts, contacts({"contactId": "c", "channel": "CHAT",
                                    "createdDate": "2026-03-06T12:00:00Z",
                                    "chatContent": {"events": [{"type": "MESSAGE"}]}}),
     '"timestamp"'),
    (parse_list_contacts, contacts({"contactId": "c", "channel": "PHONE",
                                    "createdDate": "2026-03-06T12:00:00Z",
                                    "phoneContent": {"callNotes": ["x"]}}),
     '"callNotes" as a string'),
    (parse_list_contacts, b"[" * 100_000, "unparseable body"),
    (parse_list_contacts, b"\xff\xfe\x00garbage", "unparseable body"),
    (parse_list_contacts, b'{"contacts": [], "n": 1' + b"0" * 5000 + b"}", "unparseable"),
    (parse_list_contacts, contacts(email(emailContent={
        "sender": {"role": "AMAZON"}, "message": "<div>" * 5000})), "nested at most 1000"),
]


@pytest.mark.parametrize("parser, raw, expected", MALFORMED,
                         ids=[f"{i}-{m[2][:30]}" for i, m in enumerate(MALFORMED)])
def test_malformed_answers_name_what_was_expected(parser, raw, expected):
    with pytest.raises(LayoutError) as err:
        parser(raw)
    assert expected in str(err.value)
    assert err.value.expected


def test_errors_carry_the_case_id_when_known():
    with pytest.raises(LayoutError) as err:
        parse_list_contacts(contacts(email(channel="FAX")), case_id="42")
    assert err.value.case_id == "42" and err.value.where == "contacts[0]"


def test_bodies_over_the_size_cap_are_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(parse, "MAX_BODY", 100)
    with pytest.raises(LayoutError, match="at most 100 bytes"):
        parse_list_cases(b" " * 101)
    with pytest.raises(LayoutError, match="found int"):
        parse_list_cases(17)


def test_api_errors_reads_both_error_shapes_and_never_raises():
    assert api_errors(b'{"errors": [{"code": "InvalidInput", "message": "bad",'
                      b' "details": "Invalid Input"}]}') == [
        {"code": "InvalidInput", "message": "bad", "details": "Invalid Input"}]
    assert api_errors(b'{"error": "invalid_grant", "error_description": "revoked"}') == [
        {"code": "invalid_grant", "message": "revoked", "details": ""}]
    for raw in (b"", b"<html>", b"[1]", b'{"errors": "x"}', None, 5, b"[" * 50_000):
        assert api_errors(raw) == []


def test_iso_times_are_strict_and_total():
    assert iso_time("2024-01-12T10:00:00.000Z").isoformat() == "2024-01-12T10:00:00+00:00"
    assert iso_time("2024-01-12T10:00Z").minute == 0
    assert iso_time("2024-01-12T10:00:00.123456789+05:30").hour == 4
    for bad in ("2024-01-12", "2024-01-12T10:00:00", "0001-01-01T00:00:00+01:00",
                "9999-12-31T23:59:59-01:00", "2024-02-30T00:00:00Z", "２０２４-01-12T10:00Z",
                "2024-01-12T10:00:00+24:00", "x" * 100):
        assert iso_time(bad) is None, bad


# -- property: records or ParseError, never anything else ---------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25)
iso_ish = st.integers(0, 9).flatmap(lambda n: st.sampled_from(
    ["", "x", "2024-02-30T00:00:00Z", "2024-01-12T10:00:00"]) if n == 0 else st.sampled_from(
    ["2024-01-12T10:00:00.000Z", "2024-01-12T10:00Z", "2024-01-12T10:00:00+14:00"]))
ids = st.text(min_size=1, max_size=8).filter(str.strip)


def _maybe(strategy):
    """Mostly the right shape (so the parsers' success paths run too), one time in ten
    any JSON value instead."""
    return st.integers(0, 9).flatmap(lambda n: json_values if n == 0 else strategy)


attachments = _maybe(st.lists(_maybe(st.fixed_dictionaries(
    {"name": _maybe(st.text(max_size=5))}, optional={"downloadUrl": st.text(max_size=9)})),
    max_size=2))
contents = {
    "EMAIL": ("emailContent", st.fixed_dictionaries({
        "sender": _maybe(st.fixed_dictionaries({"role": _maybe(st.sampled_from(
            ["AMAZON", "SELLING_PARTNER"]))})),
        "message": _maybe(st.text(max_size=40)), "attachments": attachments})),
    "CHAT": ("chatContent", st.fixed_dictionaries({
        "events": _maybe(st.lists(_maybe(st.fixed_dictionaries({
            "timestamp": _maybe(iso_ish),
            "type": _maybe(st.sampled_from(["MESSAGE", "ATTACHMENT", "CHAT_ENDED"])),
            "message": _maybe(st.text(max_size=20)), "attachments": attachments})),
            max_size=3)),
        "transcript": _maybe(st.text(max_size=80))})),
    "PHONE": ("phoneContent", st.fixed_dictionaries({"callNotes": _maybe(st.text(max_size=20))})),
}
shaped_contact = st.sampled_from(sorted(contents)).flatmap(lambda channel: st.fixed_dictionaries({
    "contactId": _maybe(ids), "channel": _maybe(st.just(channel)),
    "createdDate": _maybe(iso_ish), contents[channel][0]: _maybe(contents[channel][1])}))
shaped_case = st.fixed_dictionaries({
    "caseId": _maybe(ids), "status": _maybe(st.sampled_from(parse.STATUSES)),
    "createdDate": _maybe(iso_ish), "lastUpdatedDate": _maybe(iso_ish),
}, optional={"appointments": _maybe(st.lists(_maybe(st.fixed_dictionaries({
    "appointmentId": _maybe(ids), "status": _maybe(ids),
    "callbackTiming": _maybe(st.fixed_dictionaries({
        "earliestCallbackTime": _maybe(iso_ish), "latestCallbackTime": _maybe(iso_ish)}))})),
    max_size=2)), "resolvedDate": _maybe(iso_ish), "subject": _maybe(st.text(max_size=10))})

inputs = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(shaped_contact, max_size=3).map(lambda c: json.dumps({"contacts": c}).encode()),
    st.lists(shaped_case, max_size=3).map(lambda c: json.dumps({"cases": c}).encode()),
    shaped_case.map(lambda c: json.dumps(c).encode()),
)
PROPERTY = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(inputs)
def test_every_parser_gives_records_or_a_parse_error(raw):
    for parser in (parse_list_cases, parse_case, parse_list_contacts):
        try:
            result = parser(raw)
        except ParseError:
            continue
        records = result[0] if isinstance(result, tuple) else [result]
        assert isinstance(records, list) and all(isinstance(r, dict) for r in records)
    assert isinstance(api_errors(raw), list)


@PROPERTY
@given(st.text(max_size=200))
def test_chat_and_phone_html_gives_back_their_text(notes):
    raw = contacts({"contactId": "p", "channel": "PHONE",
                    "createdDate": "2026-03-06T12:00:00Z", "phoneContent": {"callNotes": notes}})
    phone = parse_list_contacts(raw)[0][0]
    if "\x00" not in notes and "\r" not in notes:  # an HTML parser rewrites those two
        assert html_to_text(phone["html"]) == phone["text"]
    assert transcript_turns(notes) is not None
