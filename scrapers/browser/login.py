"""Signing in to the portal and handing back the browser's storage state.

Three ways, as PORTAL.md section 1 allows: a person signs in in a visible Chromium (MFA
and robot checks are theirs to pass; we only wait for the lobby); the tool fills the
two-step form itself (``email``/``password``, TOTP when ``/ap/mfa`` asks); or the person's
own running Chrome is attached over CDP and its portal cookies are taken. The password
only ever lives in memory, as an argument to ``fill``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import struct
import sys
import time
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

from scrapers.browser.launch import launch_options
from scrapers.browser.session import only_portal, portal_origin

LOBBY_PATH = "/cu/case-lobby"
SIGNIN_PATH = "/ap/signin?openid.return_to=" + LOBBY_PATH
ROBOT_TEXT = "Enter the characters you see below"


class LoginError(RuntimeError):
    """Sign-in did not complete; the message says what to do."""


def totp_code(secret: str, at: float | None = None) -> str:
    """The RFC 6238 code (SHA-1, 6 digits, 30 s) for a base32 secret.

    Written out instead of ``pyotp.TOTP`` because pyotp refuses secrets under 112 bits,
    which authenticator exports and portals do use; spaces and lower case are accepted
    because that is how secrets are shown to people for copying."""
    clean = "".join(secret.split()).upper().rstrip("=")
    try:
        key = base64.b32decode(clean + "=" * (-len(clean) % 8))
    except (binascii.Error, ValueError):
        raise LoginError("CASELOG_TOTP_SECRET is not a base32 secret (letters A-Z and "
                         "digits 2-7, as the authenticator set-up shows it)") from None
    if not key:
        raise LoginError("CASELOG_TOTP_SECRET is empty")
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class BadCredentials(LoginError):
    """The portal showed its error box (wrong email, password or code)."""


class MfaSecretMissing(LoginError):
    """The portal asked for a one-time code and no TOTP secret was given."""


class RobotCheckDuringLogin(LoginError):
    """A captcha appeared while signing in without a person."""


def _at_lobby(url: str) -> bool:
    """The lobby itself, not the sign-in page whose return_to names it."""
    return urlsplit(url).path.startswith(LOBBY_PATH)


def _origin(portal_url: str) -> str:
    scheme, host, port = portal_origin(portal_url)
    return f"{scheme}://{host}:{port}"


async def login_interactive(portal_url: str, *, timeout: float = 900.0,
                            headless: bool = False, person=None) -> dict:
    """Open the sign-in page and wait (up to ``timeout`` s) until the person reaches the
    case lobby, however long their MFA or robot check takes; returns the storage state.
    ``person``, if given, is an async function called with the page while we wait: the
    tests use it to play the person in a headless browser."""
    if not headless and sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise LoginError("no display to open a browser on; use --email (with --headless) or "
                         "--cdp URL to attach to a Chrome you already have open")
    origin = _origin(portal_url)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**launch_options(headless))
        try:
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(origin + SIGNIN_PATH)
            acting = asyncio.ensure_future(person(page)) if person else None
            try:
                await page.wait_for_url(_at_lobby, timeout=timeout * 1000)
            except PlaywrightTimeout as exc:
                raise LoginError(f"nobody finished signing in within {timeout:.0f} s") from exc
            finally:
                if acting is not None:
                    if acting.done():
                        acting.result()  # surface the person's own errors
                    else:
                        acting.cancel()
            return only_portal(await context.storage_state(), portal_url)
        finally:
            await browser.close()


async def login_with_password(portal_url: str, email: str, password: str, *,
                              totp_secret: str | None = None, headless: bool = True,
                              timeout: float = 30.0) -> dict:
    """Fill the portal's two-step form (and MFA) without a person."""
    origin = _origin(portal_url)
    ms = timeout * 1000
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**launch_options(headless))
        try:
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(origin + SIGNIN_PATH, timeout=ms)
            await _expect(page, ("email",), ms)
            await page.locator("#ap_email").fill(email)
            await page.locator("#continue").click()
            await _expect(page, ("password",), ms)
            await page.locator("#ap_password").fill(password)
            await page.locator("#signInSubmit").click()
            if await _expect(page, ("lobby", "mfa"), ms) == "mfa":
                if not totp_secret:
                    raise MfaSecretMissing(
                        "the portal asks for a one-time code (MFA); set CASELOG_TOTP_SECRET to "
                        "the authenticator's base32 secret, or run caselog login without "
                        "--email and type the code yourself")
                await page.locator("#auth-mfa-otpcode").fill(totp_code(totp_secret))
                await page.locator("#auth-signin-button").click()
                await _expect(page, ("lobby",), ms)
            return only_portal(await context.storage_state(), portal_url)
        finally:
            await browser.close()


async def _expect(page, wanted: tuple[str, ...], ms: float) -> str:
    """Wait until the page shows one of the sign-in steps (or an error box or a robot
    check, which raise). Each step is a locator, so this waits on the DOM itself, across
    navigations, with no fixed delays."""
    steps = {
        "email": page.locator("#ap_email"),
        "password": page.locator("#ap_password"),
        "mfa": page.locator("#auth-mfa-otpcode"),
        "lobby": page.locator('kat-dropdown[data-testid="date-window"]'),
        "error": page.locator("#auth-error-message-box"),
        "robot": page.get_by_text(ROBOT_TEXT),
    }
    watched = [*wanted, "error", "robot"]
    any_of = steps[watched[0]]
    for name in watched[1:]:
        any_of = any_of.or_(steps[name])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ms / 1000
    while True:
        remaining = (deadline - loop.time()) * 1000
        try:
            if remaining <= 0:
                raise PlaywrightTimeout("deadline")
            await any_of.first.wait_for(state="visible", timeout=remaining)
        except PlaywrightTimeout as exc:
            raise LoginError(f"the sign-in page did not show {' or '.join(wanted)} within "
                             f"{ms / 1000:.0f} s (at {page.url})") from exc
        for name in ("robot", "error", *wanted):
            try:
                visible = await steps[name].first.is_visible()
            except PlaywrightError:
                continue  # the page navigated between wait and check; look again
            if not visible:
                continue
            if name == "robot":
                raise RobotCheckDuringLogin(
                    "the portal shows a robot check; run caselog login without "
                    "--email/--headless so a person can pass it")
            if name == "error":
                text = (await steps["error"].first.inner_text()).strip()
                raise BadCredentials(f"the portal refused the sign-in: {text}")
            if name != "lobby" or _at_lobby(page.url):
                return name
        await page.wait_for_load_state()


async def login_cdp(portal_url: str, cdp_url: str) -> dict:
    """Take the portal's cookies from a Chrome the person already signed in with
    (started with --remote-debugging-port). Their browser is left running."""
    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(cdp_url)
        if not browser.contexts:
            raise LoginError(f"the Chrome at {cdp_url} has no open browser window")
        state = only_portal(await browser.contexts[0].storage_state(), portal_url)
    if not state["cookies"]:
        raise LoginError(f"the Chrome at {cdp_url} holds no cookies for {_origin(portal_url)};"
                         " sign in to the portal in that browser first")
    return state


def run(coro):
    """Run a login coroutine from synchronous code (the CLI)."""
    return asyncio.run(coro)
