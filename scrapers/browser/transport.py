"""How one request reaches the portal from the signed-in browser: through Playwright's API
client (``context.request``, sharing the context's cookies; fastest) or through
``window.fetch`` from a page of the portal (what the portal's own scripts do, so a portal
that answers only its own pages' calls answers these too), and attachments as a stream
that stops at the size cap.

Each way returns an :class:`Answer`: status, final URL, headers, body bytes. Nothing here
retries or judges an answer; ``scrapers.browser.client`` does.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass

from playwright.async_api import Error as PlaywrightError

from scrapers.errors import AttachmentTooLarge

MARK = "x-caselog-call"  # marks our own fetches from the inert lobby page; never sent

_FETCH_JS = """async ([url, method, body, headers]) => {
  const r = await fetch(url, {method, body, headers: {...headers, 'x-caselog-call': '1'},
                               credentials: 'include'});
  const buf = new Uint8Array(await r.arrayBuffer());
  let s = '';
  for (let i = 0; i < buf.length; i += 0x8000)
    s += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
  return {status: r.status, url: r.url, headers: Object.fromEntries(r.headers.entries()),
          body64: btoa(s)};
}"""

# Streams the file and stops at the cap, so a 2 GB attachment costs at most cap bytes.
_STREAM_JS = """async ([url, cap]) => {
  const r = await fetch(url, {credentials: 'include', redirect: 'manual',
                               headers: {'x-caselog-call': '1'}});
  const headers = Object.fromEntries(r.headers.entries());
  if (r.type === 'opaqueredirect')
    return {status: 302, url: r.url, headers, body64: '', location: true};
  const declared = parseInt(headers['content-length'] || '-1', 10);
  if (r.ok && declared > cap) {
    if (r.body) await r.body.cancel();
    return {status: r.status, url: r.url, headers, tooLarge: declared};
  }
  const chunks = []; let total = 0;
  if (r.body) {
    const reader = r.body.getReader();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      total += value.length;
      if (r.ok && total > cap) { await reader.cancel(); return {status: r.status, url: r.url,
                                 headers, tooLarge: total}; }
      chunks.push(value);
    }
  }
  let s = '';
  for (const c of chunks)
    for (let i = 0; i < c.length; i += 0x8000)
      s += String.fromCharCode.apply(null, c.subarray(i, i + 0x8000));
  return {status: r.status, url: r.url, headers, body64: btoa(s)};
}"""


@dataclass
class Answer:
    status: int
    url: str
    headers: dict
    body: bytes


def _answer(r: dict) -> Answer:
    return Answer(r["status"], r["url"], r["headers"], base64.b64decode(r.get("body64") or ""))


async def via_api_client(context, method: str, url: str, json_body, timeout_ms: float,
                         disposing: set[asyncio.Task] | None = None) -> Answer:
    """``disposing``: where to keep the task that frees the answer's body in the driver,
    which then runs after the answer is returned instead of before (one round trip to
    the driver less while the request holds its slot); the caller awaits them all
    before it closes the browser."""
    data, headers = _body_and_headers(json_body)
    resp = await context.request.fetch(url, method=method, data=data, headers=headers,
                                       fail_on_status_code=False, timeout=timeout_ms)
    try:
        return Answer(resp.status, resp.url, resp.headers, await resp.body())
    finally:
        if disposing is None:
            await resp.dispose()
        else:
            task = asyncio.ensure_future(_dispose(resp))
            disposing.add(task)
            task.add_done_callback(disposing.discard)


async def _dispose(resp) -> None:
    try:
        await resp.dispose()
    except PlaywrightError:
        pass  # the browser is gone, and the body with it


async def via_page(page, method: str, url: str, json_body) -> Answer:
    data, headers = _body_and_headers(json_body)
    return _answer(await page.evaluate(_FETCH_JS, [url, method, data, headers]))


async def stream_from_page(page, url: str, cap: int, signin_url: str) -> Answer:
    r = await page.evaluate(_STREAM_JS, [url, cap])
    if r.get("tooLarge") is not None:
        raise AttachmentTooLarge(
            f"attachment is over the {cap}-byte cap (at least {r['tooLarge']} bytes); "
            "raise the cap to download it", url=url, status=r["status"])
    if r.get("location"):  # a page route redirects to sign-in without a session
        return Answer(401, signin_url, r["headers"], b"")
    return _answer(r)


def _body_and_headers(json_body) -> tuple[str | None, dict]:
    data = None if json_body is None else json.dumps(json_body)
    headers = {"Content-Type": "application/json"} if data is not None else {}
    headers["Accept"] = "application/json"
    return data, headers
