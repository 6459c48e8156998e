"""Fuzz the parsers (not a test): 10,000 structure-aware mutations of the real captures in
``tests/data`` through every public parser. Each must return records of the documented
types or raise a ``ParseError`` subclass (or, for the portal's own pages, a situation:
SessionExpired, RobotCheck, Outage, CaseNotFound); anything else is an untyped exception
and fails the run. Also times the inputs that used to be superlinear (100,000 nested
divs; 10 MB of junk markup; 50 MB of junk, over the size cap).

    .venv/bin/python benchmarks/fuzz.py [--mutations 10000] [--seed 7]

Writes ``benchmarks/results/fuzz.json``; exits 1 on any untyped exception or missed target.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scrapers.errors import CaptureError, ParseError, PortalError  # noqa: E402
from scrapers.parse import locales  # noqa: E402
from scrapers.parse.channels import CHANNELS, chat_turns  # noqa: E402
from scrapers.parse.monsapi import (  # noqa: E402
    apply_full_messages,
    merge_pages,
    parse_contact_message,
    parse_search,
    parse_view_case,
)
from scrapers.parse.pages import check_special_page, parse_case_page, parse_lobby  # noqa: E402
from scrapers.parse.records import epoch_to_iso  # noqa: E402
from scrapers.parse.text import html_to_text  # noqa: E402

DATA = ROOT / "tests" / "data"
ODD_VALUES = [None, True, False, 0, -1, 1e20, -1e20, 10**30, 2**63, 1.5, float("nan"), "",
              "x", "1e20", "true", "null", "<b>x</b>", "\x00", "\ud800"[:0] + "é" * 3, [],
              [None], [1, 2], {}, {"a": 1}, "9" * 5000, "40718231605", 40718231605]
JUNK_TAGS = ("div span p b i a li ul table tr td th form svg math mi font em option "
             "select h1 section kat-box kat-expander kat-button button nobr tbody thead th "
             "xmp script title "
             "textarea template br hr img dd dt dl").split()


# -- mutations ------------------------------------------------------------------------

def paths(value, prefix=()):
    """Every path (tuple of keys and indices) into a JSON value, the root included."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


def replace_at(value, path, new):
    if not path:
        return new
    holder = value
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = new
    return value


def odd_value(rnd: random.Random):
    kind = rnd.random()
    if kind < 0.1:
        depth = rnd.choice([50, 1000, 10000])
        return json.loads("[" * min(depth, 30) + "]" * min(depth, 30)) if depth < 100 \
            else {"deep": depth}
    return copy.deepcopy(rnd.choice(ODD_VALUES))


def mutate_json(text: str, rnd: random.Random) -> str | bytes:
    """Replace a value by one of another type, delete a key, nest deeply, or cut bytes."""
    data = json.loads(text)
    roll = rnd.random()
    if roll < 0.05:
        depth = rnd.choice([100, 10_000, 100_000])
        return "[" * depth + "1" + "]" * depth
    if roll < 0.12:
        raw = text.encode()
        cut = rnd.randrange(len(raw))
        return raw[:cut] + bytes([rnd.randrange(256)]) + raw[cut + 1:]
    for _ in range(rnd.randint(1, 3)):
        path = rnd.choice(list(paths(data)))
        if path and rnd.random() < 0.25:
            holder = data
            for key in path[:-1]:
                holder = holder[key]
            if isinstance(holder, dict):
                del holder[path[-1]]
                continue
        new = odd_value(rnd)
        if isinstance(new, dict) and "deep" in new:
            return json.dumps(data).replace("null", "[" * new["deep"] + "]" * new["deep"], 1)
        data = replace_at(data, path, new)
    return json.dumps(data)


