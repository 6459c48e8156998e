"""``caselog export``, ``import`` and ``reparse``: thin click wrappers over
``companion.capture.export``, ``importer`` and ``reparse``. Data on stdout, errors on
stderr."""

from __future__ import annotations

import json
import sys

import click

from companion.capture.export import iter_cases
from companion.capture.importer import import_pages
from companion.capture.reparse import reparse as reparse_archive
from companion.cli.options import db_option, open_database, timezone_option
from companion.queue import deadlines as caselist
from companion.read.cases import matching_ids
from companion.read.queries import utc_now


@click.command()
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json",
              show_default=True, help="json: every case with its messages (the portal's "
              "truth); csv: one row per case, for a spreadsheet.")
@click.option("--case", "case_ids", multiple=True, help="Only these case ids (repeatable).")
@db_option
def export(fmt, case_ids, db):
    """Print every stored case with its messages as JSON (newest case first), or one row
    per case as CSV (id, status, subject, category, created, last Amazon reply, last
    message, next deadline and what it is for, evidence progress).

    Cases the portal no longer lists are included. Replies marked sent in caselog are
    not messages: the export is what Seller Central holds.

    \b
    Usage:
        caselog export > cases.json
        caselog export --case 12345678901
        caselog export --format csv > cases.csv
    """
    database = open_database(db, create=False)
    if fmt == "csv":
        _export_csv(database, list(case_ids))
        return
    out = sys.stdout
    out.write('{"cases": [')
    for i, case in enumerate(iter_cases(database, list(case_ids) or None)):
        out.write((",\n" if i else "\n") + json.dumps(case, ensure_ascii=False))
    out.write("\n]}\n")


def _export_csv(database, case_ids: list[str]) -> None:
    """Newest case first, like the JSON; ``companion.queue.deadlines`` makes the rows."""
    ids = matching_ids(database, {})
    if case_ids:
        wanted = set(case_ids)
        ids = [i for i in ids if i in wanted]
    caselist.write(sys.stdout, caselist.rows(database, ids, utc_now()))


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
