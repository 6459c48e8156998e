"""``caselog export``, ``import`` and ``reparse``: thin click wrappers over
``companion.capture.export``, ``importer`` and ``reparse``. Data on stdout, errors on
stderr."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import click

from companion.cli.options import db_option, open_database, timezone_option
from companion.folders import open_private


@contextlib.contextmanager
def _destination(output: str | None, bom: bool):
    """Where the export goes, in UTF-8 whatever the console's code page (a Windows console
    is cp1252 or similar, which cannot hold most sellers' case text): a file (owner-only,
    it holds the seller's cases) or stdout's bytes. No newline translation either, so a
    CSV's rows end in the ``\r\n`` the csv module writes, not ``\r\r\n``; ``bom`` starts
    the text with the byte-order mark that tells Excel it is UTF-8."""
    encoding = "utf-8-sig" if bom else "utf-8"
    if output and output != "-":
        with open_private(Path(output), "w", encoding=encoding, newline="") as fh:
            yield fh
        return
    sys.stdout.flush()
    out = io.TextIOWrapper(sys.stdout.buffer, encoding=encoding, newline="")
    try:
        yield out
    finally:
        out.flush()
        out.detach()  # stdout itself stays open for whatever prints next


@click.command()
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default=None,
              help="json (the default): every case with its messages (the portal's "
              "truth); csv: one row per case, for a spreadsheet.")
@click.option("--case", "case_ids", multiple=True, help="Only these case ids (repeatable).")
@click.option("--output", "-o", metavar="FILE",
              help="Write to FILE (readable by you only) instead of stdout; UTF-8 either way.")
@click.option("--excel", is_flag=True,
              help="CSV for Excel: starts with a byte-order mark so Excel reads it as UTF-8 "
              "(implies --format csv).")
@db_option
def export(fmt, case_ids, output, excel, db):
    """Print every stored case with its messages as JSON (newest case first), or one row
    per case as CSV (id, status, subject, category, created, last Amazon reply, last
    message, next deadline and what it is for, evidence progress). The text is UTF-8
    whatever the console's code page.

    Cases the portal no longer lists are included. Replies marked sent in caselog are
    not messages: the export is what Seller Central holds.

    \b
    Usage:
        caselog export > cases.json
        caselog export --case 12345678901
        caselog export --format csv > cases.csv
        caselog export --excel --output cases.csv    # opens in Excel with every accent
    """
    if excel and fmt == "json":
        raise click.UsageError("--excel is a CSV for Excel; leave out --format json")
    fmt = "csv" if excel else (fmt or "json")
    database = open_database(db, create=False)
    with _destination(output, bom=excel) as out:
        if fmt == "csv":
            _export_csv(database, list(case_ids), out)
            return
        from companion.capture.export import iter_cases

        out.write('{"cases": [')
        for i, case in enumerate(iter_cases(database, list(case_ids) or None)):
            out.write((",\n" if i else "\n") + json.dumps(case, ensure_ascii=False))
        out.write("\n]}\n")


def _export_csv(database, case_ids: list[str], out) -> None:
    """Newest case first, like the JSON; ``companion.queue.deadlines`` makes the rows."""
    from companion.queue import deadlines as caselist
    from companion.read.cases import matching_ids
    from companion.read.queries import utc_now

    ids = matching_ids(database, {})
    if case_ids:
        wanted = set(case_ids)
        ids = [i for i in ids if i in wanted]
    caselist.write(out, caselist.rows(database, ids, utc_now()))


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
    from companion.capture.importer import import_pages

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
    from companion.capture.reparse import reparse as run

    stats = run(open_database(db), timezone=timezone)
    click.echo(f"Replayed {stats['captures']} captures: {stats['cases_stored']} cases "
               f"({stats['skipped']} groups skipped) in {stats['seconds']:.2f}s.")
    for err in stats["errors"][:20]:
        click.echo(f"skipped: {err}", err=True)
