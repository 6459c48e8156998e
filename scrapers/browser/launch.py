"""Finding and launching a Chromium the way a user's machine has one.

Order: ``CASELOG_BROWSER`` if set; a Playwright-managed Chromium if installed; an
installed Chrome/Chromium on PATH; else a clear error that names what to install.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Without the networking flags Chromium phones home at start-up, which is slow (and
# refused) on a closed network; as root it refuses to start without --no-sandbox.
BASE_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class BrowserNotFound(RuntimeError):
    """No usable Chrome or Chromium on this machine."""


def launch_args() -> list[str]:
    args = list(BASE_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    return args


def _playwright_managed() -> str | None:
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright")
    if not root.is_dir():
        return None
    for pattern in (
        "chromium-*/chrome-linux*/chrome",
        "chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium",
        "chromium-*/chrome-win*/chrome.exe",
    ):
        found = sorted(root.glob(pattern))
        if found:
            return str(found[-1])
    return None


def find_browser() -> str:
    """The executable path of the browser to drive; raises BrowserNotFound otherwise."""
    override = os.environ.get("CASELOG_BROWSER")
    if override:
        path = shutil.which(override) or override
        if not Path(path).is_file():
            raise BrowserNotFound(f"CASELOG_BROWSER={override!r} is not an executable file")
        return path
    managed = _playwright_managed()
    if managed:
        return managed
    for name in SYSTEM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserNotFound(
        "No Chrome or Chromium found. Install one (Debian/Ubuntu: 'apt-get install chromium'; "
        "or 'playwright install chromium' where downloads work), or set CASELOG_BROWSER to "
        "a Chrome/Chromium executable."
    )


def launch_options(headless: bool = True) -> dict:
    """Keyword arguments for ``playwright.chromium.launch``."""
    return {"executable_path": find_browser(), "args": launch_args(), "headless": headless}
