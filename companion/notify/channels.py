"""Where notifications go: the desktop (``desktop-notifier``) where this machine has a
desktop session, and each URL the person configured, through ``apprise`` (ntfy, e-mail,
Slack, Telegram, a JSON webhook, ...). A channel that is not there or fails is reported
as such, never raised: a notification is never worth stopping a watch for.

Channel names shown to a person are apprise's privacy form of the URL (passwords and
tokens starred); anything a library says goes through ``companion.redact``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from companion.debuglog import debug_log
from companion.redact import redact, remember_secret

DESKTOP_SECONDS = 10.0
USER_BUS = "/run/user/{uid}/bus"   # where a desktop session's bus listens (systemd)


@dataclass(frozen=True)
class Delivery:
    channel: str         # "desktop" or apprise's privacy form of the URL
    ok: bool
    detail: str          # what happened, in words

    def as_dict(self) -> dict:
        return {"channel": self.channel, "ok": self.ok, "detail": self.detail}


# -- the desktop ----------------------------------------------------------------------------

def desktop_session() -> str | None:
    """Why there is no desktop to notify, or None when there is one. On Linux that is a
    session bus (a cron job or a systemd timer has none in its environment, but the
    user's bus socket may be there: it is then used)."""
    if sys.platform in ("darwin", "win32"):
        return None
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return None
    socket = Path(USER_BUS.format(uid=os.getuid()))
    if socket.exists() and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                            or os.environ.get("XDG_RUNTIME_DIR")):
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={socket}"
        return None
    return "no desktop session on this machine (no session bus)"


async def send_desktop(title: str, body: str) -> Delivery:
    why_not = desktop_session()
    if why_not:
        return Delivery("desktop", False, f"skipped: {why_not}")
    try:  # with its D-Bus client: loaded only when the desktop is told something
        from desktop_notifier import DesktopNotifier
    except ImportError:
        return Delivery("desktop", False, "skipped: desktop-notifier is not installed")
    shown = asyncio.Event()
    quiet = logging.getLogger("desktop_notifier")
    quiet.propagate, quiet.level = False, logging.CRITICAL  # it logs failures itself
    try:
        notifier = DesktopNotifier(app_name="caselog")
        await asyncio.wait_for(notifier.send(title=title, message=body,
                                             on_dispatched=shown.set), DESKTOP_SECONDS)
    except Exception as exc:  # a bus that hangs or refuses
        debug_log(exc, "desktop notification")
        return Delivery("desktop", False, f"failed: {type(exc).__name__}")
    if not shown.is_set():
        return Delivery("desktop", False, "failed: the desktop's notification service "
                        "did not take it")
    return Delivery("desktop", True, "shown")


# -- apprise --------------------------------------------------------------------------------

def _label(plugin, url: str) -> str:
    """The URL as apprise shows it with secrets starred, without its query; every part of
    the real URL that this form hides is registered as a secret."""
    private = plugin.url(privacy=True).split("?", 1)[0]
    remember_secret(url)
    shown = set(re.split(r"[/:@?&=#]+", private))
    for part in re.split(r"[/:@?&=#]+", url):
        if part and part not in shown:
            remember_secret(part)
    return private


def _send_one(url: str, title: str, body: str) -> Delivery:
    import apprise  # its plugins load on import: only when a channel is set up

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        return Delivery(f"{scheme}://...", False, "not a notification URL apprise knows")
    label = _label(plugin, url)
    with apprise.LogCapture(level=logging.WARNING) as said:
        try:
            ok = plugin.notify(body=body, title=title)
        except Exception as exc:
            debug_log(exc, f"notification to {label}")
            return Delivery(label, False, f"failed: {type(exc).__name__}")
    if ok:
        return Delivery(label, True, "sent")
    why = " ".join(said.getvalue().split())[:300] or "the service refused it"
    return Delivery(label, False, redact(f"failed: {why}"))


async def send_apprise(urls: tuple[str, ...], title: str, body: str) -> list[Delivery]:
    """Each URL on its own (so each says how it went), one after another (apprise's log
    capture is process-wide), off the event loop: apprise's plugins block."""
    if not urls:
        return []
    logging.getLogger("apprise").propagate = False
    return await asyncio.to_thread(lambda: [_send_one(u, title, body) for u in urls])


async def send(settings, title: str, body: str) -> list[Delivery]:
    """Every channel the settings turn on; one Delivery each."""
    title, body = redact(title), redact(body)
    out = await send_apprise(settings.urls, title, body)
    if settings.desktop:
        out.insert(0, await send_desktop(title, body))
    return out
