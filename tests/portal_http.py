"""A plain-HTTP client for portal tests: its own cookie jar, redirects NOT followed (so a
test can assert each 302), errors returned as responses instead of raised."""

from __future__ import annotations

import html
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

API = "/hill/hillservice/mons-api/"
EMAIL, PASSWORD = "seller@example.com", "caselog-demo"


def to_text(markup: str) -> str:
    """The export text rule, written again here with regexes (independent of fixtures')."""
    s = re.sub(r"<br\s*/?>", "\n", markup, flags=re.I)
    s = re.sub(r"</(p|div|li|ul|ol|tr|table|h[1-6])\s*>", "\n", s, flags=re.I)
    s = re.sub(r"<[^>]+>", "", s)
    return html.unescape(s).strip()


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Resp:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Resp {self.status} {self.text[:120]!r}>"


class Client:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def set_cookie(self, name: str, value: str) -> None:
        host = urllib.parse.urlsplit(self.base).hostname
        self.jar.set_cookie(http.cookiejar.Cookie(
            0, name, value, None, False, host, False, False, "/", True, False, None, False,
            None, None, {}))

    def request(self, method: str, path: str, data: bytes | None = None,
                headers: dict | None = None) -> Resp:
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as r:
                return Resp(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            with e:
                return Resp(e.code, e.headers, e.read())

    def get(self, path: str, headers: dict | None = None) -> Resp:
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict) -> Resp:
        return self.request("POST", path, urllib.parse.urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def search(self, **overrides) -> Resp:
        filters = {"caseOwner": "MerchantCases", "searchText": "", "creationDateFrom": None}
        filters.update(overrides.pop("caseFilters", {}))
        body = {"page": 0, "searchPageSize": 10, "sortBy": "CreationDate",
                "sortByOrder": "DESC", "getCountOnly": False, "caseFilters": filters}
        body.update(overrides)
        return self.request("POST", API + "SearchForCases", json.dumps(body).encode(),
                            {"Content-Type": "application/json"})

    def view_case(self, case_id: str, page_size: int = 50, token: str | None = None,
                  tz: str = "America/Los_Angeles") -> Resp:
        q = {"caseId": case_id, "timeZone": tz, "pageSize": page_size}
        if token:
            q["pageToken"] = token
        return self.get(API + "ViewCase?" + urllib.parse.urlencode(q))

    def contact(self, case_id: str, contact_id: str) -> Resp:
        q = urllib.parse.urlencode({"caseId": case_id, "contactId": contact_id})
        return self.get(API + "GetContactMessage?" + q)

    def sign_in(self, email: str = EMAIL, password: str = PASSWORD,
                return_to: str = "/cu/case-lobby") -> Resp:
        self.post_form("/ap/signin", {"email": email, "openid.return_to": return_to})
        return self.post_form("/ap/signin", {"email": email, "password": password,
                                             "openid.return_to": return_to})

    def all_cases(self, **filters) -> list[dict]:
        rows, page = [], 0
        while True:
            data = self.search(page=page, searchPageSize=50, caseFilters=filters).json()
            rows += data["caseSearchResultList"]
            if (page + 1) * 50 >= data["totalNumberOfResults"]:
                return rows
            page += 1

    def thread(self, case_id: str, page_size: int = 50) -> tuple[dict, list[dict]]:
        """Every contact of a case, newest first, following currentToken."""
        token, contacts, meta = None, [], None
        while True:
            data = self.view_case(case_id, page_size, token).json()
            meta = meta or data
            contacts += data["contactList"]
            token = data["currentToken"]
            if token is None:
                return meta, contacts
