"""Accounts without a portal: where each account's things live, the registry, names,
removal that touches one folder only, the lock, and ``--account`` on every command."""

from __future__ import annotations

import stat

import click
import pytest
from accounts_helpers import folder
from sync_helpers import env

from companion import accounts
from companion import folders as home
from fixtures.harness import run_caselog


@pytest.fixture
def two(caselog_home):
    accounts.add("shop2", portal="http://127.0.0.1:9")
    return caselog_home


def test_default_is_caselog_home_itself_and_others_live_in_accounts(two, monkeypatch):
    assert home.home() == two and home.db_path() == two / "caselog.db"
    shop2 = accounts.get("shop2")
    assert shop2.folder == two / "accounts" / "shop2" and shop2.db_path.parent == shop2.folder
    assert shop2.captures == shop2.folder / "captures" and home.home(shop2) == shop2.folder
    assert home.home() == two  # handing an account over chooses nothing for the process
    with home.use_account("shop2"):
        assert home.home() == two / "accounts" / "shop2"
        assert home.archive_dir() == two / "accounts" / "shop2" / "captures"
        assert home.sessions_dir().parent == two / "accounts" / "shop2"
    assert home.home() == two  # the block's choice does not outlive it
    monkeypatch.setenv("CASELOG_ACCOUNT", "shop2")
    assert home.home() == two / "accounts" / "shop2"
    for p in (two / "accounts", two / "accounts" / "shop2", two / "accounts.toml"):
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0


def test_a_caselog_home_pointing_into_an_account_means_that_account(two, monkeypatch):
    """The UI hands its sync process the account's folder as CASELOG_HOME; naming the
    account again (CASELOG_ACCOUNT inherited) must not nest it twice."""
    inner = two / "accounts" / "shop2"
    monkeypatch.setenv("CASELOG_HOME", str(inner))
    assert home.account() == "shop2" and home.home() == inner and home.top() == two
    monkeypatch.setenv("CASELOG_ACCOUNT", "shop2")
    assert home.home() == inner
    monkeypatch.setenv("CASELOG_ACCOUNT", "default")
    assert home.home() == two


def test_names_are_checked_and_unknown_ones_name_the_known(two):
    for bad in ("default", "Default", "a/b", "..", "", "x" * 41, "shöp"):
        with pytest.raises(accounts.AccountError):
            accounts.add(bad)
    with pytest.raises(accounts.AccountError, match="already"):
        accounts.add("SHOP2")
    with pytest.raises(home.UnknownAccount, match="default, shop2"):
        accounts.get("shop3")
    with pytest.raises(home.UnknownAccount), home.use_account("nope"):
        home.home()  # never an empty account made by a typo
    with pytest.raises(home.UnknownAccount), home.use_account("../etc"):
        home.home()


def test_the_registry_names_sources_and_keeps_them(two):
    accounts.add("eu-shop", spapi="https://sellingpartnerapi-eu.amazon.com")
    accounts.set_sources("default", portal="https://sellercentral.amazon.com")
    got = {a.name: a for a in accounts.list_accounts()}
    assert list(got) == ["default", "eu-shop", "shop2"]
    assert got["default"].portal == "https://sellercentral.amazon.com"
    assert got["shop2"].portal == "http://127.0.0.1:9" and got["shop2"].spapi is None
    assert got["eu-shop"].spapi.endswith("amazon.com")
    accounts.set_sources("shop2", portal="")
    assert accounts.get("shop2").portal is None


def test_remove_asks_and_deletes_that_folder_only(two):
    accounts.add("shop3")
    for name in ("shop2", "shop3"):
        (folder(two, name) / "templates").mkdir()
        (folder(two, name) / "templates" / "reply.j2").write_text(name)
    (two / "caselog.db").write_bytes(b"")
    r = run_caselog("accounts", "remove", "shop2", env=env(two), input="n\n")
    assert r.returncode == 1 and (two / "accounts" / "shop2").exists()
    r = run_caselog("accounts", "remove", "shop2", env=env(two), input="y\n")
    assert r.returncode == 0, r.stderr
    assert not (two / "accounts" / "shop2").exists()
    assert (two / "accounts" / "shop3" / "templates" / "reply.j2").read_text() == "shop3"
    assert (two / "caselog.db").exists() and "shop2" not in (two / "accounts.toml").read_text()
    r = run_caselog("accounts", "remove", "default", "--yes", env=env(two))
    assert r.returncode == 1 and "default" in r.stderr and (two / "caselog.db").exists()


def test_one_sync_lock_per_account(two):
    default, shop2 = accounts.get("default"), accounts.get("shop2")
    with accounts.sync_lock(default) as path:
        assert path.parent == two and stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
        with pytest.raises(accounts.Busy, match="another caselog process is syncing"):
            with accounts.sync_lock(default):
                pass
        with accounts.sync_lock(shop2):
            pass  # another account's lock is its own
    with accounts.sync_lock(default):
        pass  # released


def test_every_command_takes_account():
    from companion.cli import main

    ctx = click.Context(main)
    names = main.list_commands(ctx)
    assert {"sync", "login", "export", "watch", "notify", "accounts", "serve"} <= set(names)

    def check(cmd, path):
        assert any("--account" in p.opts for p in cmd.params), path
        for sub_name, sub in getattr(cmd, "commands", {}).items():
            check(sub, f"{path} {sub_name}")

    for name in names:
        check(main.get_command(ctx, name), name)


def test_an_unknown_account_is_a_usage_error_listing_the_known(two):
    r = run_caselog("export", "--account", "shop9", env=env(two))
    assert r.returncode == 2 and "default, shop2" in r.stderr
    r = run_caselog("export", env=env(two, CASELOG_ACCOUNT="shop9"))
    assert r.returncode == 2 and "shop9" in r.stderr
