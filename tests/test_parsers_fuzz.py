"""The parsers are total: for any input each returns records of the documented types or
raises a ParseError subclass (or, for the portal's own pages, a situation). Hypothesis
attacks them with arbitrary bytes, arbitrary JSON and mutations of the real captures in
tests/data; explicit regressions pin each shape that once raised an untyped exception,
the nesting that once took quadratic time (its speed: benchmarks/fuzz.py) and the caps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from scrapers.errors import LayoutError, ParseError, PortalError, TooLarge
from scrapers.parse import limits, locales
from scrapers.parse.channels import CHANNELS, chat_turns
from scrapers.parse.monsapi import (
    apply_full_messages,
    merge_pages,
    parse_contact_message,
    parse_search,
    parse_view_case,
)
from scrapers.parse.nesting import estimate_depth, flatten
from scrapers.parse.pages import check_special_page, parse_case_page, parse_lobby
from scrapers.parse.records import epoch_to_iso
from scrapers.parse.text import html_to_text

DATA = Path(__file__).parent / "data"
CASE = "40718231605"
VIEW = json.loads((DATA / f"view_case_{CASE}.json").read_text(encoding="utf-8"))
SEARCH = json.loads((DATA / "search_page0.json").read_text(encoding="utf-8"))
MESSAGE = json.loads((DATA / "contact_message_c-1002.json").read_text(encoding="utf-8"))
# v2: a chat, a phone call and a truncated e-mail (tests/data/truth_v2_*.json says so).
VIEW_V2 = json.loads((DATA / "view_case_v2_en_US_348604730.json").read_text(encoding="utf-8"))
PAGES = {p.name: p.read_text(encoding="utf-8") for p in sorted(DATA.glob("*.html"))}
FAST = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _iso(v) -> bool:
    return isinstance(v, str) and len(v) == 20 and v[10] == "T" and v.endswith("Z")


def check_case(case: dict) -> None:
    """Exactly the documented types (DESIGN.md "Parsed records")."""
    assert case["case_id"] is None or isinstance(case["case_id"], str)
    assert isinstance(case["subject"], str) and isinstance(case["status"], str)
    assert _iso(case["created_at"]) and all(isinstance(t, str) for t in case["tags"])
    for key in ("can_edit", "can_reopen", "reopen_notice", "escalated"):
        assert case[key] is None or isinstance(case[key], bool)
    assert case["total_messages"] is None or type(case["total_messages"]) is int
    assert case["next_token"] is None or isinstance(case["next_token"], str)
    for m in case["messages"]:
        assert m["sender"] in ("amazon", "seller") and _iso(m["sent_at"])
        assert isinstance(m["html"], str) and isinstance(m["text"], str)
        assert isinstance(m["message_key"], str) and isinstance(m["truncated"], bool)
        for a in m["attachments"]:
            assert isinstance(a["name"], str) and (a["size"] is None or type(a["size"]) is int)
            assert a["attachment_id"] is None or isinstance(a["attachment_id"], str)
        assert m["channel"] in CHANNELS
        assert m["turns"] == [] if m["channel"] != "chat" else isinstance(m["turns"], list)
        check_turns(m["turns"])


def check_turns(turns) -> None:
    for t in turns:
        assert set(t) == {"at", "name", "text"} and isinstance(t["text"], str)
        assert t["at"] is None or _iso(t["at"])
        assert t["name"] is None or isinstance(t["name"], str)


def check_listed(rows, total) -> None:
    assert total is None or type(total) is int
    for r in rows:
        assert isinstance(r["case_id"], str) and r["case_id"].isdigit()
        assert isinstance(r["status"], str) and isinstance(r["subject"], str)
        assert _iso(r["created_at"])
        assert r["last_amazon_reply_at"] is None or _iso(r["last_amazon_reply_at"])
        if "dates" in r:  # the rendered lobby's rows
            assert r["dates"] == "day" and isinstance(r["last_reply_known"], bool)
            assert r["last_reply_known"] or r["last_amazon_reply_at"] is None


def total(fn, *args, **kwargs):
    """Run a parser: its result, or None when it raised one of the allowed errors."""
    try:
        return fn(*args, **kwargs)
    except (ParseError, PortalError):
        return None


# -- strategies -----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=20)
odd = st.sampled_from([None, True, "true", 0, 1e20, -1, 10**30, "", "x", [], [1], {},
                       {"a": None}, "9" * 5000, 40718231605, float("nan")]) | json_values


def _paths(value, prefix=()):
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for k, v in items:
        yield from _paths(v, prefix + (k,))


@st.composite
def mutated(draw, original):
    """The capture with one to three values replaced by others of any type, or keys
    deleted."""
    data = json.loads(json.dumps(original))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(data))))
        if not path:
            data = draw(odd)
            continue
        holder = data
        for key in path[:-1]:
            holder = holder[key]
        if isinstance(holder, dict) and draw(st.booleans()):
            del holder[path[-1]]
        else:
            holder[path[-1]] = draw(odd)
        if not isinstance(data, dict | list):
            break
    return json.dumps(data)


@st.composite
def mutated_page(draw, name):
    text = PAGES[name]
    a = draw(st.integers(0, len(text)))
    b = draw(st.integers(a, len(text)))
    piece = draw(st.sampled_from(["", "<div>" * 300, "</div>", "<kat-box>", "<table><tr>",
                                  "Mar 06, 2026", "31.02.2026", "4:35 PM XYZ", "ID: x",
                                  "&#x110000;", "<svg><title>", "<select>", "\x00",
                                  '<kat-expander class="contact-expander">', "</kat-expander>",
                                  "March 6, 2026 at 04:35:07 PM GMT-3:30",
                                  "6. März 2026 um 25:61:00 MEZ", '<i data-testid="channel">',
                                  "Telefonat", "Fax", "Übertragen", "<th>Case ID</th>",
                                  "<th>Kurzbeschreibung</th>", '<a href="view-case?caseID=1">',
                                  '<p data-testid="reopen-notice">']))
    return text[:a] + piece + text[b:]


# -- properties -----------------------------------------------------------------------

@FAST
@given(st.binary(max_size=2000))
def test_any_bytes(body):
    for fn in (parse_search, parse_view_case, parse_contact_message):
        total(fn, body)
    for fn in (parse_case_page, parse_lobby):
        total(fn, body)
    assert isinstance(total(html_to_text, body) or "", str)
    total(check_special_page, body)


@FAST
@given(json_values)
def test_any_json_value(value):
    body = json.dumps(value)
    for fn in (parse_search, parse_view_case, parse_contact_message):
        total(fn, body)
    total(epoch_to_iso, value)


@FAST
@given(mutated(VIEW))
def test_mutated_view_case(body):
    case = total(parse_view_case, body, CASE)
    if case is not None:
        check_case(case)
        check_case(merge_pages([case, case]))
        check_case(apply_full_messages(case, {m["message_key"]: "<b>x</b>"
                                              for m in case["messages"]}))


@FAST
@given(mutated(VIEW_V2))
def test_mutated_view_case_v2(body):
    case = total(parse_view_case, body, "348604730")
    if case is not None:
        check_case(case)
        check_case(apply_full_messages(case, {m["message_key"]: "12:00 UTC A: b<br>c"
                                              for m in case["messages"]}))


@FAST
@given(st.text(max_size=300), st.sampled_from([None, "2026-03-06T23:59:50Z", "soon", 7]))
def test_chat_turns_any_text(text, sent_at):
    check_turns(chat_turns(text, sent_at))


@FAST
@given(mutated(SEARCH), mutated(MESSAGE))
def test_mutated_search_and_message(search, message):
    listed = total(parse_search, search)
    if listed is not None:
        check_listed(*listed)
    full = total(parse_contact_message, message)
    assert full is None or isinstance(full["text"], str)


@FAST
@given(st.sampled_from(sorted(PAGES)).flatmap(mutated_page))
def test_mutated_pages(html):
    case = total(parse_case_page, html)
    if case is not None:
        check_case(case)
    listed = total(parse_lobby, html)
    if listed is not None:
        check_listed(*listed)
    assert isinstance(html_to_text(html), str)


@FAST
@given(st.text(max_size=60), st.text(max_size=60), st.text(max_size=40) | st.none())
def test_locales_any_text(day, time_text, hint):
    total(locales.parse_one_line, f"{day} at {time_text}", timezone_hint=hint)
    total(locales.channel_value, day)
    assert locales.header_meaning(day) in (None, *locales.HEADERS)
    total(locales.parse_date, day)
    total(locales.parse_time, time_text)
    total(locales.parse_datetime, day, time_text, timezone_hint=hint)


TAGS = st.sampled_from("div span p b i a li ul table tr td form svg path math mi font "
                       "option select h1 section button nobr tbody template br dd dl".split())


@FAST
@given(st.lists(st.tuples(TAGS, st.sampled_from(["<{}>", "</{}>", "x"])), max_size=300))
def test_depth_model_follows_lexbor(tokens):
    """The flattening only works if the model's depth is not far below lexbor's."""
    html = "".join(form.format(tag) for tag, form in tokens)
    tree, depth, deepest = LexborHTMLParser(html), {}, 0
    for node in tree.root.traverse():
        parent = node.parent
        depth[node.mem_id] = depth.get(parent.mem_id, 0) + 1 if parent is not None else 1
        deepest = max(deepest, depth[node.mem_id])
    assert deepest <= 2 * estimate_depth(html) + 20


# -- regressions: each shape that once raised an untyped exception ----------------------

def _view(**changes) -> str:
    data = json.loads(json.dumps(VIEW))
    for path, value in changes.items():
        holder, keys = data, path.split("__")
        for key in keys[:-1]:
            holder = holder[int(key) if key.isdigit() else key]
        holder[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize("changes, expected", [
    ({"contactList__1__attachments": ["a.pdf"]}, "an attachment object"),
    ({"viewCaseMetaData": []}, '"viewCaseMetaData" (an object)'),
    ({"viewCaseMetaData__creationDate": 1e20}, '"creationDate" (epoch seconds)'),
    ({"contactList": {"0": {}}}, '"contactList" (a list)'),
    ({"totalNumberOfContacts": 10**30}, '"totalNumberOfContacts" (a whole number)'),
    ({"viewCaseMetaData": None}, '"viewCaseMetaData" (an object)'),
    ({"contactList__0__contactId": {"id": 1}}, '"contactId" (an id'),
    ({"currentToken": {"next": 2}}, '"currentToken" (a string)'),
    ({"contactList__1__timestamp": "soon"}, '"timestamp" (epoch seconds)'),
    ({"viewCaseMetaData__caseTitle": {"x": 1}}, '"caseTitle" (a string)'),
    ({"contactList__0__outbound": "maybe"}, '"outbound" (true or false)'),
    ({"contactList__1__attachments__0__fileSize": "big"}, '"fileSize" (a whole number)'),
])
def test_odd_view_case_shapes_name_what_and_where(changes, expected):
    with pytest.raises(LayoutError) as info:
        parse_view_case(_view(**changes), CASE)
    assert expected in str(info.value) and f"case {CASE}" in str(info.value)


@pytest.mark.parametrize("value, found", [
    ("FAX", "'FAX'"), (3, "int"), (["CHAT"], "list"), ({"type": "CHAT"}, "dict"),
    (True, "bool"), ("C" * 500, "'" + "C" * 60 + "'")])
def test_odd_channel_types_name_what_they_found(value, found):
    body = _view(contactList__0__channelType=value)
    with pytest.raises(LayoutError) as info:
        parse_view_case(body, CASE)
    assert str(info.value) == (f'case {CASE}: expected "channelType" (EMAIL, CHAT or PHONE)'
                               f" inside contactList[0], found {found}")


def test_the_message_names_field_place_and_what_was_found():
    with pytest.raises(LayoutError) as info:
        parse_view_case(_view(contactList__1__timestamp="soon"), CASE)
    assert str(info.value) == (f'case {CASE}: expected "timestamp" (epoch seconds) inside '
                               "contactList[1], found 'soon'")


def test_tolerated_shapes_give_documented_types():
    case = parse_view_case(_view(viewCaseMetaData__caseTags="Orders",
                                 viewCaseMetaData__canEditCase="false",
                                 contactList__0__contactId=1004,
                                 currentToken=7), CASE)
    assert case["tags"] == ["Orders"] and case["can_edit"] is False
    assert case["messages"][0]["contact_id"] == "1004" and case["next_token"] == "7"
    listed, _ = parse_search(json.dumps({**SEARCH, "caseSearchResultList": [
        {**SEARCH["caseSearchResultList"][0], "caseId": 40718231605}]}))
    assert listed[0]["case_id"] == "40718231605"


@pytest.mark.parametrize("body", ["[1, 2]", "null", '"text"', "7", '{"viewCaseMetaData": 1}'])
def test_non_object_answers(body):
    for fn in (parse_search, parse_view_case, parse_contact_message):
        with pytest.raises(LayoutError):
            fn(body)


def test_deep_json_is_refused_before_decoding():
    for body in ("[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000):
        with pytest.raises(TooLarge, match="nests"):
            parse_view_case(body, CASE)
    deep_ok = _view(viewCaseMetaData__ccList=json.loads("[" * 20 + "]" * 20))
    assert parse_view_case(deep_ok, CASE)["case_id"] == CASE


@pytest.mark.parametrize("value", [1e20, -1, 10**30, float("inf"), "1e20", True, [1],
                                   "1850-01-01T00:00:00Z", 4_200_000_000])
def test_epochs_out_of_range_are_layout_errors(value):
    with pytest.raises(LayoutError):
        epoch_to_iso(value)


def test_size_cap():
    big = "x" * (limits.MAX_CAPTURE_BYTES + 1)
    for fn in (parse_case_page, parse_lobby, html_to_text, parse_view_case):
        with pytest.raises(TooLarge, match="over the"):
            fn(big)


def test_lobby_rows_with_nested_cells_and_odd_totals():
    lobby = PAGES["lobby_en_US.html"]
    with pytest.raises(LayoutError):
        parse_lobby(lobby.replace("Cases 1 to 3 of 556", "Cases 1 to 3 of ."))
    nested = lobby.replace("<td", "<td><table><tr><td>1</td><td>2</td><td>3</td><td>4</td>"
                                  "<td>5</td></tr></table></td><td", 1)
    total(parse_lobby, nested)  # a row of six cells: no IndexError whatever it reads


@pytest.mark.parametrize("text", ["", "9" * 5000, "31.02.2026", "Mar 06, 0001", "\x00"])
def test_dates_raise_layout_errors(text):
    with pytest.raises(LayoutError):
        locales.parse_date(text)


def test_a_very_long_zone_hint_is_a_time_zone_error():
    with pytest.raises(ParseError):
        locales.parse_datetime("6 Mar 2026", "16:35 XYZT", timezone_hint="A/" * 5000)


# -- nesting ------------------------------------------------------------------------------

def test_100000_nested_divs():
    nested = "<div>" * 100_000 + "x" + "</div>" * 100_000
    assert html_to_text(nested) == "x"  # its speed: benchmarks/fuzz.py
    with pytest.raises(LayoutError):
        parse_case_page(nested)
    with pytest.raises(LayoutError):
        parse_lobby(nested)


def test_flattening_keeps_the_text_rule():
    deep = "<div>" * 400 + "a<p>b</p>c<br>d<script>x</script>" + "</div>" * 400 + "e"
    assert flatten(deep) != deep
    assert html_to_text(deep) == "ab\nc\nd" + "\n" * 400 + "e"  # block ends only
    normal = PAGES[f"case_{CASE}_en_US.html"]
    assert flatten(normal) is normal  # pages of normal depth are parsed as they are


def test_a_case_page_inside_deep_junk_still_parses_when_shallow_enough():
    page = PAGES[f"case_{CASE}_en_US.html"]
    wrapped = page.replace("<main", "<div>" * 100 + "<main").replace("</main>",
                                                                    "</main>" + "</div>" * 100)
    assert parse_case_page(wrapped)["messages"] == parse_case_page(page)["messages"]
