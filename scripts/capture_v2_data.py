"""Capture PORTAL.md version 2 pages and JSON from the bundled portal into ``tests/data``,
so the pure parser tests (tests/test_parsers_v2.py) run from files, without a browser.

Usage:
    .venv/bin/python scripts/capture_v2_data.py            # rewrite tests/data/*v2*
    .venv/bin/python scripts/capture_v2_data.py --out DIR  # somewhere else

What it writes, each from a portal started with ``--cases 12 --seed 13 --v2-data
--mixed-id-lengths`` and one transfer made through ``/__sim/mutate``:

- ``case_v2b_<locale>_<name>.html``: layout b case pages (kat-expander, one-line times) as
  ``PortalClient.case_page_html`` renders them (every older page loaded, every "See more"
  expanded), en_US / en_GB / de_DE: ``mixed`` (a chat, a phone call and a truncated
  e-mail; an Answered case showing the reopen notice), ``transferred``, ``long`` (more
  than one page of messages);
- ``case_v2b_en_US_gmt+5_mixed.html`` / ``case_v2b_en_US_gmt-330_long.html``: zones shown
  as offsets (Asia/Karachi, America/St_Johns);
- ``case_v2a_<locale>_mixed.html``: the same kind of case in layout a (kat-box, date box);
- ``lobby_v2a_<locale>.html`` / ``lobby_v2b_<locale>.html``: both lobby layouts;
- ``view_case_v2_<locale>_<id>.json``, ``contact_message_v2_<locale>_<contact id>.json``:
  the JSON of the same cases in the same run (a transfer's note is written when it is
  made, and in the locale's words), and ``search_v2.json`` (en_US);
- ``truth_v2_<zone tag>.json``: ``/__sim/truth`` (with channels) of the captured cases,
  the reference the tests compare both parsers with.

The bundled portal is only run here as a server; nothing is imported from it but the
test harness that starts it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.harness import start_portal  # noqa: E402
from scrapers.browser.client import PortalClient  # noqa: E402
from scrapers.browser.login import login_with_password  # noqa: E402

BASE = ("--cases", "12", "--seed", "13", "--v2-data", "--mixed-id-lengths")
ZONES = {"en_US": "America/Los_Angeles", "en_GB": "Europe/London", "de_DE": "Europe/Berlin"}


def pick(truth: dict) -> dict[str, str]:
    """The cases worth capturing, chosen from the truth by what they hold."""
    cases = truth["cases"]

    def newest(case, n=10):
        return {m["channel"] for m in case["messages"][-n:]}

    mixed = next(c for c in cases if {"chat", "phone"} <= newest(c))
    transferred = next(c for c in cases if c["status"] == "Transferred")
    long = max((c for c in cases if len(c["messages"]) <= 25),
               key=lambda c: len(c["messages"]))
    return {"mixed": mixed["case_id"], "transferred": transferred["case_id"],
            "long": long["case_id"]}


async def capture(url: str, cfg: dict, *, pages: dict[str, str], lobby: bool,
                  json_too: bool) -> dict[str, bytes]:
    """The named case pages (and the lobby, and the JSON of those cases) of one portal."""
    state = await login_with_password(url, cfg["email"], cfg["password"])
    out: dict[str, bytes] = {}
    async with PortalClient(url, storage_state=state, timezone=cfg["timezone"]) as client:
        for name, case_id in pages.items():
            out[f"page:{name}"] = (await client.case_page_html(case_id)).body
            if not json_too:
                continue
            view = await client.view_case(case_id, page_size=50)
            out[f"view:{case_id}"] = view.body
            for contact in json.loads(view.body)["contactList"]:
                if contact["messageTruncated"]:
                    full = await client.get_contact_message(case_id, contact["contactId"])
                    out[f"message:{contact['contactId']}"] = full.body
        if lobby:
            out["lobby"] = (await client.lobby_html(1, 25)).body
        if json_too:
            out["search"] = (await client.search_cases(0, 25)).body
    return out


def run_portal(layout: str, locale: str, tz: str, want: list[str] | None, *, lobby: bool,
               json_too: bool) -> tuple[dict, dict[str, str], dict[str, bytes]]:
    """Start one portal, make its transfer, capture; returns (truth, picks, captures)."""
    portal = start_portal(*BASE, "--layout", layout, "--locale", locale, "--timezone", tz)
    try:
        portal.sim("mutate", {"transfers": 1})
        truth = portal.sim("truth")
        picks = pick(truth)
        pages = {k: v for k, v in picks.items() if want is None or k in want}
        caps = asyncio.run(capture(portal.url, portal.sim("config"), pages=pages,
                                   lobby=lobby, json_too=json_too))
        return truth, picks, caps
    finally:
        portal.stop()


def write(out: Path, name: str, body: bytes) -> None:
    (out / name).write_bytes(body)
    print(f"{name}: {len(body):,} bytes")


def write_truth(out: Path, tag: str, truth: dict, picks: dict[str, str]) -> None:
    keep = set(picks.values())
    cases = [c for c in truth["cases"] if c["case_id"] in keep]
    body = json.dumps({"picks": picks, "cases": cases}, indent=1, ensure_ascii=False)
    write(out, f"truth_v2_{tag}.json", body.encode() + b"\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for locale, tz in ZONES.items():
        truth, picks, caps = run_portal("b", locale, tz, None, lobby=True, json_too=True)
        write_truth(out, locale, truth, picks)
        for name in picks:
            write(out, f"case_v2b_{locale}_{name}.html", caps[f"page:{name}"])
        write(out, f"lobby_v2b_{locale}.html", caps["lobby"])
        for key, body in caps.items():
            kind, _, ident = key.partition(":")
            if kind == "view":
                write(out, f"view_case_v2_{locale}_{ident}.json", body)
            elif kind == "message":
                write(out, f"contact_message_v2_{locale}_{ident}.json", body)
            elif kind == "search" and locale == "en_US":
                write(out, "search_v2.json", body)
        _, _, caps = run_portal("a", locale, tz, ["mixed"], lobby=True, json_too=False)
        write(out, f"case_v2a_{locale}_mixed.html", caps["page:mixed"])
        write(out, f"lobby_v2a_{locale}.html", caps["lobby"])
    for tag, tz, name in (("gmt+5", "Asia/Karachi", "mixed"),
                          ("gmt-330", "America/St_Johns", "long")):
        truth, picks, caps = run_portal("b", "en_US", tz, [name], lobby=False,
                                        json_too=False)
        write_truth(out, tag, truth, {name: picks[name]})
        write(out, f"case_v2b_en_US_{tag}_{name}.html", caps[f"page:{name}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