def mutate_html(text: str, rnd: random.Random) -> str | bytes:
    """Cut, repeat, nest or garble a piece of a real page."""
    roll = rnd.random()
    n = len(text)
    a, b = sorted(rnd.randrange(n) for _ in range(2))
    if roll < 0.2:
        return text[:a] + text[b:]
    if roll < 0.35:
        return text[:a] + text[a:b] * rnd.randint(2, 20) + text[b:]
    if roll < 0.5:
        tag = rnd.choice(JUNK_TAGS)
        k = rnd.choice([10, 300, 5000])
        return text[:a] + f"<{tag}>" * k + text[a:b] + f"</{tag}>" * k + text[b:]
    if roll < 0.6:
        return text[:a] + "".join(rnd.choice(["<", ">", "&", "\"", "'", "/", "=", "x"])
                                  for _ in range(50)) + text[a:]
    if roll < 0.7:
        raw = text.encode()
        return raw[:a] + bytes(rnd.randrange(256) for _ in range(8)) + raw[a:]
    if roll < 0.85:
        words = ["Mar 06, 2026", "31.02.2026", "4:35 PM XYZ", "99:99", "IST", "Status:",
                 "ID:", "abc", "Created:", "See more", "You", "Amazon", "\u00a0" * 50,
                 # v2
                 "March 6, 2026 at 04:35:07 PM GMT-3:30", "6. März 2026 um 16:35:07 MEZ",
                 "6 March 2026 at 25:00:00 GMT", "GMT+15", "Chat", "Phone call", "Telefonat",
                 "Transferred", "Übertragen", '<div data-testid="channel">Fax</div>',
                 '<kat-expander class="contact-expander">', "<th>Case ID</th>",
                 "<th>Short Description</th>", "<th>Letzte Antwort von Amazon</th>",
                 '<a href="/cu/case-dashboard/view-case?caseID=123456789012345678901">',
                 '<p data-testid="reopen-notice">x</p>', "23:59:59 UTC A: b<br>00:00 UTC"]
        return text[:a] + rnd.choice(words) + text[b:]
    return text[:a] + junk(rnd, rnd.randint(100, 3000)) + text[a:]


def junk(rnd: random.Random, size: int) -> str:
    """Random tag soup of about `size` characters."""
    parts, length = [], 0
    while length < size:
        t = rnd.choice(JUNK_TAGS)
        r = rnd.random()
        piece = f"<{t}>" if r < 0.5 else f"</{t}>" if r < 0.85 else "junk text "
        parts.append(piece)
        length += len(piece)
    return "".join(parts)


# -- the shapes records must have -----------------------------------------------------

def _iso(v) -> bool:
    return isinstance(v, str) and len(v) == 20 and v[4] == "-" and v.endswith("Z")


def _opt(v, kind) -> bool:
    return v is None or isinstance(v, kind)


LISTED = {"case_id", "status", "subject", "created_at", "last_amazon_reply_at"}


def check_listed(row) -> None:
    # The rendered lobby's rows also say their dates are days and whether replies show.
    assert set(row) in (LISTED, LISTED | {"dates", "last_reply_known"})
    if "dates" in row:
        assert row["dates"] == "day" and isinstance(row["last_reply_known"], bool)
    assert isinstance(row["case_id"], str) and row["case_id"].isdigit()
    assert isinstance(row["status"], str) and isinstance(row["subject"], str)
    assert _iso(row["created_at"])
    assert row["last_amazon_reply_at"] is None or _iso(row["last_amazon_reply_at"])


