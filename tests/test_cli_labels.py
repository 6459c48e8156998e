"""The CLI speaks the seller's words: every status either source stores has a label, and
what ``caselog`` prints for people (sync's summary, checklist, draft) shows labels even for
cases only the Support API has seen, while ``caselog export`` keeps the API values that
machines read."""

from __future__ import annotations

import json
import re

import pytest
from sync_helpers import FAST, env, spapi_login, spapi_sync

from companion.read.labels import STATUS_LABELS, status_label
from fixtures.harness import run_caselog, start_portal
from scrapers.parse.locales import API_STATUSES
from scrapers.spapi.parse import STATUSES as SPAPI_STATUSES

# API values that differ from their labels: "Answered" is both, "RESOLVED" is not.
RAW = re.compile(r"\b(PendingAmazonAction|PendingMerchantAction|"
                 + "|".join(SPAPI_STATUSES) + r")\b")


def test_every_status_of_either_source_has_a_label():
    for value in (*API_STATUSES, *SPAPI_STATUSES):
        label = status_label(value)
        assert label in STATUS_LABELS.values() and not RAW.search(label), value
    assert status_label("PENDING_MERCHANT_ACTION") == STATUS_LABELS["PendingMerchantAction"]
    assert status_label(None) == "Unknown"
    assert status_label("SomethingNew") == "SomethingNew"  # shown, not hidden


@pytest.fixture(scope="module")
def spapi_home(tmp_path_factory):
    """A database filled only by the Support API, synced again after status changes; the
    second sync's output is kept for the test that reads it."""
    home = tmp_path_factory.mktemp("home")
    portal = start_portal("--cases", "6", "--seed", "3", *FAST)
    try:
        assert spapi_login(portal, home).returncode == 0
        spapi_sync(portal, home)
        portal.sim("mutate", {"status_changes": 6})
        second = run_caselog("sync", "--spapi", portal.sim("config")["spapi_endpoint"], "--full",
                             env=env(home, CASELOG_KEYRING="0"))  # human words this time
        assert second.returncode == 0, second.stderr
    finally:
        portal.stop()
    return home, second


def test_sync_summary_names_status_changes_by_label(spapi_home):
    _, second = spapi_home
    changes = re.findall(r"^Status \d+: (.+) -> (.+)$", second.stdout, re.M)
    assert changes, second.stdout
    for before, after in changes:
        assert before in STATUS_LABELS.values() and after in STATUS_LABELS.values()
    assert not RAW.search(second.stdout + second.stderr)


def test_checklist_and_draft_show_labels_and_export_keeps_api_values(spapi_home):
    home, _ = spapi_home
    exported = run_caselog("export", env=env(home))
    cases = json.loads(exported.stdout)["cases"]
    assert cases and all(c["status"] in SPAPI_STATUSES for c in cases)  # machines' values
    case = cases[0]
    checklist = run_caselog("checklist", case["case_id"], env=env(home))
    assert checklist.returncode == 0, checklist.stderr
    assert f"({status_label(case['status'])})" in checklist.stdout.splitlines()[0]
    draft = run_caselog("draft", case["case_id"], env=env(home))
    assert draft.returncode == 0, draft.stderr
    assert f"{case['case_id']}: {status_label(case['status'])})" in draft.stderr
    for out in (checklist, draft):
        assert not RAW.search(out.stdout + out.stderr), out.stdout + out.stderr
