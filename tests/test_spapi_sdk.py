"""Amazon's own generated client (``amzn-sp-api``, SPAPI.md) against the simulated
SP-API: if the SDK signs in, pages through listCases (empty pages included) and reads a
case and its contacts into its models, the simulation follows the published model as the
SDK reads it. Skipped where the SDK is not installed (it is not a test dependency yet)."""

from __future__ import annotations

import pytest

spapi = pytest.importorskip("spapi")

from spapi.api.support_v2025_02_01.support_api import SupportApi  # noqa: E402
from spapi.models.support_v2025_02_01.list_cases_request import ListCasesRequest  # noqa: E402
from spapi.rest import ApiException  # noqa: E402


def test_the_official_sdk_syncs_from_the_simulation(portal_factory):
    p = portal_factory("--cases", "20", "--seed", "9", "--spapi-rate", "1000",
                       "--spapi-burst", "1000")
    cfg = p.sim("config")
    config = spapi.SPAPIConfig(client_id=cfg["lwa_client_id"],
                               client_secret=cfg["lwa_client_secret"],
                               refresh_token=cfg["lwa_refresh_token"], region="NA")
    client = spapi.SPAPIClient(config, oauth_endpoint=cfg["lwa_token_url"],
                               endpoint=cfg["spapi_endpoint"])
    api = SupportApi(client.api_client)
    cases, sizes, token = [], [], None
    while True:
        page = api.list_cases(ListCasesRequest(max_results=4, next_token=token))
        cases += page.cases
        sizes.append(len(page.cases))
        token = page.next_token
        if not token:
            break
    truth = p.sim("spapi/truth")["cases"]
    assert [c.case_id for c in cases] == [c["case_id"] for c in truth]
    assert 0 in sizes[:-1]
    case = api.get_case(cases[0].case_id)
    assert (case.subject, case.status) == (truth[0]["subject"], truth[0]["status"])
    contacts = api.list_contacts(case.case_id, max_results=50).contacts
    assert len(contacts) == len(truth[0]["messages"])
    assert all(c.channel in ("EMAIL", "CHAT", "PHONE") and c.created_date for c in contacts)
    assert all(c.email_content.sender.role for c in contacts if c.channel == "EMAIL")
    with pytest.raises(ApiException) as exc:
        api.get_case("99999999999")
    assert exc.value.status == 404
