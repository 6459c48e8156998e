"""The ``caselog`` command: one click group whose commands are loaded only when run.

Each command lives in a module of this package (or, for the layers companion must not
import, behind the ``caselog.commands`` entry-point group: ``serve``/``demo`` in webui,
``portal`` in fixtures). The group knows them by name and imports a module the moment its
command is asked for, so ``caselog export`` never loads Playwright and ``caselog --help``
loads neither Flask nor the browser.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points

import click

from companion import __version__

# name -> "module:attribute". Adding a command is one line here.
COMMANDS = {
    "sync": "companion.cli.sync:sync",
    "login": "companion.cli.login:login",
    "export": "companion.cli.data:export",
    "import": "companion.cli.data:import_",
    "reparse": "companion.cli.data:reparse",
    "dossier": "companion.cli.replies:dossier",
    "checklist": "companion.cli.replies:checklist",
    "draft": "companion.cli.replies:draft",
    "reminders": "companion.cli.replies:reminders_cmd",
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
    "doctor": "Check the portal against PORTAL.md (a redacted report).",
    "serve": "Serve the local web UI on 127.0.0.1.",
    "demo": "Simulated portal, sign-in, sync and UI in one step.",
    "portal": "Run the simulated Seller Central.",
}


def _load(target: str) -> click.Command:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


class LazyGroup(click.Group):
    """Commands resolved by name on first use; plugins from the entry-point group."""

    def _plugins(self) -> dict:
        return {ep.name: ep for ep in entry_points(group="caselog.commands")}

    def list_commands(self, ctx):
        return sorted(set(COMMANDS) | set(self._plugins()))

    def get_command(self, ctx, name):
        if name in COMMANDS:
            return _load(COMMANDS[name])
        plugin = self._plugins().get(name)
        return plugin.load() if plugin else None

    def format_commands(self, ctx, formatter):
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="caselog")
def main():
    """caselog: your Seller Central Case Log, on your own machine.

    \b
    Usage:
        caselog demo                      # simulated portal, sync and UI in one step
        caselog login --portal URL        # sign in once in a visible browser
        caselog sync --portal URL         # capture new and changed cases
        caselog serve                     # open the local UI
    """
    # Everything caselog writes (database, captures, sessions, logs) is the seller's own.
    os.umask(0o077)
