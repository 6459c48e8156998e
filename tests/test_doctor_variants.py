"""`caselog doctor` against portals its authors did not write: the four answers are
written by ``portal_variants`` from PORTAL.md alone (no fixtures/ code), varying all the
contract leaves open, and the doctor must pass every one; then each drift planted in
those answers (a renamed key, a missing field, a time outside section 5, a missing
thread container, ...) must fail the run, named by the check that owns it. The sync's
canary (the doctor's cheap part) is held to the same two rules on SearchForCases.

All from bytes, no browser: the doctor's checks are pure functions of the captures.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace

import pytest
from portal_variants import STATUS, Answers, Variant, answers, variants

from companion.doctor import report as reports
from companion.doctor.canary import ShapeChanged, check_case_list, shape_problems
from companion.doctor.findings import Captured, Raw, run
from scrapers.errors import LayoutError
from scrapers.parse import contract
from scrapers.parse.monsapi import parse_search, parse_view_case

VARIANTS = {str(v): v for v in variants()}
PORTAL = "http://127.0.0.1:1"


def captured(a: Answers, timezone: str | None = None) -> Captured:
    return Captured(case_id=a.case_id, timezone=timezone,
                    **{k: Raw(200, body) for k, body in a.raws().items()})


def doctor(a: Answers, timezone: str | None = None) -> tuple[dict, dict]:
    """(the report, the findings by check) of one run over the answers."""
    c = captured(a, timezone)
    found = run(c)
    return reports.build(c, found, portal=PORTAL), {f.check: f for f in found}


def data_of(a: Answers) -> list[str]:
    """What the answers hold of the seller's: no report may repeat any of it."""
    out = ["owner@example.com", "amazon.seller@example.com"]
    for row in rows(a):
        out += [row["caseId"], row["shortDescription"]]
    for c in a.view["contactList"]:
        text = re.sub(r"<[^>]+>", "\n", html.unescape(c["message"]))
        out += [line.strip() for line in text.splitlines() if len(line.strip()) >= 12]
        out += [x["fileName"] for x in c["attachments"] or []]
    tags = a.view["viewCaseMetaData"].get("caseTags")
    return out + (tags or [])


def assert_holds_none(report: dict, strings: list[str]) -> None:
    text = json.dumps(report, ensure_ascii=False).casefold()
    leaked = [s for s in strings if s.casefold() in text]
    assert not leaked, leaked[:5]


def test_the_variants_cover_every_layout_and_locale_the_parsers_know():
    seen = {(v.layout, v.locale) for v in VARIANTS.values()}
    assert seen == {(lay, loc) for lay in "ab" for loc in ("en_US", "en_GB", "de_DE")}
    assert len(VARIANTS) >= 24


@pytest.mark.parametrize("name", list(VARIANTS))
def test_doctor_passes_a_conforming_portal(name):
    v = VARIANTS[name]
    report, by = doctor(answers(v))
    assert report["exit_code"] == 0, [(f.check, f.found) for f in by.values() if f.failed]
    # Each comparison looked (none was skipped as "not shown" for want of a reading).
    for check in ("case_page.parser", "case_page.summary", "case_page.senders",
                  "case_page.times", "case_page.channels", "case_page.texts",
                  "case_page.attachments", "lobby.parser", "lobby.rows", "lobby.links",
                  "viewcase.parser", "search.parser"):
        assert by[check].result == "ok", (check, by[check])
    assert_holds_none(report, data_of(answers(v)))
    assert report["layout"] == {"lobby": v.layout, "contacts": v.layout}
    assert report["locale"] == {"case_page": v.locale}
    assert shape_problems(answers(v).raws()["search"]) == []


