"""``caselog accounts``: add, list, change and remove seller accounts. A thin edge over
``companion.accounts``; each account is its own folder under CASELOG_HOME."""

from __future__ import annotations

import json

import click

from companion import accounts as registry
from companion.cli.options import check_portal, check_spapi
from companion.folders import UnknownAccount
from companion.watch.state import watch_summary


def _fail(exc: Exception):
    raise click.ClickException(str(exc)) from None


@click.group()
def accounts():
    """Seller accounts: each keeps its own database, captures, sessions, credentials,
    evidence, templates, checklists, settings and logs.

    The account `default` is CASELOG_HOME itself; others live in
    CASELOG_HOME/accounts/NAME/. Every command takes --account NAME (or CASELOG_ACCOUNT).

    \b
    Usage:
        caselog accounts add shop2 --portal https://sellercentral.amazon.de
        caselog accounts add shop3 --spapi eu
        caselog login --account shop2 --portal https://sellercentral.amazon.de
        caselog sync --account shop2        # the registry names its portal
        caselog accounts list
        caselog accounts remove shop2
    """


def _sources(fn):
    fn = click.option("--lwa-endpoint", default=None, callback=check_portal, metavar="URL",
                      help="Its Login with Amazon token endpoint, when not Amazon's own.")(fn)
    fn = click.option("--spapi", default=None, callback=check_spapi, metavar="ENDPOINT",
                      help="Its Support API endpoint: na, eu, fe or a URL.")(fn)
    return click.option("--portal", default=None, callback=check_portal, metavar="URL",
                        help="Its Seller Central address.")(fn)


@accounts.command("add")
@click.argument("name")
@_sources
def add(name, portal, spapi, lwa_endpoint):
    """Add the account NAME (letters, digits, - and _), with the portal and/or Support
    API endpoint it syncs from."""
    try:
        account = registry.add(name, portal=portal, spapi=spapi, lwa_endpoint=lwa_endpoint)
    except (registry.AccountError, OSError) as exc:
        _fail(exc)
    click.echo(f"Added account {name}: {account.folder}")
    if portal:
        click.echo(f"Next: caselog login --account {name} --portal {portal}")
    if spapi:
        click.echo(f"Next: caselog login --account {name} --spapi {spapi}")


@accounts.command("set")
@click.argument("name")
@_sources
def set_(name, portal, spapi, lwa_endpoint):
    """Change the portal or Support API endpoint an account syncs from (`default` too);
    give "" to forget one."""
    try:
        account = registry.set_sources(name, portal=portal, spapi=spapi,
                                       lwa_endpoint=lwa_endpoint)
    except (registry.AccountError, UnknownAccount) as exc:
        _fail(exc)
    click.echo(f"{name}: portal {account.portal or '-'}, Support API {account.spapi or '-'}")


def _row(account) -> dict:
    """What the list shows of one account: the registry and, when it has a database,
    its cases, last sync, watch state and unread notifications."""
    out = account.as_dict()
    out.update(watch_summary(account))
    return out


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON list on stdout.")
def list_(as_json):
    """Every account, with its folder, sources, cases and last sync."""
    try:
        rows = [_row(a) for a in registry.list_accounts()]
    except registry.AccountError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        where = ", ".join(f"{k} {r[k]}" for k in ("portal", "spapi") if r.get(k)) \
            or "no source named yet"
        last = r.get("last_sync") or {}
        said = f"last sync {last.get('state')} {last.get('finished_at') or ''}".rstrip() \
            if last else "never synced"
        stopped = f"; WATCH STOPPED: {r['watch_stopped']}" if r.get("watch_stopped") else ""
        unread = f"; {r['unread']} unread" if r.get("unread") else ""
        click.echo(f"{r['name']}: {r['cases']} cases, {said}; {where}{unread}{stopped}")
        click.echo(f"    {r['folder']}")


@accounts.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask first.")
def remove(name, yes):
    """Delete the account NAME: its folder (database, captures, sessions, credentials,
    evidence, settings) and its registry entry. Nothing of any other account is touched.
    `default` (CASELOG_HOME itself) cannot be removed this way."""
    try:
        registry.check_name(name)
        account = registry.get(name)
    except (registry.AccountError, UnknownAccount) as exc:
        _fail(exc)
    if not yes:
        click.confirm(f"Delete account {name} and everything in {account.folder}?",
                      abort=True, err=True)
    try:
        folder = registry.remove(name)
    except (registry.AccountError, registry.Busy, OSError) as exc:
        _fail(exc)
    click.echo(f"Removed account {name} ({folder})")
