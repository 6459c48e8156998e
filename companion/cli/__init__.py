"""The ``caselog`` command: one click group. Commands stay thin and call library code.

Commands that live in layers companion must not import (``serve``/``demo`` in webui,
``portal`` in fixtures) are found through the ``caselog.commands`` entry-point group.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import click

from companion import __version__


class PluginGroup(click.Group):
    """A click group that also lists commands registered as entry points, loaded lazily
    so that ``caselog --help`` does not import Flask or the portal."""

    def _plugins(self):
        return {ep.name: ep for ep in entry_points(group="caselog.commands")}

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is None and name in self._plugins():
            cmd = self._plugins()[name].load()
        return cmd


@click.group(cls=PluginGroup)
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


# Core command modules: each exposes COMMANDS, a list of click commands. Adding a module
# here is the only change the group needs.
COMMAND_MODULES = ("companion.cli.sync", "companion.cli.replies", "companion.cli.login")


def _register_core_commands():
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside the module: surface it
                raise
            continue  # module not written yet (bootstrap)
        for command in module.COMMANDS:
            main.add_command(command)


_register_core_commands()