def check_case(case) -> None:
    assert _opt(case["case_id"], str) and isinstance(case["subject"], str)
    assert isinstance(case["status"], str) and _iso(case["created_at"])
    assert isinstance(case["tags"], list) and all(isinstance(t, str) for t in case["tags"])
    assert _opt(case["category"], str) and _opt(case["primary_email"], str)
    for key in ("can_edit", "can_reopen", "reopen_notice", "escalated"):
        assert _opt(case[key], bool)
    assert case["total_messages"] is None or (type(case["total_messages"]) is int)
    assert _opt(case["next_token"], str)
    for m in case["messages"]:
        assert _opt(m["contact_id"], str) and isinstance(m["message_key"], str)
        assert m["sender"] in ("amazon", "seller") and _opt(m["sender_address"], str)
        assert _iso(m["sent_at"]) and isinstance(m["html"], str)
        assert isinstance(m["text"], str) and isinstance(m["truncated"], bool)
        for a in m["attachments"]:
            assert set(a) == {"attachment_id", "name", "size", "content_type"}
            assert _opt(a["attachment_id"], str) and isinstance(a["name"], str)
            assert a["size"] is None or type(a["size"]) is int
            assert _opt(a["content_type"], str)
        assert m["channel"] in CHANNELS and isinstance(m["turns"], list)
        assert m["channel"] == "chat" or m["turns"] == []
        check_turns(m["turns"])


def check_turns(turns) -> None:
    for t in turns:
        assert set(t) == {"at", "name", "text"} and isinstance(t["text"], str)
        assert t["at"] is None or _iso(t["at"])
        assert _opt(t["name"], str)


def run_search(body):
    rows, total = parse_search(body)
    assert type(total) is int
    for row in rows:
        check_listed(row)


def run_view_case(body):
    case = parse_view_case(body, "40718231605")
    check_case(case)
    check_case(merge_pages([case, case]))
    check_case(apply_full_messages(case, {m["message_key"]: "<p>full</p>"
                                          for m in case["messages"]}))


def run_message(body):
    full = parse_contact_message(body)
    assert isinstance(full["contact_id"], str) and isinstance(full["text"], str)


def run_case_page(body):
    check_case(parse_case_page(body))


def run_lobby(body):
    rows, total = parse_lobby(body)
    assert total is None or type(total) is int
    for row in rows:
        check_listed(row)


def run_text(body):
    check_special_page(body)
    assert isinstance(html_to_text(body), str)


def run_dates(text):
    for fn in (locales.parse_date, locales.parse_time, locales.status_value):
        try:
            fn(text)
        except ParseError:
            pass
    for fn in (locales.parse_one_line, locales.channel_value):
        try:
            fn(text)
        except ParseError:
            pass
    check_turns(chat_turns(text.replace(" ", "\n", 1), "2026-03-06T23:59:50Z"))
    epoch_to_iso(text)
    locales.parse_datetime(text, text[::-1], timezone_hint=text[:30] or None)


def runners_for(name: str):
    if name.startswith("search"):
        return [run_search]
    if name.startswith("view_case"):
        return [run_view_case]
    if name.startswith("contact_message"):
        return [run_message]
    if name.startswith("lobby"):
        return [run_lobby, run_text]
    return [run_case_page, run_lobby, run_text]


# -- the run --------------------------------------------------------------------------

def outcome(fn, body) -> str:
    try:
        fn(body)
    except PortalError as exc:
        return "situation:" + type(exc).__name__
    except ParseError as exc:
        return "ParseError:" + type(exc).__name__
    except AssertionError:
        return "untyped:bad record shape " + traceback.format_exc(limit=-1).splitlines()[-2]
    except CaptureError as exc:
        return "untyped:" + type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - counting them is the point
        return "untyped:" + type(exc).__name__ + ": " + str(exc)[:80]
    return "records"


