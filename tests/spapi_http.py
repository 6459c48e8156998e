"""A plain-HTTP client for the simulated SP-API in tests: LWA token grant, the three
operations, and walks over every page (counting the empty ones). Credentials come from
the portal's ``/__sim/config``, as a real client would get them from its settings."""

from __future__ import annotations

import json
import urllib.parse

from portal_http import Client, Resp

BASE = "/support/2025-02-01"
# SPAPI.md's mapping of the portal's statuses, written out again for the tests.
STATUS = {"PendingAmazonAction": "PENDING_AMAZON_ACTION", "Reopened": "PENDING_AMAZON_ACTION",
          "PendingMerchantAction": "PENDING_MERCHANT_ACTION",
          "Answered": "PENDING_MERCHANT_ACTION", "Resolved": "RESOLVED", "Closed": "RESOLVED",
          "Transferred": "TRANSFERRED"}


class SpapiClient:
    def __init__(self, portal):
        self.portal = portal
        self.http = Client(portal.url)
        self.access: str | None = None

    def config(self) -> dict:
        return self.portal.sim("config")

    def grant(self, **overrides) -> Resp:
        cfg = self.config()
        fields = {"grant_type": "refresh_token", "refresh_token": cfg["lwa_refresh_token"],
                  "client_id": cfg["lwa_client_id"], "client_secret": cfg["lwa_client_secret"]}
        fields.update(overrides)
        return self.http.post_form("/auth/o2/token", fields)

    def sign_in(self) -> SpapiClient:
        resp = self.grant()
        assert resp.status == 200, resp
        self.access = resp.json()["access_token"]
        return self

    def call(self, method: str, path: str, body=None, token: str | None = "own",
             headers: dict | None = None, raw: bytes | None = None) -> Resp:
        hdrs = {"Accept": "application/json"}
        if token == "own":
            token = self.access
        if token is not None:
            hdrs["x-amz-access-token"] = token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        return self.http.request(method, BASE + path, data, hdrs)

    def list_cases(self, token: str | None = "own", **body) -> Resp:
        return self.call("POST", "/cases", body, token=token)

    def get_case(self, case_id: str, token: str | None = "own") -> Resp:
        return self.call("GET", "/cases/" + urllib.parse.quote(case_id, safe=""),
                         token=token)

    def list_contacts(self, case_id: str, token: str | None = "own", **query) -> Resp:
        q = urllib.parse.urlencode(query)
        path = "/cases/" + urllib.parse.quote(case_id, safe="") + "/contacts"
        return self.call("GET", path + ("?" + q if q else ""), token=token)

    def all_cases(self, **body) -> tuple[list[dict], list[int]]:
        """Every case, following nextToken; also the size of each page."""
        return self._walk(lambda token: self.list_cases(
            **body, **({"nextToken": token} if token else {})), "cases")

    def all_contacts(self, case_id: str, **query) -> tuple[list[dict], list[int]]:
        return self._walk(lambda token: self.list_contacts(
            case_id, **query, **({"nextToken": token} if token else {})), "contacts")

    @staticmethod
    def _walk(fetch, key: str) -> tuple[list[dict], list[int]]:
        items, sizes, token = [], [], None
        for _ in range(10_000):
            resp = fetch(token)
            assert resp.status == 200, resp
            data = resp.json()
            items += data[key]
            sizes.append(len(data[key]))
            token = data.get("nextToken")
            if not token:
                return items, sizes
        raise AssertionError("nextToken never ended")
