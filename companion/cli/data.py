"""``caselog import`` and ``reparse``: thin click wrappers over
``companion.capture.importer`` and ``reparse``, the two other ways through the capture
pipeline (``caselog export`` reads, so it lives apart: it never loads the parsers)."""

from __future__ import annotations

import sys

import click

from companion.capture.importer import import_pages
from companion.capture.reparse import reparse as reparse_archive
from companion.cli.options import db_option, open_database, timezone_option


@click.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@timezone_option("The portal's display time zone (IANA), when the page's zone is ambiguous.")
@click.option("--max-mb", type=click.FloatRange(0.001), default=50.0, show_default=True,
              help="Refuse files larger than this.")
@db_option
def import_(files, timezone, max_mb, db):
    """Import saved case pages (HTML saved from the browser) as cases and messages.

    \b
    Usage:
        caselog import ~/Downloads/case-12345678901.html
    """
    results = import_pages(open_database(db), list(files), timezone=timezone,
                           max_bytes=int(max_mb * 1024 * 1024))
    for r in results:
        if r.error:
            click.echo(f"FAILED {r.error}", err=True)
        else:
            click.echo(f"{r.path}: case {r.case_id}, {r.messages} messages"
                       + (" (new)" if r.new_case else ""))
    if any(r.error for r in results):
        sys.exit(1)


@click.command()
@timezone_option("Time zone hint for rendered pages (IANA).")
@db_option
def reparse(timezone, db):
    """Rebuild cases, messages, attachments and status history from the capture archive.

    Use after upgrading caselog's parsers: failed cases whose captures now parse are
    recovered. The sync log is kept.

    \b
    Usage:
        caselog reparse
    """
    stats = reparse_archive(open_database(db), timezone=timezone)
    click.echo(f"Replayed {stats['captures']} captures: {stats['cases_stored']} cases "
               f"({stats['skipped']} groups skipped) in {stats['seconds']:.2f}s.")
    for err in stats["errors"][:20]:
        click.echo(f"skipped: {err}", err=True)
