"""``caselog login``: sign in once, keep the session (never the password) under
CASELOG_HOME/sessions, owner-only. A thin edge over ``scrapers.browser.login``; Playwright
is imported only when a sign-in actually runs."""

from __future__ import annotations

import asyncio
import os

import click

from companion import credentials, errors
from companion.cli.options import ExitError, check_portal, spapi_options
from companion.debuglog import debug_log
from companion.exitcodes import exit_code
from companion.folders import save_session
from companion.redact import redact, remember_secret
from scrapers.browser.launch import BrowserNotFound
from scrapers.spapi import LWA_TOKEN_URL, LwaCredentials, SpapiClient


def _sign_in(portal_url, email, headless, cdp_url, timeout) -> dict:
    # Playwright, loaded for a browser sign-in only: the Support API's needs none.
    from scrapers.browser import login as signin

    if cdp_url:
        return signin.run(signin.login_cdp(portal_url, cdp_url))
    if email:
        password = os.environ.get("CASELOG_PASSWORD")
        if not password:
            password = click.prompt(f"Password for {email}", hide_input=True, err=True)
        secret = os.environ.get("CASELOG_TOTP_SECRET") or None
        remember_secret(password)
        remember_secret(secret)
        return signin.run(signin.login_with_password(
            portal_url, email, password, headless=headless, totp_secret=secret))
    return signin.run(signin.login_interactive(portal_url, timeout=timeout))


def _prompted(env: str, label: str, hide: bool) -> str:
    value = (os.environ.get(env) or click.prompt(label, hide_input=hide, err=True)).strip()
    if hide:
        remember_secret(value)
    return value


def _spapi_login(endpoint: str, lwa_endpoint: str | None) -> str:
    """Prove the credentials with one token grant and one listCases call, then store
    them; returns where they went. Nothing secret is printed, on success or failure."""
    creds = LwaCredentials(
        _prompted("CASELOG_LWA_CLIENT_ID", "LWA client id", False),
        _prompted("CASELOG_LWA_CLIENT_SECRET", "LWA client secret", True),
        _prompted("CASELOG_LWA_REFRESH_TOKEN", "LWA refresh token", True))
    token_url = lwa_endpoint or LWA_TOKEN_URL

    async def prove():
        async with SpapiClient(creds, endpoint=endpoint, token_endpoint=token_url) as client:
            await client.list_cases(max_results=1)

    hint = f"caselog login --spapi {endpoint}"
    try:
        asyncio.run(prove())
    except Exception as exc:
        problem = errors.explain(exc, portal=endpoint, doing="sync", login=hint)
        raise ExitError(problem.message, exit_code(problem.state)) from None
    return credentials.save(credentials.Saved(endpoint, token_url, creds.client_id,
                                              creds.client_secret, creds.refresh_token))


def _failure(exc: Exception, portal_url: str) -> ExitError | click.ClickException:
    """The seller's words for a sign-in that did not complete."""
    # Playwright's own (already loaded when a browser sign-in failed; never otherwise).
    from playwright.async_api import Error as PlaywrightError

    from scrapers.browser import login as signin

    if isinstance(exc, signin.RobotCheckDuringLogin):
        return ExitError(redact(str(exc)), 4)
    if isinstance(exc, signin.LoginError):
        return ExitError(redact(str(exc)), 3)
    if isinstance(exc, BrowserNotFound):
        return click.ClickException(str(exc))
    if isinstance(exc, PlaywrightError):  # nothing answered, or the browser died
        log = debug_log(exc, f"login at {portal_url}")
        return click.ClickException(
            f"could not sign in at {portal_url}: the portal did not answer or the browser "
            f"stopped. Check the address and your connection. (Details: {log}.)")
    return click.ClickException(errors.describe(exc, portal=portal_url))


@click.command()
@click.option("--portal", "portal_url", metavar="URL", callback=check_portal,
              help="Seller Central's address (or the simulated portal's).")
@spapi_options
@click.option("--email", help="Sign in without a person, with this email. The password comes "
              "from CASELOG_PASSWORD or a prompt; the MFA secret from CASELOG_TOTP_SECRET.")
@click.option("--headless", is_flag=True, help="Do not show the browser (with --email).")
@click.option("--cdp", "cdp_url", metavar="URL",
              help="Take the session from a Chrome you already have open, started with "
              "--remote-debugging-port (e.g. http://127.0.0.1:9222).")
@click.option("--timeout", default=900.0, show_default=True, metavar="SECONDS",
              help="How long to wait for a person to finish signing in.")
@click.option("--db", "db", metavar="PATH",
              help="Accepted like on every command; login uses no database.")
def login(portal_url, spapi, lwa_endpoint, email, headless, cdp_url, timeout, db):
    """Sign in to the portal and save the session for later syncs.

    Without --email a visible Chromium opens at the portal's sign-in page; sign in there
    (one-time codes and robot checks included) and the window closes by itself once the
    Case Log appears. The session is saved to CASELOG_HOME/sessions/<host>_<port>.json,
    readable by you only. No password is ever written to disk.

    With --spapi, caselog uses Amazon's Selling Partner API for Support instead: the
    self-authorised app's client id, client secret and refresh token come from
    CASELOG_LWA_CLIENT_ID, CASELOG_LWA_CLIENT_SECRET and CASELOG_LWA_REFRESH_TOKEN or
    prompts (the secret and token hidden), are proved with one token grant and one
    listCases call, and are stored for that endpoint: in the system keyring where one
    works, else in CASELOG_HOME/credentials/, readable by you only.

    \b
    Usage:
        caselog login --portal https://sellercentral.amazon.com
        caselog login --spapi eu
        CASELOG_PASSWORD=... caselog login --portal URL --email me@shop.example --headless
        CASELOG_TOTP_SECRET=BASE32 caselog login --portal URL --email me@shop.example
        caselog login --portal URL --cdp http://127.0.0.1:9222

    \b
    Exit codes:
        0  signed in, session saved
        1  no usable browser, or another failure
        2  usage error
        3  sign-in failed (wrong credentials, MFA code needed, nobody signed in in time)
        4  robot check while signing in without a person: run without --email/--headless
    """
    if bool(portal_url) == bool(spapi):
        raise click.UsageError("give --portal URL (the browser) or --spapi ENDPOINT (the "
                               "Support API)")
    if spapi:
        where = _spapi_login(spapi, lwa_endpoint)
        click.echo(f"Support API credentials proved and saved to {where}", err=True)
        return
    if cdp_url and email:
        raise click.UsageError("--cdp and --email are alternatives; give one")
    if headless and not email:
        raise click.UsageError("--headless needs --email: nobody could sign in in a hidden "
                               "browser")
    try:
        state = _sign_in(portal_url, email, headless, cdp_url, timeout)
    except click.exceptions.Abort:
        raise
    except Exception as exc:
        raise _failure(exc, portal_url) from None
    path = save_session(portal_url, state)
    click.echo(f"Signed in; session saved to {path}", err=True)
