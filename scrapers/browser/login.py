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
import random
import struct
import sys
import time
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

from scrapers import markers
from scrapers.browser.launch import launch_options
from scrapers.browser.session import only_portal, portal_origin

LOBBY_PATH = "/cu/case-lobby"
SIGNIN_PATH = markers.SIGNIN_PATH + "?openid.return_to=" + LOBBY_PATH


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


class TransientSignin(LoginError):
    """The portal answered a sign-in step with a throttle (429) or a server error (5xx):
    worth another try after a pause, like any sync request."""

    def __init__(self, status: int, url: str, retry_after: float | None = None):
        super().__init__(f"HTTP {status} at {urlsplit(url).path}")
        self.status, self.retry_after = status, retry_after


SIGNIN_ATTEMPTS = 8


async def login_with_password(portal_url: str, email: str, password: str, *,
                              totp_secret: str | None = None, headless: bool = True,
                              timeout: float = 30.0, attempts: int = SIGNIN_ATTEMPTS,
                              backoff_base: float = 0.25, backoff_cap: float = 4.0) -> dict:
    """Fill the portal's two-step form (and MFA) without a person. A step the portal
    answers with 429 or 5xx starts the sign-in over after a pause (honouring Retry-After),
    up to ``attempts`` times; the error then says what the portal kept answering."""
    origin = _origin(portal_url)
    seen: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**launch_options(headless))
        try:
            for attempt in range(1, attempts + 1):
                context = await browser.new_context()
                try:
                    await _signin_once(context, origin, email, password, totp_secret,
                                       timeout * 1000)
                    return only_portal(await context.storage_state(), portal_url)
                except TransientSignin as exc:
                    seen.append(str(exc))
                    if attempt == attempts:
                        break
                    pause = exc.retry_after if exc.retry_after is not None else \
                        min(backoff_cap, backoff_base * 2 ** (attempt - 1)) * \
                        random.uniform(0.5, 1)
                    await asyncio.sleep(min(pause, 60.0))  # backing off, as told
                finally:
                    await context.close()
        finally:
            await browser.close()
    kinds = sorted(set(seen))
    raise LoginError(f"the portal kept answering sign-in with errors ({', '.join(kinds)}) "
                     f"after {attempts} tries; it may be busy or throttling: try again in "
                     "a few minutes")


async def _signin_once(context, origin: str, email: str, password: str,
                       totp_secret: str | None, ms: float) -> None:
    page = await context.new_page()
    _check(await page.goto(origin + SIGNIN_PATH, timeout=ms), page)
    await _expect(page, ("email",), ms)
    await page.locator("#ap_email").fill(email)
    await _submit(page, "#continue", ms)
    await _expect(page, ("password",), ms)
    await page.locator("#ap_password").fill(password)
    await _submit(page, "#signInSubmit", ms)
    if _at_lobby(page.url):
        return  # signed in: the session cookie is set, whatever the lobby answered
    if await _expect(page, ("lobby", "mfa"), ms) == "mfa":
        if not totp_secret:
            raise MfaSecretMissing(
                "the portal asks for a one-time code (MFA); set CASELOG_TOTP_SECRET to "
                "the authenticator's base32 secret, or run caselog login without "
                "--email and type the code yourself")
        await page.locator("#auth-mfa-otpcode").fill(totp_code(totp_secret))
        await _submit(page, "#auth-signin-button", ms)
        if not _at_lobby(page.url):
            await _expect(page, ("lobby",), ms)


async def _submit(page, button: str, ms: float) -> None:
    """Click a form's button and judge the page it leads to (after redirects), if it
    leads to one: a portal may also show the next step without a navigation."""
    answers = []

    def navigation(response) -> None:
        if response.request.is_navigation_request() and response.frame == page.main_frame:
            answers.append(response)

    page.on("response", navigation)
    try:
        await page.locator(button).click(timeout=ms)  # waits for a navigation it starts
        await page.wait_for_load_state("domcontentloaded", timeout=ms)
    finally:
        page.remove_listener("response", navigation)
    if answers:
        _check(answers[-1], page)


def _check(response, page) -> None:
    """A throttled or failing step (and not a page that merely shows the lobby)."""
    if response is None or _at_lobby(page.url):
        return
    status = response.status
    if status == 429 or status >= 500:
        told = response.headers.get("retry-after")
        try:
            after = float(told) if told is not None else None
        except ValueError:
            after = None
        raise TransientSignin(status, page.url, after)


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
        "robot": page.get_by_text(markers.ROBOT_TEXT),
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
