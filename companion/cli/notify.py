"""``caselog notify``: try the channels, list the notifications, mark them read. A thin
edge over ``companion.notify``."""

from __future__ import annotations

import asyncio
import json

import click

from companion.cli.options import db_option, open_database
from companion.folders import account
from companion.notify import deliver as tell
from companion.notify import list_notifications, mark_read
from companion.notify import settings as notify_settings


@click.group()
def notify():
    """Notifications: what `caselog watch` told you, and where it tells you.

    Desktop notifications need a desktop session; other channels are apprise URLs in
    CASELOG_HOME/notify.toml (every account) or CASELOG_HOME/accounts/NAME/notify.toml
    (one account; its keys win):

    \b
        desktop = true          # a desktop notification where there is a desktop
        include_text = false    # add the new message's text (first 1,000 characters)
        urls = ["ntfy://my-shop-cases", "mailto://me:app-password@gmail.com"]

    Notifications hold the case id, its subject and what changed; the message's text
    only with include_text = true.

    \b
    Usage:
        caselog notify test
        caselog notify list --unread
        caselog notify read --all
    """


@notify.command("test")
def test():
    """Send a test notification through every configured channel; say how each went."""
    try:
        settings = notify_settings.load()
    except notify_settings.NotifyConfigError as exc:
        raise click.ClickException(str(exc)) from None
    for path in settings.files:
        click.echo(f"settings: {path}")
    said = asyncio.run(tell.test(settings, account()))
    if not said:
        click.echo("No channel is configured: desktop = false and no urls in notify.toml.")
    for d in said:
        click.echo(f"{d.channel}: {'ok' if d.ok else 'not sent'}: {d.detail}")
    if said and not any(d.ok for d in said):
        raise SystemExit(1)


@notify.command("list")
@click.option("--unread", is_flag=True, help="Only those not marked read.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON list on stdout.")
@db_option
def list_(unread, limit, as_json, db):
    """The account's notifications, newest first."""
    rows = list_notifications(open_database(db), unread_only=unread, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        mark = " " if r["read"] else "*"
        click.echo(f"{mark} {r['id']:>5}  {r['at'][:16].replace('T', ' ')}  {r['title']}")
    if not rows:
        click.echo("No notifications.")


@notify.command("read")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "all_", is_flag=True, help="Mark every notification read.")
@db_option
def read(ids, all_, db):
    """Mark notifications read (by id, or --all)."""
    if bool(ids) == all_:
        raise click.UsageError("give notification ids or --all")
    n = mark_read(open_database(db), None if all_ else list(ids))
    click.echo(f"Marked {n} read.")
