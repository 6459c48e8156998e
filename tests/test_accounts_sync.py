"""Two seller accounts on two simulated portals with the same case ids, one synced
through the browser (the account ``default``, CASELOG_HOME itself, as a home made before
accounts), one through the Support API: neither account's database, export, template or
checklist ever shows the other's."""

from __future__ import annotations

import json

import pytest
from accounts_helpers import (
    FAST_SPAPI,
    add_portal_account,
    add_spapi_account,
    caselog,
    folder,
    query,
)
from sync_helpers import assert_same

from fixtures.harness import start_portal


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Portals p1 (browser, account default) and p2 (Support API, account shop2) of the
    same seed, so the same case ids; p2 is then changed, so their contents differ."""
    home = tmp_path_factory.mktemp("home")
    p1 = start_portal("--cases", "24", "--seed", "61")
    p2 = start_portal("--cases", "24", "--seed", "61", *FAST_SPAPI)
    try:
        p2.sim("mutate", {"new_replies": 6, "status_changes": 4})
        add_portal_account(p1, home, "default")
        add_spapi_account(p2, home, "shop2")
        synced = {name: caselog(home, name, "sync", "--json") for name in ("default", "shop2")}
        yield {"home": home, "p1": p1, "p2": p2, "synced": synced}
    finally:
        p1.stop()
        p2.stop()


def _export(home, name) -> dict:
    return json.loads(caselog(home, name, "export").stdout)


def test_sync_needs_no_portal_when_the_account_names_one_and_says_which(world):
    said = {n: r.stderr for n, r in world["synced"].items()}
    assert f"syncing from the portal {world['p1'].url}" in said["default"]
    assert "syncing from the Support API at" in said["shop2"]
    summaries = {n: json.loads(r.stdout) for n, r in world["synced"].items()}
    assert summaries["default"]["source"] == "portal" and summaries["shop2"]["source"] == "spapi"


def test_same_case_ids_but_each_account_holds_only_its_own(world):
    home = world["home"]
    mine, theirs = _export(home, "default"), _export(home, "shop2")
    assert_same(world["p1"].sim("truth"), mine)
    assert_same(world["p2"].sim("spapi/truth"), theirs)
    assert {c["case_id"] for c in mine["cases"]} == {c["case_id"] for c in theirs["cases"]}
    assert mine != theirs  # the same ids, different threads: nothing leaked either way
    assert query(home, "default", "select distinct coalesce(source, 'portal') from syncs") \
        == [("portal",)]
    assert query(home, "shop2", "select distinct source from syncs") == [("spapi",)]
    assert query(home, "shop2", "select count(*) from syncs where portal like ?",
                 [world["p1"].url + "%"]) == [(0,)]


def test_each_account_keeps_its_own_files(world):
    home, shop2 = world["home"], folder(world["home"], "shop2")
    assert list((home / "sessions").glob("*.json"))          # the browser's session
    assert not (shop2 / "sessions").exists() or not list((shop2 / "sessions").iterdir())
    assert list((shop2 / "credentials").glob("spapi-*.json"))  # the API's credentials
    assert not (home / "credentials").exists()
    ours = {p.name for p in (home / "captures").rglob("*") if p.is_file()}
    theirs = {p.name for p in (shop2 / "captures").rglob("*") if p.is_file()}
    assert ours and theirs and not (ours & theirs) - {"index.jsonl"}
    assert (shop2 / "caselog.db").exists() and not (home / "accounts" / "caselog.db").exists()


def test_a_template_or_checklist_of_one_account_does_not_touch_the_other(world):
    """shop2's own templates draft only shop2's replies; the default account's own
    checklist (by its cases' category: the Support API gives none) lists only there."""
    home, shop2 = world["home"], folder(world["home"], "shop2")
    case = next(c for c in _export(home, "default")["cases"] if c["category"])
    (shop2 / "templates").mkdir(exist_ok=True)
    for name in ("asked", "appeal", "follow_up", "reopen", "reply"):
        (shop2 / "templates" / f"{name}.j2").write_text("SHOP2-TEMPLATE\n")
    (home / "checklists").mkdir(exist_ok=True)
    (home / "checklists" / "only_default.toml").write_text(
        f'title = "DEFAULT-CHECKLIST"\ncategories = [{json.dumps(case["category"].lower())}]'
        '\n[[items]]\ntext = "default item"\n')
    cid = case["case_id"]
    assert "SHOP2-TEMPLATE" in caselog(home, "shop2", "draft", cid).stdout
    assert "SHOP2-TEMPLATE" not in caselog(home, "default", "draft", cid).stdout
    assert "DEFAULT-CHECKLIST" in caselog(home, "default", "checklist", cid).stdout
    assert "DEFAULT-CHECKLIST" not in caselog(home, "shop2", "checklist", cid).stdout