def test_an_ambiguous_zone_needs_timezone_to_compare_times_and_is_no_failure():
    """US Central in November shows CST (also China's and Cuba's): without --timezone
    the page's structure is still checked and its times are said to need it."""
    a = answers(Variant(layout="b", zone="America/Chicago", name="cst"))
    assert "CST" in a.page
    report, by = doctor(a)
    assert report["exit_code"] == 0
    assert by["case_page.times"].result == "not shown"
    assert "--timezone" in by["case_page.times"].found
    assert "needs --timezone" in by["case_page.parser"].found
    report, by = doctor(a, timezone="America/Chicago")
    assert report["exit_code"] == 0 and by["case_page.times"].result == "ok"


# -- drifts -----------------------------------------------------------------------------

def rows(a: Answers):
    return a.search["caseSearchResultList"]


def each_row(edit):
    def apply(a: Answers):
        for row in rows(a):
            edit(row)
    return apply


def each_contact(edit):
    def apply(a: Answers):
        for c in a.view["contactList"]:
            edit(c)
    return apply


def rename(doc: dict, old: str, new: str) -> None:
    doc[new] = doc.pop(old)


def page(old: str, new: str, count: int = -1):
    def apply(a: Answers):
        assert old in a.page, old
        a.page = a.page.replace(old, new, count) if count > 0 else a.page.replace(old, new)
    return apply


def page_re(pattern: str, new: str):
    def apply(a: Answers):
        a.page, n = re.subn(pattern, new, a.page)
        assert n, pattern
    return apply


def lobby(old: str, new: str):
    def apply(a: Answers):
        assert old in a.lobby, old
        a.lobby = a.lobby.replace(old, new)
    return apply


def status_label(where: str, new: str):
    """Show the first case's status (Answered) as an unknown label."""
    def apply(a: Answers):
        label = STATUS["de" if "Beantwortet" in a.page else "en"]["Answered"]
        if where == "page":
            a.page = a.page.replace(label, new, 1)
        else:
            a.lobby = a.lobby.replace(label, new)
    return apply


def drop_zone(a: Answers):
    """Times without their zone (PORTAL.md 5: a time always shows one)."""
    a.page, n = re.subn(r"(\d:\d\d(?::\d\d)?(?: [AP]M)?) (?:GMT[+-][\d:]+|[A-Z]{2,5})\b",
                        r"\1", a.page)
    assert n


def trailing_div(a: Answers):
    """A div after each body: the body is no longer the contact's last <div>."""
    a.page, n = re.subn(r"(</kat-box>|</kat-expander>)",
                        r"<div>Was this answer helpful?</div>\1", a.page)
    assert n


def meta(edit):
    def apply(a: Answers):
        edit(a.view["viewCaseMetaData"])
    return apply


