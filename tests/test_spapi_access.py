"""Getting at the simulated SP-API over real HTTP: the LWA token grant and its errors,
access-token expiry and revocation, the per-operation usage plan (429 above it), and the
attachment download links that expire. Expiry tests wait on the condition (poll until it
holds, within a deadline), never on a bare sleep."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse

import pytest
from portal_http import Client
from spapi_http import SpapiClient


def wait_for(condition, timeout: float = 15.0, every: float = 0.1):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)  # polling interval while waiting on a condition
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(scope="module")
def portal():
    from fixtures.harness import start_portal
    p = start_portal(*FAST)
    yield p
    p.stop()


FAST = ("--cases", "12", "--seed", "5", "--spapi-rate", "1000", "--spapi-burst", "1000")


def first_attachment(api: SpapiClient) -> tuple[str, dict]:
    """(case id, attachment) of the newest contact that has a file."""
    for case in api.list_cases(maxResults=50).json()["cases"]:
        for contact in api.list_contacts(case["caseId"], maxResults=50).json()["contacts"]:
            files = contact.get("emailContent", {}).get("attachments")
            if files:
                return case["caseId"], files[0]
    raise AssertionError("no attachment in the portal")


def fetch(url: str):
    parts = urllib.parse.urlsplit(url)
    return Client(f"{parts.scheme}://{parts.netloc}").get(parts.path + "?" + parts.query)


# -- LWA --------------------------------------------------------------------------------

def test_token_grant_answers_the_lwa_shape(portal):
    api = SpapiClient(portal)
    resp = api.grant()
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert body["access_token"].startswith("Atza|") and body["token_type"] == "bearer"
    assert body["expires_in"] == 3600 and body["refresh_token"] == api.config()[
        "lwa_refresh_token"]
    cfg = api.config()
    as_json = api.http.request("POST", "/auth/o2/token", json.dumps({
        "grant_type": "refresh_token", "refresh_token": cfg["lwa_refresh_token"],
        "client_id": cfg["lwa_client_id"], "client_secret": cfg["lwa_client_secret"]}).encode(),
        {"Content-Type": "application/json"})
    assert as_json.status == 200 and as_json.json()["access_token"] != body["access_token"]


@pytest.mark.parametrize("overrides,status,error", [
    ({"client_id": "amzn1.application-oa2-client.other"}, 401, "invalid_client"),
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"refresh_token": "Atzr|wrong"}, 400, "invalid_grant"),
    ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ({"refresh_token": ""}, 400, "invalid_request")])
def test_token_grant_errors(portal, overrides, status, error):
    resp = SpapiClient(portal).grant(**overrides)
    assert resp.status == status
    assert resp.json()["error"] == error and resp.json()["error_description"]


def test_expire_tokens_makes_calls_403_until_a_new_grant(portal):
    api = SpapiClient(portal).sign_in()
    assert api.list_cases(maxResults=1).status == 200
    assert portal.sim("spapi/expire-tokens", {})["expired"] >= 1
    resp = api.list_cases(maxResults=1)
    assert resp.status == 403
    [err] = resp.json()["errors"]
    assert err["code"] == "Unauthorized" and "expired" in err["details"]
    assert "x-amzn-RateLimit-Limit" not in resp.headers
    assert api.sign_in().list_cases(maxResults=1).status == 200


def test_token_lifetime_flag_makes_tokens_expire_by_themselves(portal_factory):
    api = SpapiClient(portal_factory(*FAST, "--lwa-token-lifetime", "1"))
    assert api.grant().json()["expires_in"] == 1
    api.sign_in()
    resp = wait_for(lambda: (r := api.get_case("1")).status == 403 and r)
    assert "expired" in resp.json()["errors"][0]["details"]


def test_revoke_then_authorize_again(portal):
    api = SpapiClient(portal).sign_in()
    old = api.config()["lwa_refresh_token"]
    portal.sim("spapi/revoke", {})
    resp = api.grant()
    assert resp.status == 400 and resp.json()["error"] == "invalid_grant"
    assert api.list_cases(maxResults=1).status == 200  # issued tokens live out their hour
    new = portal.sim("spapi/authorize", {})["refresh_token"]
    assert new != old and api.config()["lwa_refresh_token"] == new
    assert api.grant(refresh_token=old).json()["error"] == "invalid_grant"
    assert api.grant().status == 200


def test_default_plan_and_timings(shared_portal):
    cfg = shared_portal.sim("config")
    assert (cfg["spapi_rate"], cfg["spapi_burst"], cfg["download_ttl"],
            cfg["lwa_token_lifetime"], cfg["spapi_own_ids"]) == (0.1, 10, 900, 3600, False)


def test_start_line_names_the_api_and_its_credentials():
    argv = [sys.executable, "-m", "fixtures", "--port", "0", "--cases", "2",
            "--lwa-client-id", "amzn1.application-oa2-client.abc", "--lwa-client-secret",
            "s3cret", "--lwa-refresh-token", "Atzr|r1", "--spapi-rate", "0.5"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        first, second = proc.stdout.readline(), proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(10)
    assert "/cu/case-lobby" in first
    for needle in ("/support/2025-02-01", "/auth/o2/token", "amzn1.application-oa2-client.abc",
                   "s3cret", "Atzr|r1", "0.5 req/s, burst 10"):
        assert needle in second, needle


# -- usage plan -------------------------------------------------------------------------

def test_each_operation_has_its_own_bucket_and_429_above_it(portal_factory):
    p = portal_factory("--cases", "5", "--spapi-rate", "0.1", "--spapi-burst", "3")
    api = SpapiClient(p).sign_in()
    case_id = api.list_cases(maxResults=1).json()["cases"][0]["caseId"]
    for _ in range(3):
        resp = api.list_contacts(case_id)
        assert resp.status == 200 and resp.headers["x-amzn-RateLimit-Limit"] == "0.1"
    resp = api.list_contacts(case_id)
    assert resp.status == 429 and "x-amzn-RateLimit-Limit" not in resp.headers
    assert resp.json() == {"errors": [{"code": "QuotaExceeded", "message": "You exceeded "
                                       "your quota for the requested resource.",
                                       "details": ""}]}
    assert api.get_case(case_id).status == 200       # another operation, another bucket
    assert [api.list_cases().status for _ in range(3)] == [200, 200, 429]
    stats = p.sim("stats")
    assert (stats["spapi.429"], stats["spapi.listCases"], stats["spapi.listContacts"]) == \
        (2, 3, 3)
    assert p.sim("spapi/settings", {"rate": 2, "burst": 1})["rate"] == 2.0
    assert api.list_contacts(case_id).status == 200  # a new plan starts full
    assert api.list_contacts(case_id).status == 429
    started = time.monotonic()
    wait_for(lambda: api.list_contacts(case_id).status == 200, every=0.05)
    assert time.monotonic() - started >= 0.2         # refilled at 2 per second


def test_settings_refuse_unknown_keys_and_bad_values(portal):
    for body in ({"speed": 1}, {"rate": -1}, {"burst": 0}, {"own_ids": "yes"},
                 {"missing_download_url_rate": 2}):
        with pytest.raises(Exception) as exc:
            portal.sim("spapi/settings", body)
        assert getattr(exc.value, "code", None) == 400, body


# -- downloads --------------------------------------------------------------------------

def test_download_url_gives_the_portal_attachment_bytes_without_a_token(portal):
    api = SpapiClient(portal).sign_in()
    case_id, att = first_attachment(api)
    got = fetch(att["downloadUrl"])
    assert got.status == 200
    mons = Client(portal.url)
    mons.sign_in()
    _, contacts = mons.thread(case_id)
    [aid] = [a["attachmentId"] for c in contacts for a in c["attachments"] or ()
             if a["fileName"] == att["name"]][:1]
    want = mons.get("/cu/case-dashboard/attachment?" + urllib.parse.urlencode(
        {"caseID": case_id, "attachmentId": aid}))
    assert got.body == want.body and len(got.body) > 0
    assert got.headers["Content-Disposition"] == want.headers["Content-Disposition"]
    assert got.headers["Content-Type"] == want.headers["Content-Type"]
    forged = fetch(att["downloadUrl"].replace("X-Amz-Expires=900", "X-Amz-Expires=9000"))
    assert forged.status == 403 and "<Code>SignatureDoesNotMatch</Code>" in forged.text
    assert portal.sim("stats")["spapi.download"] >= 2


def test_download_url_expires_after_the_ttl_and_a_new_answer_gives_a_new_one(portal_factory):
    api = SpapiClient(portal_factory(*FAST, "--download-ttl", "3")).sign_in()

    def fresh():
        return first_attachment(api)[1]["downloadUrl"]

    url = fresh()
    assert "X-Amz-Expires=3" in url and fetch(url).status == 200
    expired = wait_for(lambda: (r := fetch(url)).status == 403 and r)
    assert expired.headers["Content-Type"].startswith("application/xml")
    assert "<Code>AccessDenied</Code>" in expired.text
    assert "<Message>Request has expired</Message>" in expired.text
    assert fetch(fresh()).status == 200


def test_download_url_may_be_missing(portal):
    api = SpapiClient(portal).sign_in()
    case_id, _ = first_attachment(api)
    try:
        portal.sim("spapi/settings", {"missing_download_url_rate": 1.0})
        contacts = api.list_contacts(case_id, maxResults=50).json()["contacts"]
        files = [a for c in contacts for a in c.get("emailContent", {}).get("attachments", [])]
        assert files and all(set(a) == {"name"} for a in files)
    finally:
        portal.sim("spapi/settings", {"missing_download_url_rate": 0.0})
