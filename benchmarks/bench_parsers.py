"""Parser speed (not a test): the wall-clock checks that used to sit in the unit tests,
where a busy machine could fail them. Prints figures and writes
``benchmarks/results/parsers.json``; exits 1 if a target is missed.

    .venv/bin/python benchmarks/bench_parsers.py

Targets: html_to_text on 50 KB under 10 ms (best of 5); 1,000 ViewCase pages of 12
messages under 3 s; a 200-message rendered case page under 1 s.
"""

from __future__ import annotations

import json
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scrapers.parse.monsapi import parse_view_case  # noqa: E402
from scrapers.parse.pages import parse_case_page  # noqa: E402
from scrapers.parse.text import html_to_text  # noqa: E402

DATA = ROOT / "tests" / "data"
CASE = "40718231605"


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def text_50kb() -> float:
    para = ("<p>Hello &amp; welcome, " + "word " * 40
            + "<br>line <b>bold</b> &lt;script&gt;x&lt;/script&gt;</p>\n")
    html = para * (50_000 // len(para) + 1)
    return min(timed(html_to_text, html) for _ in range(5))


def view_case_pages() -> float:
    data = json.loads((DATA / f"view_case_{CASE}.json").read_bytes())
    big = json.dumps({**data, "contactList": data["contactList"] * 3})  # 12 messages a page
    pages = [big.replace(f'"c-100{i % 4 + 1}"', f'"c-{n}"', 1) for n, i in
             enumerate(range(1000))]
    start = time.perf_counter()
    for page in pages:
        parse_view_case(page, CASE)
    return time.perf_counter() - start


def big_case_page() -> float:
    html = (DATA / f"case_{CASE}_en_US.html").read_text()
    boxes = re.findall(r"<kat-box class=.*?</kat-box>", html, flags=re.S)
    big = html.replace("\n".join(boxes), "\n".join(boxes * 50))
    return timed(parse_case_page, big)


def main() -> int:
    figures = {
        "html_to_text_50kb_ms": (text_50kb() * 1000, 10.0),
        "viewcase_1000_pages_s": (view_case_pages(), 3.0),
        "case_page_200_messages_s": (big_case_page(), 1.0),
    }
    ok = True
    for name, (value, target) in figures.items():
        met = value < target
        ok &= met
        print(f"{name}: {value:.3f} (target < {target}) {'ok' if met else 'MISSED'}")
    out = {"machine": platform.platform(), "figures": {k: round(v, 4) for k, (v, _) in
                                                        figures.items()}}
    (ROOT / "benchmarks" / "results" / "parsers.json").write_text(json.dumps(out, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
