"""Finding and launching a Chromium the way a seller's machine has one.

Order: ``CASELOG_BROWSER`` if set; an installed Google Chrome or Microsoft Edge (where
Playwright's ``chrome`` and ``msedge`` channels look for them, and each platform's other
usual places); a browser Playwright downloaded (``playwright install chromium``), wherever
Playwright keeps them on this platform; a Chrome or Chromium on PATH; else an error that
names the platform and the one thing to do there.

The search is a pure function of the platform name, the environment and the home folder
(:func:`candidates`), so each platform's layout can be tested on any machine. Playwright
resolves its channels to the same paths, but only by launching: asking it here would start
a browser just to learn where one is.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath

# Without the networking flags Chromium phones home at start-up, which is slow (and
# refused) on a closed network; as root it refuses to start without --no-sandbox.
BASE_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# Installed browsers on PATH (Linux mostly): Chrome and Edge first, plain Chromium last.
CHROME_NAMES = ("google-chrome", "google-chrome-stable", "google-chrome-beta",
                "microsoft-edge", "microsoft-edge-stable", "chrome", "msedge")
CHROMIUM_NAMES = ("chromium", "chromium-browser")

# Inside Playwright's browser folder (``chromium-<revision>/...``), per platform.
PLAYWRIGHT_LAYOUTS = {
    "linux": ("chrome-linux*/chrome",),
    "darwin": ("chrome-mac*/Google Chrome for Testing.app/Contents/MacOS/"
               "Google Chrome for Testing",
               "chrome-mac*/Chromium.app/Contents/MacOS/Chromium"),
    "win32": ("chrome-win*/chrome.exe",),
}

NOT_FOUND = {
    "win32": "No Google Chrome or Microsoft Edge found on this Windows computer. Install "
             "Google Chrome (google.com/chrome), then run the command again.",
    "darwin": "No Google Chrome or Microsoft Edge found on this Mac. Install Google Chrome "
              "(google.com/chrome) into Applications, then run the command again.",
    "linux": "No Chrome or Chromium found on this Linux computer. Install Chromium "
             "('sudo apt-get install chromium' on Debian or Ubuntu, 'sudo dnf install "
             "chromium' on Fedora), then run the command again.",
}
DISK_ROOT = PurePath("/")  # where /Applications and /opt are (tests give a fake one)
OVERRIDE_HINT = " Or set CASELOG_BROWSER to the path of a Chrome, Edge or Chromium executable."


class BrowserNotFound(RuntimeError):
    """No usable Chrome or Chromium on this machine."""


def launch_args() -> list[str]:
    args = list(BASE_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    return args


def platform_key(platform: str) -> str:
    """``win32``, ``darwin`` or ``linux`` (any other Unix looks for browsers as Linux)."""
    if platform.startswith("win") or platform == "cygwin":
        return "win32"
    return "darwin" if platform == "darwin" else "linux"


def installed(platform: str, env: Mapping[str, str], home: PurePath,
              root: PurePath) -> list[PurePath]:
    """Where Google Chrome and Microsoft Edge install themselves (Playwright's ``chrome``
    and ``msedge`` channels look in the same places), stable before beta."""
    if platform == "win32":
        bases = [env.get(k) for k in ("LOCALAPPDATA", "ProgramFiles", "ProgramFiles(x86)",
                                      "PROGRAMFILES", "PROGRAMFILES(X86)")]
        folders = [PurePath(b) for b in dict.fromkeys(b for b in bases if b)]
        return [base / vendor / "Application" / exe
                for vendor, exe in ((PurePath("Google", "Chrome"), "chrome.exe"),
                                    (PurePath("Microsoft", "Edge"), "msedge.exe"),
                                    (PurePath("Google", "Chrome Beta"), "chrome.exe"))
                for base in folders]
    if platform == "darwin":
        apps = ("Google Chrome.app/Contents/MacOS/Google Chrome",
                "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
                "Google Chrome Beta.app/Contents/MacOS/Google Chrome Beta",
                "Chromium.app/Contents/MacOS/Chromium")
        return [folder / "Applications" / app for app in apps for folder in (root, home)]
    return [root / "opt/google/chrome/chrome", root / "opt/microsoft/msedge/msedge",
            root / "opt/google/chrome-beta/chrome"]


def playwright_folder(platform: str, env: Mapping[str, str], home: PurePath) -> PurePath | None:
    """Where Playwright keeps the browsers it downloads on this platform."""
    given = env.get("PLAYWRIGHT_BROWSERS_PATH")
    if given and given != "0":
        return PurePath(given)
    if platform == "win32":
        local = env.get("LOCALAPPDATA")
        return PurePath(local) / "ms-playwright" if local else None
    if platform == "darwin":
        return home / "Library" / "Caches" / "ms-playwright"
    return PurePath(env.get("XDG_CACHE_HOME") or home / ".cache") / "ms-playwright"


def _revision(path: Path) -> int:
    m = re.search(r"-(\d+)$", path.name)
    return int(m[1]) if m else -1


def playwright_browsers(platform: str, env: Mapping[str, str], home: PurePath) -> list[Path]:
    """Playwright's own Chromium builds that exist, newest revision first."""
    folder = playwright_folder(platform, env, home)
    if folder is None or not Path(folder).is_dir():
        return []
    found = []
    for build in sorted(Path(folder).glob("chromium-*"), key=_revision, reverse=True):
        for pattern in PLAYWRIGHT_LAYOUTS[platform]:
            found += sorted(build.glob(pattern))
    return found


def _on_path(names: tuple[str, ...], env: Mapping[str, str]) -> Iterator[str]:
    for name in names:
        path = shutil.which(name, path=env.get("PATH"))
        if path:
            yield path


def candidates(platform: str, env: Mapping[str, str], home: PurePath,
               root: PurePath = DISK_ROOT) -> Iterator[str]:
    """Every browser this machine offers, in the order caselog prefers them (without
    ``CASELOG_BROWSER``, which needs no search)."""
    platform = platform_key(platform)
    for path in installed(platform, env, home, root):
        if Path(path).is_file():
            yield str(path)
    yield from _on_path(CHROME_NAMES, env)
    yield from (str(p) for p in playwright_browsers(platform, env, home))
    yield from _on_path(CHROMIUM_NAMES, env)


def find_browser(platform: str | None = None, env: Mapping[str, str] | None = None,
                 home: PurePath | None = None, root: PurePath = DISK_ROOT) -> str:
    """The executable path of the browser to drive; raises BrowserNotFound otherwise."""
    platform = platform_key(platform or sys.platform)
    env = os.environ if env is None else env
    override = env.get("CASELOG_BROWSER")
    if override:
        path = shutil.which(override, path=env.get("PATH")) or override
        if not Path(path).is_file():
            raise BrowserNotFound(f"CASELOG_BROWSER={override!r} is not an executable file")
        return path
    found = next(candidates(platform, env, home or Path.home(), root), None)
    if found:
        return found
    raise BrowserNotFound(NOT_FOUND[platform] + OVERRIDE_HINT)


def launch_options(headless: bool = True) -> dict:
    """Keyword arguments for ``playwright.chromium.launch``."""
    return {"executable_path": find_browser(), "args": launch_args(), "headless": headless}
