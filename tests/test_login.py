"""`caselog login` against the simulated portal in a subprocess: the two-step form, MFA,
wrong credentials, robot checks, attaching over CDP, and what lands on disk (a 0600
session file, never the password)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pyotp
import pytest

from fixtures.harness import ROOT, free_port, run_async, run_caselog, start_portal, wait_http
from scrapers.browser.client import PortalClient
from scrapers.browser.launch import find_browser, launch_args
from scrapers.browser.login import LoginError, login_interactive, totp_code
from scrapers.browser.session import load_state, save_state, session_path

MFA_SECRET = pyotp.random_base32()


@pytest.fixture(scope="module")
def portal():
    p = start_portal("--cases", "3", "--seed", "11")
    yield p
    p.stop()


@pytest.fixture(scope="module")
def mfa_portal():
    p = start_portal("--cases", "3", "--seed", "12", "--mfa-secret", MFA_SECRET)
    yield p
    p.stop()


def login(portal, home: Path, *extra: str, password: str | None = None, env=None):
    config = portal.sim("config")
    full_env = {"CASELOG_HOME": str(home), "CASELOG_PASSWORD": password or config["password"],
                "CASELOG_TOTP_SECRET": "", **(env or {})}
    return run_caselog("login", "--portal", portal.url, "--email", config["email"],
                       "--headless", *extra, env=full_env, timeout=120)


def api_status(portal, state: dict) -> int:
    """Status of one SearchForCases call made with the saved cookies, outside any browser:
    proves the saved state is a working session."""
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in state["cookies"])
    body = json.dumps({"page": 0, "searchPageSize": 10, "sortBy": "CreationDate",
                       "sortByOrder": "DESC", "getCountOnly": False,
                       "caseFilters": {"caseOwner": "MerchantCases", "searchText": "",
                                       "creationDateFrom": None}}).encode()
    req = urllib.request.Request(portal.url + "/hill/hillservice/mons-api/SearchForCases",
                                 data=body, headers={"Content-Type": "application/json",
                                                     "Cookie": cookie})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def files_holding(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_login_with_password_saves_owner_only_session_without_password(portal, tmp_path):
    home = tmp_path / "home"
    result = login(portal, home)
    assert result.returncode == 0, result.stderr
    path = home / "sessions" / f"127.0.0.1_{portal.url.rsplit(':', 1)[1]}.json"
    assert path.is_file(), result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "sessions").stat().st_mode) == 0o700
    state = json.loads(path.read_text())
    assert api_status(portal, state) == 200
    password = portal.sim("config")["password"].encode()
    assert files_holding(home, password) == []
    assert str(path) in result.stderr


def test_wrong_password_exits_3_and_saves_nothing(portal, tmp_path):
    home = tmp_path / "home"
    result = login(portal, home, password="not-the-password")
    assert result.returncode == 3, result.stderr
    assert "refused the sign-in" in result.stderr and "password is incorrect" in result.stderr
    assert not list(home.rglob("*.json"))
    assert files_holding(home, b"not-the-password") == []


def test_mfa_login_with_totp_secret(mfa_portal, tmp_path):
    home = tmp_path / "home"
    before = mfa_portal.sim("stats")["signin"]
    result = login(mfa_portal, home, env={"CASELOG_TOTP_SECRET": MFA_SECRET})
    assert result.returncode == 0, result.stderr
    state = load_state(mfa_portal.url, directory=home / "sessions")
    assert state and api_status(mfa_portal, state) == 200
    assert mfa_portal.sim("stats")["signin"] > before
    # The "remember this device" box was left alone: no device cookie was kept.
    assert all("remembered" not in c["name"] for c in state["cookies"])
    assert files_holding(home, MFA_SECRET.encode()) == []


def test_totp_code_agrees_with_rfc6238_and_accepts_short_secrets():
    secret = pyotp.random_base32()
    for at in (0, 59, 1_111_111_109, 2_000_000_000):
        assert totp_code(secret, at) == pyotp.TOTP(secret).at(at)
    # RFC 6238 appendix B (SHA-1 seed "12345678901234567890"), last six digits.
    rfc_secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp_code(rfc_secret, 59) == "287082"
    assert totp_code(rfc_secret, 1111111109) == "081804"
    # 80-bit secrets, as many authenticator guides show them (pyotp refuses these).
    assert totp_code("jbsw y3dp ehpk 3pxp", 59) == totp_code("JBSWY3DPEHPK3PXP", 59)
    with pytest.raises(LoginError, match="not a base32 secret"):
        totp_code("not-base32!")


def test_mfa_login_with_a_short_secret(portal_factory, tmp_path):
    short = portal_factory("--cases", "2", "--seed", "13",
                                         "--mfa-secret", "JBSWY3DPEHPK3PXP")
    result = login(short, tmp_path / "home", env={"CASELOG_TOTP_SECRET": "JBSWY3DPEHPK3PXP"})
    assert result.returncode == 0, result.stderr
    assert short.sim("stats")["signin"] >= 1


def test_mfa_without_secret_is_a_clear_error(mfa_portal, tmp_path):
    result = login(mfa_portal, tmp_path / "home")
    assert result.returncode == 3
    assert "CASELOG_TOTP_SECRET" in result.stderr


def test_wrong_one_time_code_exits_3(mfa_portal, tmp_path):
    result = login(mfa_portal, tmp_path / "home",
                   env={"CASELOG_TOTP_SECRET": pyotp.random_base32()})
    assert result.returncode == 3
    assert "code you entered is not valid" in result.stderr


def test_password_prompt_when_not_in_the_environment(portal, tmp_path):
    config = portal.sim("config")
    env = {k: v for k, v in os.environ.items() if k != "CASELOG_PASSWORD"}
    env["CASELOG_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [sys.executable, "-m", "companion", "login", "--portal", portal.url, "--email",
         config["email"], "--headless"], cwd=ROOT, env=env, input=config["password"] + "\n",
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"Password for {config['email']}" in result.stderr
    assert config["password"] not in result.stderr + result.stdout  # not echoed
    assert files_holding(tmp_path / "home", config["password"].encode()) == []


def test_robot_check_during_headless_login_exits_4(portal, tmp_path):
    portal.sim("robot", {"on": True})
    try:
        result = login(portal, tmp_path / "home")
    finally:
        portal.sim("robot", {"on": False})
    assert result.returncode == 4, result.stderr
    assert "without --email/--headless" in result.stderr


def test_interactive_login_waits_for_the_person_through_robot_check_and_mfa(mfa_portal):
    """Without --email caselog only waits for the lobby; here a headless page stands in
    for the visible window, and the test plays the person."""
    config = mfa_portal.sim("config")

    async def person(page):
        await page.get_by_label("Type the characters shown").wait_for()
        chars = await page.get_by_label("Type the characters shown").inner_text()
        await page.locator("#captchacharacters").fill(chars.strip())
        await page.locator("#captchacharacters").press("Enter")
        await page.locator("#ap_email").fill(config["email"])
        await page.locator("#continue").click()
        await page.locator("#ap_password").fill(config["password"])
        await page.locator("#signInSubmit").click()
        await page.locator("#auth-mfa-otpcode").fill(pyotp.TOTP(MFA_SECRET).now())
        await page.locator("#auth-signin-button").click()

    mfa_portal.sim("robot", {"on": True})
    try:
        state = run_async(login_interactive(mfa_portal.url, headless=True, timeout=60,
                                              person=person))
    finally:
        mfa_portal.sim("robot", {"on": False})
    assert api_status(mfa_portal, state) == 200


def test_usage_errors_exit_2(portal, tmp_path):
    env = {"CASELOG_HOME": str(tmp_path / "home")}
    result = run_caselog("login", "--portal", portal.url, "--headless", env=env)
    assert result.returncode == 2 and "--headless needs --email" in result.stderr
    result = run_caselog("login", env=env)
    assert result.returncode == 2
    headless_box = {**env, "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    result = run_caselog("login", "--portal", portal.url, env=headless_box)
    assert result.returncode == 3 and "no display" in result.stderr
    help_text = run_caselog("login", "--help").stdout
    assert "Exit codes" in help_text and "--cdp" in help_text


def test_cdp_takes_only_the_portal_cookies_from_a_running_chrome(portal, tmp_path, playwright):
    """A person's Chrome started with --remote-debugging-port: they sign in there, then
    `caselog login --cdp` takes the portal's cookies (and no other site's)."""
    port = free_port()
    chrome = subprocess.Popen(
        [find_browser(), *launch_args(), "--headless=new", f"--remote-debugging-port={port}",
         f"--user-data-dir={tmp_path / 'profile'}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cdp = f"http://127.0.0.1:{port}"
    try:
        wait_http(cdp + "/json/version", chrome)
        config = portal.sim("config")
        # The person, signing in in their own browser (pytest-playwright's session
        # Playwright: a second sync_playwright() cannot start once that one runs).
        browser = playwright.chromium.connect_over_cdp(cdp)
        try:
            context = browser.contexts[0]
            context.add_cookies([{"name": "elsewhere", "value": "private",
                                  "domain": "example.org", "path": "/"}])
            page = context.new_page()
            page.goto(portal.url + "/ap/signin?openid.return_to=/cu/case-lobby")
            page.locator("#ap_email").fill(config["email"])
            page.locator("#continue").click()
            page.locator("#ap_password").fill(config["password"])
            page.locator("#signInSubmit").click()
            page.wait_for_url("**/cu/case-lobby**")
        finally:
            browser.close()  # over CDP this only disconnects; the person's Chrome runs on
        home = tmp_path / "home"
        result = run_caselog("login", "--portal", portal.url, "--cdp", cdp,
                             env={"CASELOG_HOME": str(home)}, timeout=60)
        assert result.returncode == 0, result.stderr
        assert chrome.poll() is None  # the person's browser is still running
        state = load_state(portal.url, directory=home / "sessions")
        assert {c["domain"] for c in state["cookies"]} == {"127.0.0.1"}
        assert api_status(portal, state) == 200

        async def capture_through_cdp():
            async with PortalClient(portal.url, cdp_url=cdp) as client:
                return await client.search_cases(0, page_size=10)

        cap = run_async(capture_through_cdp())
        assert cap.json()["totalNumberOfResults"] == 3
        assert chrome.poll() is None  # closing the client only detached from it
    finally:
        chrome.terminate()
        chrome.wait(10)


def test_session_files_are_per_portal_and_owner_only(tmp_path):
    directory = tmp_path / "sessions"
    directory.mkdir()
    a = save_state("http://127.0.0.1:8731", {"cookies": [], "origins": []}, directory)
    b = save_state("https://sellercentral.amazon.com/", {"cookies": [1], "origins": []},
                   directory)
    assert a.name == "127.0.0.1_8731.json" and b.name == "sellercentral.amazon.com_443.json"
    assert session_path("http://127.0.0.1:8731/cu/case-lobby", directory) == a
    assert stat.S_IMODE(b.stat().st_mode) == 0o600
    a.chmod(0o644)  # a loosened file is tightened again when rewritten
    save_state("http://127.0.0.1:8731", {"cookies": [], "origins": []}, directory)
    assert stat.S_IMODE(a.stat().st_mode) == 0o600
    assert load_state("https://sellercentral.amazon.com", directory)["cookies"] == [1]
    assert load_state("http://127.0.0.1:9", directory) is None
    assert not [p for p in directory.iterdir() if p.suffix == ".tmp"]
    assert os.access(a, os.R_OK)


@pytest.mark.parametrize("faults", [{"error_rate": 0.2}, {"rate_limit": 3, "retry_after": 1}],
                         ids=["20%-server-errors", "3-requests-a-second"])
def test_sign_in_goes_through_throttling_and_server_errors(portal_factory, tmp_path, faults):
    """Sign-in retries what the sync retries: a step answered 429 or 5xx starts it over
    after a pause; every sign-in gets through (0 of 8 did before)."""
    p = portal_factory("--cases", "3", "--seed", "6")
    p.sim("faults", faults)
    for n in range(2):
        home = tmp_path / f"home{n}"
        result = login(p, home)
        assert result.returncode == 0, result.stderr
        state = json.loads(next((home / "sessions").glob("*.json")).read_text())
        p.sim("faults", {"error_rate": 0, "rate_limit": 0})
        assert api_status(p, state) == 200
        p.sim("faults", faults)


def test_sign_in_says_what_the_portal_kept_answering(portal_factory, tmp_path):
    p = portal_factory("--cases", "3", "--seed", "6", "--error-rate", "1")
    result = login(p, tmp_path / "home")
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "kept answering sign-in with errors" in result.stderr and "HTTP 5" in result.stderr
    assert "did not show" not in result.stderr  # not blamed on a missing page


def test_a_portal_address_without_a_scheme_is_a_usage_error(tmp_path):
    r = run_caselog("sync", "--portal", "sellercentral.amazon.com",
                    env={"CASELOG_HOME": str(tmp_path)})
    assert r.returncode == 2 and "https://sellercentral.amazon.com" in r.stderr
    assert "no saved session" not in r.stderr
