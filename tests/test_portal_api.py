"""The simulated portal over plain HTTP: sign-in, redirects and 401s, the mons-api
endpoints' exact fields, paging and errors, attachments, pages, and that /__sim/truth
agrees with what the JSON endpoints serve. Read-only tests share one portal."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import time
import urllib.parse

import pyotp
import pytest
from portal_http import API, EMAIL, Client, iso, to_text

from fixtures.server import Settings, create_app

ROOT_CASE_FIELDS = {"caseId": str, "status": str, "shortDescription": str,
                    "creationDate": float}
STATUSES = {"PendingAmazonAction", "PendingMerchantAction", "Answered", "Reopened",
            "Resolved", "Closed"}


@pytest.fixture(scope="module")
def client(shared_portal):
    c = Client(shared_portal.url)
    assert c.sign_in().status == 302
    return c


@pytest.fixture(scope="module")
def truth(shared_portal):
    return shared_portal.sim("truth")


@pytest.fixture(scope="module")
def cases(client):
    return client.all_cases()


# -- sign-in, redirects, 401 ----------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/cu/case-lobby", "/cu/case-dashboard/view-case?caseID=12345678901&ref=x&ie=UTF8",
    "/cu/case-dashboard/attachment?caseID=1&attachmentId=2", "/hill/website/anything"])
def test_pages_redirect_to_signin_with_return_to(shared_portal, path):
    r = Client(shared_portal.url).get(path)
    assert r.status == 302
    assert r.headers["Location"] == "/ap/signin?openid.return_to=" + urllib.parse.quote(
        path, safe="")


@pytest.mark.parametrize("method,name", [("POST", "SearchForCases"), ("GET", "ViewCase"),
                                         ("GET", "GetContactMessage")])
def test_api_without_session_is_401_json(shared_portal, method, name):
    r = Client(shared_portal.url).request(method, API + name, b"{}" if method == "POST"
                                          else None, {"Content-Type": "application/json"})
    assert r.status == 401
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"] == "unauthenticated"


def test_signin_two_steps_wrong_password_then_return_to(shared_portal):
    c = Client(shared_portal.url)
    target = "/cu/case-dashboard/view-case?caseID=1&ref=abc"
    first = c.get("/ap/signin?openid.return_to=" + urllib.parse.quote(target, safe=""))
    assert 'id="ap_email"' in first.text and 'id="continue"' in first.text
    assert 'id="ap_password"' not in first.text
    step2 = c.post_form("/ap/signin", {"email": EMAIL, "openid.return_to": target})
    assert 'id="ap_password"' in step2.text and 'id="signInSubmit"' in step2.text
    assert "auth-error-message-box" not in step2.text
    wrong = c.post_form("/ap/signin", {"email": EMAIL, "password": "nope",
                                       "openid.return_to": target})
    assert wrong.status == 200 and 'id="auth-error-message-box"' in wrong.text
    assert 'id="ap_password"' in wrong.text
    ok = c.post_form("/ap/signin", {"email": EMAIL, "password": "caselog-demo",
                                    "openid.return_to": target})
    assert ok.status == 302 and ok.headers["Location"] == target
    assert c.get("/cu/case-lobby").status == 200


def test_signin_unknown_email_and_offsite_return_to(shared_portal):
    c = Client(shared_portal.url)
    r = c.post_form("/ap/signin", {"email": "someone@else.com"})
    assert 'id="auth-error-message-box"' in r.text and 'id="ap_email"' in r.text
    r = c.sign_in(return_to="//evil.example.com/x")
    assert r.status == 302 and r.headers["Location"] == "/cu/case-lobby"
    fresh = Client(shared_portal.url)  # no openid.return_to at all: the lobby by default
    fresh.post_form("/ap/signin", {"email": EMAIL})
    r = fresh.post_form("/ap/signin", {"email": EMAIL, "password": "caselog-demo"})
    assert r.status == 302 and r.headers["Location"] == "/cu/case-lobby"
    assert "session-token=" in r.headers["Set-Cookie"]


def test_mfa_signin_wrong_code_then_totp_and_remember_device(portal_factory):
    secret = pyotp.random_base32()
    portal = portal_factory("--cases", "5", "--mfa-secret", secret)
    c = Client(portal.url)
    assert c.get("/ap/mfa").status == 302  # no password step done yet
    r = c.sign_in(return_to="/cu/case-lobby?window=all")
    assert r.status == 302 and r.headers["Location"].startswith("/ap/mfa?openid.return_to=")
    assert c.get(API + "ViewCase?caseId=1").status == 401  # not signed in yet
    page = c.get(r.headers["Location"])
    for element in ("auth-mfa-otpcode", "auth-mfa-remember-device", "auth-signin-button"):
        assert f'id="{element}"' in page.text
    bad = c.post_form("/ap/mfa", {"otpCode": "000000" if pyotp.TOTP(secret).now() != "000000"
                                  else "111111", "openid.return_to": "/cu/case-lobby"})
    assert 'id="auth-error-message-box"' in bad.text
    good = c.post_form("/ap/mfa", {"otpCode": pyotp.TOTP(secret).now(), "rememberDevice": "true",
                                   "openid.return_to": "/cu/case-lobby?window=all"})
    assert good.status == 302 and good.headers["Location"] == "/cu/case-lobby?window=all"
    assert c.get("/cu/case-lobby").status == 200
    portal.sim("expire-sessions", {})
    again = c.sign_in()  # remembered device: no MFA step this time
    assert again.status == 302 and again.headers["Location"] == "/cu/case-lobby"
    assert Client(portal.url).sign_in().headers["Location"].startswith("/ap/mfa")


# -- SearchForCases -------------------------------------------------------------------

def test_search_fields_types_and_order(client, cases, truth):
    r = client.search(searchPageSize=10)
    assert r.status == 200
    data = r.json()
    assert set(data) == {"caseSearchResultList", "totalNumberOfResults"}
    assert data["totalNumberOfResults"] == 60 == len(cases)
    for row in data["caseSearchResultList"]:
        assert set(row) == {"caseId", "status", "shortDescription", "creationDate",
                            "lastAmazonReplyDate"}
        for key, kind in ROOT_CASE_FIELDS.items():
            assert isinstance(row[key], kind), key
        assert re.fullmatch(r"\d{11}", row["caseId"]) and row["status"] in STATUSES
        assert row["lastAmazonReplyDate"] is None or isinstance(row["lastAmazonReplyDate"],
                                                                float)
    keys = [(c["creationDate"], c["caseId"]) for c in cases]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == 60
    assert [c["caseId"] for c in cases] == [t["case_id"] for t in truth["cases"]]
    assert any(c["lastAmazonReplyDate"] is None for c in cases)
    asc = client.search(searchPageSize=5, sortByOrder="ASC").json()["caseSearchResultList"]
    assert [c["caseId"] for c in asc] == [c["caseId"] for c in cases[::-1][:5]]


def test_search_paging_and_count_only(client, cases):
    pages = [client.search(page=p, searchPageSize=25).json()["caseSearchResultList"]
             for p in range(3)]
    assert [len(p) for p in pages] == [25, 25, 10]
    assert [c["caseId"] for p in pages for c in p] == [c["caseId"] for c in cases]
    assert client.search(page=9, searchPageSize=25).json()["caseSearchResultList"] == []
    count = client.search(getCountOnly=True).json()
    assert count == {"caseSearchResultList": [], "totalNumberOfResults": 60}


def test_search_filters(client, cases):
    since = time.time() - 30 * 86400
    recent = client.all_cases(creationDateFrom=since)
    assert recent and len(recent) < len(cases)
    assert [c["caseId"] for c in recent] == [c["caseId"] for c in cases
                                             if c["creationDate"] >= since]
    word = cases[0]["shortDescription"].split()[0]
    hits = client.all_cases(searchText=word.swapcase())
    assert hits and all(word.lower() in c["shortDescription"].lower() for c in hits)
    assert len(hits) == sum(word.lower() in c["shortDescription"].lower() for c in cases)
    body_only = client.all_cases(searchText="Nordwind team")  # in every seller body only
    assert body_only == []
    needs = client.all_cases(caseStatus="PendingMerchantAction")
    assert needs and all(c["status"] == "PendingMerchantAction" for c in needs)
    assert len(needs) == sum(c["status"] == "PendingMerchantAction" for c in cases)


@pytest.mark.parametrize("body", [
    {"searchPageSize": 51}, {"searchPageSize": 0}, {"page": -1}, {"page": "1"},
    {"sortBy": "Status"}, {"caseFilters": {"caseStatus": "Open"}},
    {"caseFilters": {"creationDateFrom": "yesterday"}}])
def test_search_bad_requests_are_400_json(client, body):
    r = client.search(**body)
    assert r.status == 400 and "error" in r.json()


def test_search_rejects_non_json_and_get(client):
    r = client.request("POST", API + "SearchForCases", b"not json",
                       {"Content-Type": "application/json"})
    assert r.status == 400 and r.json()["error"] == "bad_request"
    wrong_method = client.get(API + "SearchForCases")
    assert wrong_method.status == 405 and wrong_method.json()["error"] == "method_not_allowed"
    unknown = client.get(API + "NoSuchOperation")
    assert unknown.status == 404 and unknown.json()["error"] == "not_found"


# -- ViewCase / GetContactMessage -----------------------------------------------------

def test_view_case_fields_paging_and_last_reply(client, cases):
    longest = max(cases, key=lambda c: client.view_case(c["caseId"], 10).json()
                  ["totalNumberOfContacts"])
    first = client.view_case(longest["caseId"], 10).json()
    assert set(first) == {"viewCaseMetaData", "contactList", "totalNumberOfContacts",
                          "currentToken"}
    meta = first["viewCaseMetaData"]
    assert set(meta) == {"caseTitle", "caseStatus", "creationDate", "primaryEmail", "ccList",
                         "caseTags", "canEditCase", "canReopenCase", "escalated"}
    assert meta["caseTitle"] == longest["shortDescription"]
    assert meta["caseStatus"] == longest["status"] and meta["primaryEmail"] == EMAIL
    assert isinstance(meta["ccList"], list) and meta["caseTags"]
    assert all(isinstance(meta[k], bool) for k in ("canEditCase", "canReopenCase",
                                                   "escalated"))
    assert first["totalNumberOfContacts"] == 200 and len(first["contactList"]) == 10
    assert isinstance(first["currentToken"], str)
    _, by10 = client.thread(longest["caseId"], 10)
    _, by50 = client.thread(longest["caseId"], 50)
    assert [m["contactId"] for m in by10] == [m["contactId"] for m in by50]
    assert len({m["contactId"] for m in by50}) == 200
    times = [m["timestamp"] for m in by50]
    assert times == sorted(times, reverse=True)
    for m in by50:
        assert set(m) == {"contactId", "channelType", "outbound", "sender", "timestamp",
                          "message", "messageTruncated", "attachments"}
        assert m["channelType"] == "EMAIL" and isinstance(m["timestamp"], float)
        assert m["sender"] == ("Amazon" if m["outbound"] else EMAIL)
        assert m["attachments"] is None or len(m["attachments"]) > 0  # null, never []
        for a in m["attachments"] or []:
            assert set(a) == {"attachmentId", "fileName", "fileSize", "contentType"}
            assert isinstance(a["fileSize"], int)
    assert any(m["attachments"] is None for m in by50)
    # Epoch seconds are JSON numbers written with decimals, as on the real portal.
    raw = client.view_case(longest["caseId"], 10).text
    assert re.search(r'"creationDate":\s*\d{10}\.\d+', raw)
    assert re.search(r'"timestamp":\s*\d{10}\.\d+', raw)
    assert re.search(r'"creationDate":\s*\d{10}\.\d+', client.search().text)
    for case in cases[:15]:
        _, msgs = client.thread(case["caseId"])
        amazon = [m["timestamp"] for m in msgs if m["outbound"]]
        assert case["lastAmazonReplyDate"] == (max(amazon) if amazon else None)


@pytest.mark.parametrize("query,status", [
    ("caseId=99999999999&pageSize=10", 404), ("pageSize=10", 400),
    ("caseId={id}&pageSize=20", 400), ("caseId={id}&pageSize=10&pageToken=%%%", 400),
    ("caseId={id}&pageSize=10&timeZone=Mars/Olympus", 400)])
def test_view_case_errors(client, cases, query, status):
    r = client.get(API + "ViewCase?" + query.format(id=cases[0]["caseId"]))
    assert r.status == status and "error" in r.json()


def test_truncated_messages_and_full_text(client, truth):
    by_id = {c["case_id"]: c for c in truth["cases"]}
    found = 0
    for case_id, case in by_id.items():
        if not any(len(m["text"]) > 600 for m in case["messages"]):
            continue
        _, msgs = client.thread(case_id)
        for m in msgs:
            if not m["messageTruncated"]:
                assert len(to_text(m["message"])) <= 600
                continue
            found += 1
            assert 550 <= len(to_text(m["message"])) <= 600
            full = client.contact(case_id, m["contactId"]).json()
            assert set(full) == {"contactId", "message"} and full["contactId"] == m["contactId"]
            assert len(to_text(full["message"])) > 600
            assert to_text(full["message"]).startswith(to_text(m["message"])[:500])
        if found >= 3:
            break
    assert found >= 3
    assert client.contact(next(iter(by_id)), "nope").status == 404


def test_truth_agrees_with_json_endpoints(client, cases, truth):
    """Walk every page of every endpoint and rebuild the export from JSON alone."""
    listed = {c["caseId"]: c for c in cases}
    assert [c["case_id"] for c in truth["cases"]] == list(listed)
    for expected in truth["cases"]:
        meta, contacts = client.thread(expected["case_id"])
        meta = meta["viewCaseMetaData"]
        assert meta["caseTitle"] == expected["subject"]
        assert meta["caseStatus"] == expected["status"] == listed[expected["case_id"]]["status"]
        assert meta["caseTags"][0] == expected["category"]
        assert iso(meta["creationDate"]) == expected["created_at"]
        rebuilt = []
        for m in reversed(contacts):
            body = (client.contact(expected["case_id"], m["contactId"]).json()["message"]
                    if m["messageTruncated"] else m["message"])
            rebuilt.append({"sender": "amazon" if m["outbound"] else "seller",
                            "sent_at": iso(m["timestamp"]), "text": to_text(body),
                            "attachments": [{"name": a["fileName"], "size": a["fileSize"]}
                                            for a in m["attachments"] or []],
                            "channel": m["channelType"].lower()})
        assert rebuilt == expected["messages"], expected["case_id"]


def test_hostile_html_is_served_as_text(client, truth):
    hostile_subjects = [c for c in truth["cases"] if "<" in c["subject"]]
    assert hostile_subjects
    case = next(c for c in truth["cases"]
                if any("<script>" in m["text"] or "<img" in m["text"] or "<svg" in m["text"]
                       or "<b>bold" in m["text"] for m in c["messages"]))
    _, msgs = client.thread(case["case_id"])
    served = " ".join(m["message"] for m in msgs)
    assert "&lt;" in served
    assert "<script" not in served and "<img" not in served and "<svg" not in served


# -- attachments and pages ------------------------------------------------------------

def test_attachment_download(client, truth):
    case = next(c for c in truth["cases"] if any(m["attachments"] for m in c["messages"]))
    _, msgs = client.thread(case["case_id"])
    att = next(a for m in msgs for a in m["attachments"] or [])
    url = (f"/cu/case-dashboard/attachment?caseID={case['case_id']}"
           f"&attachmentId={att['attachmentId']}")
    r = client.get(url)
    assert r.status == 200 and len(r.body) == att["fileSize"]
    assert r.headers["Content-Type"].startswith(att["contentType"])
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename=" in disposition
    if att["fileName"].isascii():
        assert f'filename="{att["fileName"]}"' in disposition
    else:
        assert urllib.parse.quote(att["fileName"], safe="") in disposition
    assert client.get(url).body == r.body  # deterministic bytes
    assert client.get(url.replace(att["attachmentId"], "att-missing")).status == 404


def test_pages_render_with_session(client, cases, shared_portal):
    lobby = client.get("/cu/case-lobby?window=all&page=2&pageSize=25")
    assert lobby.status == 200 and "text/html" in lobby.headers["Content-Type"]
    case_id = cases[3]["caseId"]
    page = client.get(f"/cu/case-dashboard/view-case?caseID={case_id}&ref=xx&ie=UTF8"
                      "&mons_sel_mkid=1")
    assert page.status == 200 and case_id in page.text
    missing = client.get("/cu/case-dashboard/view-case?caseID=10000000000")
    assert missing.status == 404 and "We couldn't find that case" in html.unescape(missing.text)
    client.set_cookie("lc-main", "de_DE")
    try:
        german = client.get("/cu/case-lobby")
    finally:
        client.set_cookie("lc-main", "en_US")
    assert german.status == 200 and "de_DE" in german.text
    stats = shared_portal.sim("stats")
    assert stats["lobby"] >= 2 and stats["case_page"] >= 2


# -- in-process checks of pieces that need no server ----------------------------------

def test_class_names_are_hashed_per_start():
    a = create_app(Settings(cases=1)).jinja_env.globals["cls"]
    b = create_app(Settings(cases=1)).jinja_env.globals["cls"]
    assert a("box") == a("box") != b("box") and a("box") != a("body")
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{19}", a("box"))


def test_sim_api_refuses_non_loopback_clients():
    app = create_app(Settings(cases=1))
    client = app.test_client()
    assert client.get("/__sim/health", environ_base={"REMOTE_ADDR": "10.1.2.3"}
                      ).status_code == 403
    assert client.get("/__sim/truth", environ_base={"REMOTE_ADDR": "192.168.0.9"}
                      ).status_code == 403
    assert client.get("/__sim/health", environ_base={"REMOTE_ADDR": "127.0.0.1"}
                      ).get_json() == {"ok": True}


def test_same_seed_same_truth_other_seed_other_truth(portal_factory):
    a = portal_factory("--cases", "25", "--seed", "11").sim("truth")
    b = portal_factory("--cases", "25", "--seed", "11").sim("truth")
    c = portal_factory("--cases", "25", "--seed", "12").sim("truth")
    assert a == b and len(a["cases"]) == 25
    assert [x["case_id"] for x in a["cases"]] != [x["case_id"] for x in c["cases"]]


def test_start_line_says_where_to_open_and_how_to_sign_in():
    secret = pyotp.random_base32()
    proc = subprocess.Popen([sys.executable, "-m", "fixtures", "--port", "0", "--cases", "3",
                             "--mfa-secret", secret], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(10)
    url = re.search(r"http://127\.0\.0\.1:(\d+)/cu/case-lobby", line)
    assert url and int(url.group(1)) > 0
    assert EMAIL in line and "caselog-demo" in line and secret in line


def test_cli_help_and_bad_timezone():
    run = [sys.executable, "-m", "fixtures"]
    out = subprocess.run([*run, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Usage:" in out.stdout
    assert "caselog portal --port 8731 --cases 300 --seed 7" in out.stdout
    for flag in ("--host", "--mfa-secret", "--rate-limit", "--failing-cases", "--robot-after"):
        assert flag in out.stdout
    bad = subprocess.run([*run, "--timezone", "Mars/Olympus", "--port", "0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "time zone" in bad.stderr


def test_generated_data_is_realistic_and_fast():
    from fixtures.data import World
    from fixtures.truth import export

    start = time.process_time()  # CPU time: other work on the machine does not count
    World(7, 5000, EMAIL)
    assert time.process_time() - start < 0.6  # headers eager, threads lazy
    world = World(7, 300, EMAIL)
    cases = export(world)["cases"]
    messages = [m for c in cases for m in c["messages"]]
    assert {c["status"] for c in cases} == STATUSES
    assert {c["category"] for c in cases} == {
        "Account Health", "Listings and Catalog", "FBA Inventory and Reimbursement",
        "Brand Registry and IP", "Product Safety and Compliance", "Payments",
        "Orders and Shipping"}
    ids = [c["case_id"] for c in cases]
    assert len(set(ids)) == 300 and all(re.fullmatch(r"\d{11}", i) for i in ids)
    oldest = time.strftime("%Y-%m-%d", time.gmtime(world.anchor - 401 * 86400))
    assert min(c["created_at"] for c in cases) >= oldest
    year_ago = time.strftime("%Y-%m-%d", time.gmtime(world.anchor - 365 * 86400))
    assert sum(c["created_at"] < year_ago for c in cases) >= 5  # "All" shows more than 12 months
    recent = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * 86400))
    assert sum(c["created_at"] >= recent for c in cases) >= 20  # the lobby's default window
    sizes = [len(c["messages"]) for c in cases]
    assert max(sizes) == 200 and min(sizes) == 1 and 5 <= len(messages) / 300 <= 11
    long_share = sum(len(m["text"]) > 600 for m in messages) / len(messages)
    assert 0.04 <= long_share <= 0.11
    assert any(len(m["text"]) > 45_000 for m in messages)
    everything = " ".join(m["text"] for m in messages)
    for needle in ("365 days", "root cause", "corrective", "prevent", "letter of authoriz",
                   "proof of delivery", "Safety Data Sheet", "photos", "tracking",
                   "bill of lading", "Shipment ID", "ü", "お世話", "🙏", "<script>",
                   "onerror="):
        assert needle.lower() in everything.lower(), needle
    # Each kind of evidence is asked for in more than one wording.
    for wordings in (("invoices from your supplier", "invoices or receipts"),
                     ("plan of action that explains", "plan of action: (1)"),
                     ("letter of authorization", "letter of authorisation"),
                     ("proof of delivery (pod)", "carrier's proof of delivery"),
                     ("safety data sheet (sds)", "current safety data sheet"),
                     ("clear product photos", "photos of the product"),
                     ("tracking numbers", "tracking id")):
        assert all(w in everything.lower() for w in wordings), wordings
    assert sum(bool(m["attachments"]) for m in messages) > 50
    for c in cases:
        assert c["messages"][0]["sender"] == "seller"
        times = [m["sent_at"] for m in c["messages"]]
        assert times == sorted(times) and times[0] == c["created_at"]


def test_cli_identity_locale_zone_and_host_flags():
    """`caselog portal` itself, with every flag that is not a fault (faults: test_portal_faults)."""
    from fixtures.harness import ROOT, free_port, stop_process, wait_http

    port = free_port()
    argv = [sys.executable, "-m", "companion", "portal", "--host", "127.0.0.2",
            "--port", str(port), "--cases", "4", "--seed", "2", "--locale", "de_DE",
            "--timezone", "Asia/Tokyo", "--email", "shop@beispiel.de", "--password", "geheim-1"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.2:{port}"
    try:
        wait_http(base + "/__sim/health", proc)
        c = Client(base)
        config = json.loads(c.get("/__sim/config").body)
        assert config.items() >= {"email": "shop@beispiel.de", "password": "geheim-1",
                                  "mfa_secret": None, "locale": "de_DE",
                                  "timezone": "Asia/Tokyo", "cases": 4, "seed": 2,
                                  "layout": "a", "v2_data": False,
                                  "mixed_id_lengths": False}.items()
        assert c.sign_in().status == 200  # the default credentials no longer work
        assert c.sign_in("shop@beispiel.de", "geheim-1").status == 302
        assert len(c.all_cases()) == 4
        boot = re.search(r'id="portal-boot">(.*?)</script>', c.get("/cu/case-lobby").text)
        boot = json.loads(boot.group(1))
        assert (boot["locale"], boot["timezone"]) == ("de_DE", "Asia/Tokyo")
        assert '<html lang="de-DE">' in c.get("/cu/case-lobby").text
    finally:
        stop_process(proc)
    assert b"http://127.0.0.2:%d/cu/case-lobby" % port in proc.stdout.read()
    # Not loopback: a warning first; here the address is not this machine's, so no bind.
    far = subprocess.run([sys.executable, "-m", "companion", "portal", "--host", "192.0.2.1",
                          "--port", "0", "--cases", "1"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert "not loopback" in far.stderr and "cannot listen on 192.0.2.1" in far.stderr
    assert far.returncode == 1
