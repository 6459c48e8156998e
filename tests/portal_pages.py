"""Helpers for browser tests of the simulated portal: expected labels, dates and times
written here with Python's own zoneinfo (never the portal's JS), and signed-in portals.

Zones are expected the way PORTAL.md section 5 allows: a well-known abbreviation of the
offset in force (German names in de_DE), else the offset as ``GMT+5`` / ``GMT-3:30``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pyotp
from playwright.sync_api import Page, expect

LOBBY = "/cu/case-lobby"
VIEW = "/cu/case-dashboard/view-case?caseID="
STATUS_EN = {"PendingAmazonAction": "Work in progress", "PendingMerchantAction":
             "Needs your attention", "Answered": "Answered", "Reopened": "Reopened",
             "Resolved": "Resolved", "Closed": "Closed", "Transferred": "Transferred"}
STATUS_DE = {"PendingAmazonAction": "In Bearbeitung", "PendingMerchantAction":
             "Ihre Aktion ist erforderlich", "Answered": "Beantwortet",
             "Reopened": "Erneut geöffnet", "Resolved": "Gelöst", "Closed": "Geschlossen",
             "Transferred": "Übertragen"}
GERMAN_ZONES = {"CET": "MEZ", "CEST": "MESZ", "EET": "OEZ", "EEST": "OESZ", "WET": "WEZ",
                "WEST": "WESZ"}
# Abbreviations every reader knows; any other zone is shown as its offset.
KNOWN_ZONES = {"UTC", "GMT", "BST", "WET", "WEST", "CET", "CEST", "EET", "EEST", "EST",
               "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "AKST", "AKDT", "HST",
               "JST", "KST", "AEST", "AEDT", "ACST", "ACDT", "AWST", "NZST", "NZDT"}
MONTHS_DE = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
             "September", "Oktober", "November", "Dezember"]
# What a parser of section 5 can read: the shown time of either layout, any locale.
ONE_LINE = re.compile(
    r"^(?:[A-Z][a-z]+ \d{1,2}, \d{4} at \d\d:\d\d:\d\d [AP]M"
    r"|\d{1,2} [A-Z][a-z]+ \d{4} at \d\d:\d\d:\d\d"
    r"|\d{1,2}\. [A-ZÄÖÜ][a-zäöü]+ \d{4} um \d\d:\d\d:\d\d)"
    r" (?:[A-Z]{3,5}|GMT[+-]\d{1,2}(?::\d\d)?)$")


def labels(locale: str) -> dict:
    return STATUS_DE if locale == "de_DE" else STATUS_EN


def when(iso: str, tz: str) -> datetime:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone(
        ZoneInfo(tz))


def zone_name(d: datetime, locale: str) -> str:
    name = d.tzname()
    if name in KNOWN_ZONES:
        return GERMAN_ZONES.get(name, name) if locale == "de_DE" else name
    minutes = int(d.utcoffset().total_seconds() // 60)
    if minutes == 0:
        return "GMT"
    hours, mins = divmod(abs(minutes), 60)
    return f"GMT{'-' if minutes < 0 else '+'}{hours}" + (f":{mins:02d}" if mins else "")


def fmt_date(iso: str, tz: str, locale: str) -> str:
    d = when(iso, tz)
    if locale == "de_DE":
        return f"{d:%d.%m.%Y}"
    if locale == "en_GB":
        return f"{d.day} {d:%b} {d.year}"
    return f"{d:%b %d, %Y}"


def fmt_time(iso: str, tz: str, locale: str) -> str:
    d = when(iso, tz)
    zone = zone_name(d, locale)
    if locale in ("de_DE", "en_GB"):
        return f"{d:%H:%M} {zone}"
    return f"{d.hour % 12 or 12}:{d:%M} {'AM' if d.hour < 12 else 'PM'} {zone}"


def fmt_one_line(iso: str, tz: str, locale: str) -> str:
    d = when(iso, tz)
    zone = zone_name(d, locale)
    if locale == "de_DE":
        return f"{d.day}. {MONTHS_DE[d.month - 1]} {d.year} um {d:%H:%M:%S} {zone}"
    if locale == "en_GB":
        return f"{d.day} {d:%B} {d.year} at {d:%H:%M:%S} {zone}"
    return (f"{d:%B} {d.day}, {d.year} at {d.hour % 12 or 12:02d}:{d:%M:%S} "
            f"{'AM' if d.hour < 12 else 'PM'} {zone}")


def last_amazon(case: dict) -> str | None:
    times = [m["sent_at"] for m in case["messages"] if m["sender"] == "amazon"]
    return max(times) if times else None


def squash(text: str) -> str:
    return " ".join(text.split())


def sign_in(page: Page, cfg: dict, mfa: bool = False, remember: bool = False) -> None:
    """The two-step form (and the MFA step), from wherever the portal sent the page."""
    page.fill("#ap_email", cfg["email"])
    page.click("#continue")
    page.fill("#ap_password", cfg["password"])
    page.click("#signInSubmit")
    if mfa:
        page.fill("#auth-mfa-otpcode", pyotp.TOTP(cfg["mfa_secret"]).now())
        if remember:
            page.check("#auth-mfa-remember-device")
        page.click("#auth-signin-button")


class Live:
    """A running portal with its config, its truth and (once signed in) session cookies."""

    def __init__(self, portal):
        self.portal = portal
        self.url = portal.url
        self.cfg = portal.sim("config")
        self.tz = self.cfg["timezone"]
        self.cases = portal.sim("truth")["cases"]
        self.cookies: list = []

    def case(self, pred) -> dict:
        found = [c for c in self.cases if pred(c)]
        assert found, "the seeded portal lacks a case this test needs"
        return found[0]


def live_with_cookies(portal, browser) -> Live:
    live = Live(portal)
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(live.url + "/ap/signin")
    sign_in(page, live.cfg)
    expect(page.locator("h1")).to_have_text("Case Log")
    live.cookies = ctx.cookies()
    ctx.close()
    return live


def open_as(page: Page, live: Live, path: str, locale: str | None = None) -> None:
    page.context.add_cookies(live.cookies)
    if locale:
        page.context.add_cookies([{"name": "lc-main", "value": locale, "url": live.url}])
    page.goto(live.url + path)


def load_whole_thread(page: Page, label: str = "Show older messages",
                      contact: str = "kat-box") -> None:
    older = page.locator(f'kat-button[label="{label}"]')
    while older.count():
        before = page.locator(contact).count()
        older.click()
        expect(page.locator(contact)).not_to_have_count(before)
