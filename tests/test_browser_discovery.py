"""Browser discovery on each platform's folder layout: fake trees under tmp_path stand for
the disk, the platform name and the environment are given, so Windows' and macOS's
layouts are proven here on Linux."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scrapers.browser.launch import BrowserNotFound, find_browser


def make(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    path.chmod(0o755)
    return path


@pytest.fixture
def machine(tmp_path):
    """An empty disk: a root, a home and an empty PATH, nothing installed."""
    root, home, bin_ = tmp_path / "root", tmp_path / "home", tmp_path / "bin"
    for p in (root, home, bin_):
        p.mkdir()
    return root, home, bin_


def windows_env(root: Path, **more) -> dict:
    return {"LOCALAPPDATA": str(root / "Users/me/AppData/Local"),
            "ProgramFiles": str(root / "Program Files"),
            "ProgramFiles(x86)": str(root / "Program Files (x86)"), **more}


def find(platform, env, home, root):
    return Path(find_browser(platform, env, home, root))


# --- Windows -------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["Program Files", "Program Files (x86)",
                                   "Users/me/AppData/Local"])
def test_windows_finds_chrome_where_its_installer_puts_it(machine, where):
    root, home, bin_ = machine
    chrome = make(root / where / "Google/Chrome/Application/chrome.exe")
    env = windows_env(root, PATH=str(bin_))
    assert find("win32", env, home, root) == chrome


def test_windows_finds_edge_when_there_is_no_chrome_and_prefers_chrome(machine):
    root, home, bin_ = machine
    edge = make(root / "Program Files (x86)/Microsoft/Edge/Application/msedge.exe")
    env = windows_env(root, PATH=str(bin_))
    assert find("win32", env, home, root) == edge
    chrome = make(root / "Program Files/Google/Chrome/Application/chrome.exe")
    assert find("win32", env, home, root) == chrome


def test_windows_finds_playwrights_browsers_in_local_app_data(machine):
    root, home, bin_ = machine
    env = windows_env(root, PATH=str(bin_))
    local = Path(env["LOCALAPPDATA"]) / "ms-playwright"
    make(local / "chromium-1140/chrome-win/chrome.exe")
    newest = make(local / "chromium-1169/chrome-win64/chrome.exe")
    assert find("win32", env, home, root) == newest


def test_windows_not_found_names_windows_and_chrome(machine):
    root, home, bin_ = machine
    with pytest.raises(BrowserNotFound) as exc:
        find_browser("win32", windows_env(root, PATH=str(bin_)), home, root)
    message = str(exc.value)
    assert "Windows" in message and "Install Google Chrome" in message
    assert "apt-get" not in message and "CASELOG_BROWSER" in message


# --- macOS ---------------------------------------------------------------------------

def test_macos_finds_chrome_then_edge_in_applications(machine):
    root, home, bin_ = machine
    env = {"PATH": str(bin_)}
    edge = make(home / "Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge")
    assert find("darwin", env, home, root) == edge
    chrome = make(root / "Applications/Google Chrome.app/Contents/MacOS/Google Chrome")
    assert find("darwin", env, home, root) == chrome


@pytest.mark.parametrize("app", [
    "Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
    "Chromium.app/Contents/MacOS/Chromium",
])
def test_macos_finds_playwrights_browsers_in_library_caches(machine, app):
    root, home, bin_ = machine
    found = make(home / "Library/Caches/ms-playwright/chromium-1169/chrome-mac-arm64" / app)
    assert find("darwin", {"PATH": str(bin_)}, home, root) == found


def test_macos_not_found_names_the_mac_and_applications(machine):
    root, home, bin_ = machine
    with pytest.raises(BrowserNotFound, match="on this Mac. Install Google Chrome"):
        find_browser("darwin", {"PATH": str(bin_)}, home, root)


# --- Linux ---------------------------------------------------------------------------

def test_linux_finds_chrome_and_edge_in_opt(machine):
    root, home, bin_ = machine
    env = {"PATH": str(bin_)}
    edge = make(root / "opt/microsoft/msedge/msedge")
    assert find("linux", env, home, root) == edge
    chrome = make(root / "opt/google/chrome/chrome")
    assert find("linux", env, home, root) == chrome


def test_linux_prefers_chrome_on_path_then_playwright_then_chromium(machine):
    root, home, bin_ = machine
    env = {"PATH": str(bin_)}
    chromium = make(bin_ / "chromium")
    assert find("linux", env, home, root) == chromium
    managed = make(home / ".cache/ms-playwright/chromium-1169/chrome-linux/chrome")
    assert find("linux", env, home, root) == managed
    chrome = make(bin_ / "google-chrome-stable")
    assert find("linux", env, home, root) == chrome


def test_playwright_browsers_path_and_xdg_cache_are_honoured(machine, tmp_path):
    root, home, bin_ = machine
    cache = make(tmp_path / "xdg/ms-playwright/chromium-1/chrome-linux/chrome")
    env = {"PATH": str(bin_), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert find("linux", env, home, root) == cache
    given = make(tmp_path / "pw/chromium-2/chrome-win/chrome.exe")
    env = windows_env(root, PATH=str(bin_), PLAYWRIGHT_BROWSERS_PATH=str(tmp_path / "pw"))
    assert find("win32", env, home, root) == given


def test_linux_not_found_says_how_to_install_chromium(machine):
    root, home, bin_ = machine
    with pytest.raises(BrowserNotFound, match="Linux.*apt-get install chromium"):
        find_browser("linux", {"PATH": str(bin_)}, home, root)


def test_caselog_browser_wins_and_a_wrong_one_is_named(machine):
    root, home, bin_ = machine
    make(root / "opt/google/chrome/chrome")
    mine = make(home / "my-chrome")
    env = {"PATH": str(bin_), "CASELOG_BROWSER": str(mine)}
    assert find("linux", env, home, root) == mine
    with pytest.raises(BrowserNotFound, match="CASELOG_BROWSER='/nowhere/chrome'"):
        find_browser("linux", {**env, "CASELOG_BROWSER": "/nowhere/chrome"}, home, root)


def test_this_machine_finds_a_browser_that_exists():
    path = find_browser()
    assert os.path.isfile(path) and os.access(path, os.X_OK)