# name: (edit, the check that must name it, words its finding holds)
DRIFTS = {
    # SearchForCases
    "search: renamed row key": (each_row(lambda r: rename(r, "lastAmazonReplyDate",
                                                          "lastReplyDate")),
                                "search.row_fields", "lastAmazonReplyDate absent in 12 of 12"),
    "search: missing row field": (each_row(lambda r: r.pop("shortDescription")),
                                  "search.row_fields", "shortDescription absent"),
    "search: renamed list": (lambda a: rename(a.search, "caseSearchResultList", "cases"),
                             "search.fields", "caseSearchResultList absent"),
    "search: missing total": (lambda a: a.search.pop("totalNumberOfResults"),
                              "search.fields", "totalNumberOfResults absent"),
    "search: unknown status": (lambda a: rows(a)[0].update(status="AwaitingSeller"),
                               "search.statuses", "AwaitingSeller (1)"),
    "search: times in milliseconds": (each_row(lambda r: r.update(
        creationDate=r["creationDate"] * 1000)), "search.times", "milliseconds"),
    "search: times as ISO strings": (each_row(lambda r: r.update(
        creationDate="2026-11-01T10:00:00Z")), "search.times", "a string"),
    "search: case id as a number": (lambda a: rows(a)[1].update(
        caseId=int(rows(a)[1]["caseId"])), "search.case_ids", "1 of 12 are a number"),
    # ViewCase
    "viewcase: renamed contact list": (lambda a: rename(a.view, "contactList", "contacts"),
                                       "viewcase.fields", "contactList absent"),
    "viewcase: missing timestamp": (each_contact(lambda c: c.pop("timestamp")),
                                    "viewcase.contact_fields", "timestamp absent"),
    "viewcase: renamed message": (each_contact(lambda c: rename(c, "message", "body")),
                                  "viewcase.contact_fields", "message absent"),
    "viewcase: unknown channel": (lambda a: a.view["contactList"][0].update(
        channelType="SMS"), "viewcase.channel_types", "SMS (1)"),
    "viewcase: outbound as a string": (each_contact(lambda c: c.update(
        outbound=str(c["outbound"]).lower())), "viewcase.contact_types", "outbound is"),
    "viewcase: renamed title": (meta(lambda m: rename(m, "caseTitle", "title")),
                                "viewcase.meta_fields", "caseTitle absent"),
    "viewcase: unknown case status": (meta(lambda m: m.update(caseStatus="Waiting")),
                                      "viewcase.status", "Waiting (1)"),
    "viewcase: timestamps in milliseconds": (each_contact(lambda c: c.update(
        timestamp=c["timestamp"] * 1000)), "viewcase.times", "milliseconds"),
    "viewcase: no currentToken": (lambda a: a.view.pop("currentToken"),
                                  "viewcase.fields", "currentToken absent"),
    # The case page
    "page: no thread container": (page_re(r'class="(m\w+) view-case"', r'class="\1"'),
                                  "case_page.parser", 'expected <div class="view-case">'),
    "page: no case summary": (page('data-testid="case-summary"', 'data-testid="summary"'),
                              "case_page.parser", 'section[data-testid="case-summary"]'),
    "page: time outside section 5": (page_re(r"(\d{1,2}):(\d\d)(?=[: ])", r"\1h\2"),
                                     "case_page.parser", "the time (a date box"),
    "page: time without a zone": (drop_zone, "case_page.parser", "a time whose zone"),
    "page: no sender label": (page('data-testid="sender-label"', 'data-testid="who"'),
                              "case_page.parser", '[data-testid="sender-label"] inside <kat-'),
    "page: no reciever": (page('data-testid="reciever"', 'data-testid="address"'),
                          "case_page.receivers", "the address of 2 of 2 contacts"),
    "page: no channel label": (page('data-testid="channel"', 'data-testid="kind"'),
                               "case_page.channels", "the channel of 2 of 6 contacts"),
    "page: unknown status label": (status_label("page", "Done and dusted"),
                                   "case_page.parser", "a known status label"),
    "page: renamed contact element": (page_re(r"kat-(box|expander)\b", "kat-card"),
                                      "case_page.parser", "<kat-box> or <kat-expander"),
    "page: body not the last div": (trailing_div, "case_page.texts",
                                    "the text of 5 of 5 contacts"),
    "page: no attachment links": (page('data-testid="attachment"', 'data-testid="file"'),
                                  "case_page.attachments", "the attachments of 1 of 1"),
    "page: no reopen notice": (page('data-testid="reopen-notice"', 'data-testid="notice"'),
                               "case_page.reopen_notice", "absent on an Answered case"),
    "page: no Reply button": (page_re(r'<kat-button( class="\w+"[^>]*)? label="(Reply|'
                                      r'Antworten)"></kat-button>', ""),
                              "case_page.actions", "Reply absent"),
    "page: another case's title": (page("Listing question number 0", "Listing question #9",
                                        count=2),
                                   "case_page.summary", "the title"),
    # The lobby
    "lobby: renamed header": (lambda a: setattr(a, "lobby", re.sub(
        r">\s*(Case ID|Fall-ID)\s*<", ">Case number<", a.lobby)),
        "lobby.parser", "a table with the headers"),
    "lobby: unknown status label": (status_label("lobby", "Done and dusted"),
                                    "lobby.parser", "a known status label inside lobby row"),
    "lobby: no links to the cases": (lobby("view-case?caseID=", "case?id="),
                                     "lobby.links", "0 of 12 rows linked"),
    "lobby: no summary line": (lambda a: setattr(a, "lobby", re.sub(
        r"(Cases|Fälle) 1 (to|bis) 12 (of|von) 12", "", a.lobby)),
        "lobby.summary", "no such line"),
    "lobby: another status": (lambda a: setattr(a, "lobby", a.lobby.replace(
        STATUS["de" if "Fall-ID" in a.lobby else "en"]["Answered"],
        STATUS["de" if "Fall-ID" in a.lobby else "en"]["Closed"])),
        "lobby.rows", "Status in"),
}
BASES = ("a-en_US-plain", "b-de_DE-wrapped-shuffled", "a-en_GB-offset-mixed-times-kat-labels")


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("drift", list(DRIFTS))
def test_doctor_names_each_drift(base, drift):
    edit, check, words = DRIFTS[drift]
    a = answers(VARIANTS[base])
    truth = data_of(a)
    edit(a)
    report, by = doctor(a)
    assert_holds_none(report, truth)
    assert report["exit_code"] == 1
    assert check in report["failed"], (check, [(f.check, f.found) for f in by.values()
                                               if f.failed])
    assert words in by[check].found, by[check].found


