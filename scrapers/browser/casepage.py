"""Driving a rendered case page (PORTAL.md section 3) until it holds the whole thread.

The page is a shell that loads ViewCase itself, shows one contact element per message (a
``kat-box``, or in the other real layout a ``kat-expander class="contact-expander"``,
the one stable class of the page), a "Show older messages" kat-button while older pages
remain and a "See more" kat-button on each truncated message, in either layout. Their
clickable ``<button>`` lives in an open shadow root, which Playwright's CSS pierces.
Nothing here selects by class (the portal's classes are hashed per restart). A call of
the page's own that fails (429, 5xx) shows an alert (``role="alert"``); that is reported
as ``PageFault`` so the caller can back off and try again, instead of waiting for a box
that will never come.
"""

from __future__ import annotations

import asyncio

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from scrapers.markers import BROWSER_AWAY

SEE_MORE = ("See more", "Mehr anzeigen")
SHOW_OLDER = ("Show older messages", "Ältere Nachrichten anzeigen")


def kat_buttons(labels, extra: str = "") -> str:
    return ", ".join(f'kat-button[label="{label}"]{extra}' for label in labels)


MORE, OLDER = kat_buttons(SEE_MORE), kat_buttons(SHOW_OLDER)
BUSY = kat_buttons(SEE_MORE + SHOW_OLDER, "[disabled]")
# The contacts of either layout, as scrapers.parse.contacts.is_contact counts them: an
# expander that lost its stable class still counts when it holds a sender label and no
# contact of its own, so such a portal is read instead of waited on until timeouts.
CONTACTS = "kat-box, kat-expander"
_COUNT = """(() => Array.from(document.querySelectorAll('CONTACTS')).filter((el) =>
    el.localName === 'kat-box' || el.classList.contains('contact-expander')
    || (el.querySelector('[data-testid="sender-label"]')
        && !el.querySelector('CONTACTS'))).length)()""".replace("CONTACTS", CONTACTS)


class PageFault(RuntimeError):
    """The page showed an error instead of (part of) the thread."""


# Each returns false while the page is still working, else a word for what it shows.
_RENDERED = """() => {
  if (!document.body) return false;
  if (AWAY) return 'away';
  if (document.querySelector('[data-testid="case-summary"]') && COUNT > 0) return 'ready';
  if (document.querySelector('[role="alert"]')) return 'alert';
  return false;
}""".replace("AWAY", BROWSER_AWAY).replace("COUNT", _COUNT)

_OLDER_DONE = """([n, older, busy]) => {
  if (document.querySelector(busy)) return false;
  if (COUNT > n || !document.querySelector(older)) return 'ready';
  return document.querySelector('[role="alert"]') ? 'alert' : false;
}""".replace("COUNT", _COUNT)

_MORE_DONE = """([more, busy]) => {
  if (document.querySelector(busy)) return false;
  return document.querySelector(more) ? 'alert' : 'ready';
}"""


async def _wait(page, script: str, arg, timeout_ms: float) -> str:
    try:
        handle = await page.wait_for_function(script, arg=arg, timeout=timeout_ms)
    except PlaywrightTimeout:
        raise
    except PlaywrightError:
        return "away"  # the page navigated (sign-in, robot check): the caller looks
    return await handle.json_value()


async def render_thread(page, *, timeout_ms: float, retries: int, backoff) -> str:
    """Wait for the first page of messages, then load every older page and expand every
    truncated message. Returns "ready", or "away" when the page left for sign-in or a
    robot check (the caller finds out which). ``backoff(n)`` gives the seconds to wait
    before the n-th retry of a failed click; more than ``retries`` failures raise."""
    outcome = await _wait(page, _RENDERED, None, timeout_ms)
    if outcome == "alert":
        raise PageFault("the case page showed an error instead of the thread")
    if outcome != "ready":
        return outcome
    failures = 0
    while True:
        older = page.locator(OLDER)
        if await older.count():
            before = await page.evaluate(_COUNT)
            await older.first.locator("button").click()
            outcome = await _wait(page, _OLDER_DONE, [before, OLDER, BUSY], timeout_ms)
        else:
            handles = await page.locator(MORE).element_handles()
            if not handles:
                return "ready"
            for handle in handles:
                inner = await handle.query_selector("button")
                await (inner or handle).click()
            outcome = await _wait(page, _MORE_DONE, [MORE, BUSY], timeout_ms)
        if outcome == "away":
            return outcome
        if outcome == "alert":
            failures += 1
            if failures > retries:
                raise PageFault("the case page kept failing to load part of the thread")
            # Backing off before clicking again, as for any throttled call.
            await asyncio.sleep(backoff(failures))


# The lobby is rendered once its summary line ("Cases 1 to 50 of 556", "Fälle ...") shows;
# the rows are drawn in the same step. Same words for "away" and "alert" as above.
_LOBBY_RENDERED = """() => {
  if (!document.body) return false;
  if (AWAY) return 'away';
  if (/(Cases|Fälle)\\s+[\\d.,\\u00a0]+\\s+(to|bis)\\s+[\\d.,\\u00a0]+\\s+(of|von)\\s+\\d/
      .test(document.body.innerText)) return 'ready';
  if (document.querySelector('[role="alert"]')) return 'alert';
  return false;
}""".replace("AWAY", BROWSER_AWAY)


async def render_lobby(page, *, timeout_ms: float) -> str:
    """Wait until the lobby shows its page of cases: "ready", "away" (sign-in or robot
    check; the caller finds out which) or ``PageFault`` when it showed an error."""
    outcome = await _wait(page, _LOBBY_RENDERED, None, timeout_ms)
    if outcome == "alert":
        raise PageFault("the case lobby showed an error instead of the case list")
    return outcome
