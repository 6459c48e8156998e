"""The ``caselog`` command: one click group whose commands are loaded only when run.

Each command lives in a module of this package (or, for the layers companion must not
import, behind the ``caselog.commands`` entry-point group: ``serve``/``demo`` in webui,
``portal`` in fixtures). The group knows them by name and imports a module the moment its
command is asked for, so ``caselog export`` never loads Playwright and ``caselog --help``
loads neither Flask nor the browser.

Every command, whoever wrote it, takes ``--account NAME`` (or ``CASELOG_ACCOUNT``): the
group adds the option to each command as it loads it (:func:`with_account`), an eager one
whose callback chooses the account before any other option is read, so every path the
command then asks ``companion.folders`` for is that account's. No command declares it.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib.metadata import entry_points

import click

from companion import __version__

# name -> "module:attribute". Adding a command is one line here.
COMMANDS = {
    "sync": "companion.cli.sync:sync",
    "login": "companion.cli.login:login",
    "export": "companion.cli.export:export",
    "import": "companion.cli.data:import_",
    "reparse": "companion.cli.data:reparse",
    "dossier": "companion.cli.replies:dossier",
    "checklist": "companion.cli.replies:checklist",
    "draft": "companion.cli.replies:draft",
    "reminders": "companion.cli.replies:reminders_cmd",
    "accounts": "companion.cli.accounts:accounts",
    "watch": "companion.cli.watch:watch",
    "notify": "companion.cli.notify:notify",
    "doctor": "companion.cli.doctor:doctor",
}
# One-line help for `caselog --help`, so listing commands imports none of them.
SUMMARIES = {
    "sync": "Capture new and changed cases into the local database.",
    "login": "Sign in once and save the session for later syncs.",
    "export": "Print every stored case with its messages (JSON).",
    "import": "Import saved case pages (HTML) as cases and messages.",
    "reparse": "Rebuild every record from the capture archive.",
    "dossier": "Write one self-contained HTML file about a case.",
    "checklist": "Show (and tick, or attach files to) a case's evidence checklist.",
    "draft": "Print the drafted reply for a case.",
    "reminders": "List overdue and due follow-ups and answers.",
    "accounts": "Add, list and remove seller accounts (each its own folder).",
    "watch": "Sync on a schedule and notify when Amazon answers.",
    "notify": "Send a test notification; list and mark notifications read.",
    "doctor": "Check the portal against PORTAL.md (a redacted report).",
    "serve": "Serve the local web UI on 127.0.0.1.",
    "demo": "Simulated portal, sign-in, sync and UI in one step.",
    "portal": "Run the simulated Seller Central.",
}


def _load(target: str) -> click.Command:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def choose_account(ctx, param, value):
    """``--account NAME``: an unknown name is a usage error that lists the known ones;
    a known one becomes this process's account (``companion.folders.select_account``)."""
    if not value:
        return None
    # The account registry brings sqlite-utils: loaded when --account is given, so that
    # `caselog --help` and a command's own --help stay quick.
    from companion.accounts import AccountError, get
    from companion.folders import UnknownAccount, select_account

    try:
        get(value)
    except (UnknownAccount, AccountError) as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    select_account(value)
    return value


ACCOUNT_HELP = ("The seller account to act on (default: CASELOG_ACCOUNT, else 'default', "
                "which is CASELOG_HOME itself). See `caselog accounts list`.")


def account_option() -> click.Option:
    return click.Option(["--account"], metavar="NAME", envvar="CASELOG_ACCOUNT",
                        is_eager=True, expose_value=False, callback=choose_account,
                        help=ACCOUNT_HELP)


def with_account(cmd: click.Command | None) -> click.Command | None:
    """``cmd`` (and a group's subcommands) with the ``--account`` option, once; a command
    that declares its own ``--account`` (``watch`` takes several) keeps its own."""
    if cmd is None:
        return None
    if not any("--account" in p.opts for p in cmd.params):
        cmd.params.append(account_option())
    for sub in getattr(cmd, "commands", {}).values():
        with_account(sub)
    return cmd


class LazyGroup(click.Group):
    """Commands resolved by name on first use; plugins from the entry-point group."""

    def _plugins(self) -> dict:
        return {ep.name: ep for ep in entry_points(group="caselog.commands")}

    def list_commands(self, ctx):
        return sorted(set(COMMANDS) | set(self._plugins()))

    def get_command(self, ctx, name):
        if name in COMMANDS:
            return with_account(_load(COMMANDS[name]))
        plugin = self._plugins().get(name)
        return with_account(plugin.load()) if plugin else None

    def format_commands(self, ctx, formatter):
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="caselog")
@click.option("--account", metavar="NAME", envvar="CASELOG_ACCOUNT", is_eager=True,
              expose_value=False, callback=choose_account, help=ACCOUNT_HELP)
def main():
    """caselog: your Seller Central Case Log, on your own machine.

    \b
    Usage:
        caselog demo                      # simulated portal, sync and UI in one step
        caselog login --portal URL        # sign in once in a visible browser
        caselog sync --portal URL         # capture new and changed cases
        caselog serve                     # open the local UI
        caselog accounts add shop2 --portal URL   # a second seller account
        caselog sync --account shop2      # any command, for that account
        caselog watch --all --every 30m   # sync every account, notify on replies
    """
    # Everything caselog writes (database, captures, sessions, logs) is the seller's own.
    os.umask(0o077)
    printable_console()


def printable_console() -> None:
    """A console in a legacy code page (cp1252 and the like: Windows with output
    redirected) shows a character it lacks as '?' instead of stopping the command with
    UnicodeEncodeError halfway through (stderr already escapes such characters);
    ``caselog export`` writes UTF-8 bytes itself."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    if encoding not in ("utf8", "utf8sig") and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