def test_the_drifts_are_many_and_each_fails_on_every_base():
    assert len(DRIFTS) >= 30


SEARCH_DRIFTS = [d for d in DRIFTS if d.startswith("search:")]


@pytest.mark.parametrize("drift", SEARCH_DRIFTS)
def test_the_sync_canary_stops_on_each_case_list_drift(drift):
    edit, check, words = DRIFTS[drift]
    a = answers(replace(VARIANTS["b-en_US-v3-older-messages-over-cap"]))
    edit(a)
    problems = {f.check: f for f in shape_problems(a.raws()["search"])}
    assert check in problems and words in problems[check].found, problems
    with pytest.raises(ShapeChanged) as info:
        check_case_list(a.raws()["search"], "https://sellercentral.amazon.com")
    first = next(iter(problems.values()))
    assert f"changed shape: {first.check} expected {first.expected}, found " \
           f"{first.found}" in str(info.value)


# -- one declaration drives the parser and the doctor -------------------------------------

def _holders(a: Answers) -> dict:
    """Where each contract shape sits in a conforming pair of answers."""
    return {
        contract.SEARCH: ("search", lambda d: d),
        contract.SEARCH_ROW: ("search", lambda d: d["caseSearchResultList"][0]),
        contract.VIEW_CASE: ("view", lambda d: d),
        contract.META: ("view", lambda d: d["viewCaseMetaData"]),
        contract.CONTACT: ("view", lambda d: d["contactList"][0]),
        contract.ATTACHMENT: ("view", lambda d: next(
            c["attachments"][0] for c in d["contactList"] if c["attachments"])),
    }


FIELDS = [(shape.name, f.key) for shape in _holders(answers(Variant())) for f in shape.fields]


@pytest.mark.parametrize("shape_name,key", FIELDS)
def test_a_field_gone_is_refused_by_the_parser_or_named_by_the_doctor_as_declared(
        shape_name, key):
    """Remove one field from a conforming answer: the parser refuses it exactly when the
    contract says `required`; the doctor fails exactly when it is not `optional`."""
    a = answers(Variant())
    shape = next(s for s in _holders(a) if s.name == shape_name)
    which, find = _holders(a)[shape]
    find(getattr(a, which)).pop(key)
    need = shape[key].need
    raws = a.raws()
    parse = (lambda: parse_search(raws["search"])) if which == "search" else \
        (lambda: parse_view_case(raws["viewcase"], a.case_id))
    if need == "required":
        with pytest.raises(LayoutError) as info:
            parse()
        assert f'"{key}"' in info.value.expected
    else:
        parse()
    report, by = doctor(a)
    assert (report["exit_code"] == 1) == (need != "optional"), (need, report["failed"])
    if need != "optional":
        assert any(f"{key} absent" in f.found for f in by.values() if f.failed), \
            report["failed"]