def fuzz(mutations: int, seed: int) -> dict:
    rnd = random.Random(seed)
    # Every capture; the truth files are the tests' references, not captures.
    sources = sorted(p for p in DATA.iterdir() if p.suffix in (".json", ".html")
                     and not p.name.startswith("truth"))
    texts = {p.name: p.read_text(encoding="utf-8") for p in sources}
    counts: Counter[str] = Counter()
    slowest = (0.0, "")
    examples: dict[str, str] = {}
    for n in range(mutations):
        name = sources[n % len(sources)].name
        if n % 10 == 9:
            body, fns = "".join(rnd.choice("0123456789 .:,/-APMSTGU+März atum")
                                for _ in range(rnd.randint(0, 40))), [run_dates]
        else:
            mutate = mutate_json if name.endswith(".json") else mutate_html
            body, fns = mutate(texts[name], rnd), runners_for(name)
        for fn in fns:
            start = time.perf_counter()
            result = outcome(fn, body)
            took = time.perf_counter() - start
            counts[result] += 1
            if took > slowest[0]:
                slowest = (took, f"mutation {n} of {name} through {fn.__name__}")
            if result.startswith("untyped") and result not in examples:
                examples[result] = f"mutation {n} of {name}: {str(body)[:300]}"
    untyped = sum(v for k, v in counts.items() if k.startswith("untyped"))
    return {"mutations": mutations, "seed": seed, "parser_runs": sum(counts.values()),
            "outcomes": dict(sorted(counts.items())), "untyped": untyped,
            "untyped_examples": examples,
            "slowest": {"seconds": round(slowest[0], 4), "input": slowest[1]}}


def timed(fn, body) -> tuple[float, str]:
    start = time.perf_counter()
    result = outcome(fn, body)
    return time.perf_counter() - start, result


def hostile(rnd: random.Random) -> dict:
    """The shapes that used to be superlinear, with targets for a busy 2-core machine."""
    nested = "<div>" * 100_000 + "x" + "</div>" * 100_000
    junk10 = junk(rnd, 10_000_000)
    junk50 = junk(rnd, 50 * 1024 * 1024)
    page_b = (DATA / "case_v2b_en_US_transferred.html").read_text(encoding="utf-8")
    expanders = page_b.replace('aria-label="Messages">', 'aria-label="Messages">'
                               + "<kat-expander>" * 100_000 + "x"
                               + "</kat-expander>" * 100_000, 1)
    cases = [
        ("html_to_text, 100,000 nested divs", run_text, nested, 2.0),
        ("parse_case_page, 100,000 nested kat-expanders in a layout-b page", run_case_page,
         expanders, 2.0),
        ("parse_case_page, 100,000 nested divs", run_case_page, nested, 2.0),
        ("parse_lobby, 100,000 nested divs", run_lobby, nested, 2.0),
        ("html_to_text, 10 MB of junk markup", run_text, junk10, 5.0),
        ("parse_case_page, 10 MB of junk markup", run_case_page, junk10, 5.0),
        ("parse_case_page, 50 MiB of junk (over the cap)", run_case_page, junk50, 1.0),
        ("parse_view_case, 100,000 nested arrays", run_view_case,
         "[" * 100_000 + "]" * 100_000, 1.0),
    ]
    out = {}
    for label, fn, body, target in cases:
        seconds, result = timed(fn, body)
        out[label] = {"seconds": round(seconds, 3), "target": target, "outcome": result,
                      "met": seconds < target and not result.startswith("untyped")}
        print(f"{label}: {seconds:.2f} s (target < {target}) {result}"
              f" {'ok' if out[label]['met'] else 'MISSED'}", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-hostile", action="store_true", help="skip the timed inputs")
    args = parser.parse_args()
    start = time.perf_counter()
    report = fuzz(args.mutations, args.seed)
    report["fuzz_seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps({k: report[k] for k in ("mutations", "parser_runs", "outcomes",
                                             "untyped", "slowest", "fuzz_seconds")},
                     indent=1))
    for example in report["untyped_examples"].values():
        print(example)
    report["hostile"] = {} if args.no_hostile else hostile(random.Random(args.seed))
    report["machine"] = platform.platform()
    out = ROOT / "benchmarks" / "results" / "fuzz.json"
    out.write_text(json.dumps(report, indent=2))
    missed = [k for k, v in report["hostile"].items() if not v["met"]]
    return 1 if report["untyped"] or missed else 0


if __name__ == "__main__":
    sys.exit(main())
