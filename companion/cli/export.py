"""``caselog export``: every stored case as JSON (the portal's truth) or one row per case
as CSV, a thin click wrapper over ``companion.capture.export`` and the cases table's rows
(``companion.queue.deadlines``). Data on stdout (UTF-8 bytes whatever the console) or
a file, errors on stderr."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import click

from companion.capture.export import iter_cases
from companion.cli.options import db_option, open_database
from companion.folders import open_private
from companion.queue import deadlines as caselist
from companion.read.cases import matching_ids
from companion.read.queries import utc_now


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
        out.write('{"cases": [')
        for i, case in enumerate(iter_cases(database, list(case_ids) or None)):
            out.write((",\n" if i else "\n") + json.dumps(case, ensure_ascii=False))
        out.write("\n]}\n")


def _export_csv(database, case_ids: list[str], out) -> None:
    """Newest case first, like the JSON; ``companion.queue.deadlines`` makes the rows."""
    ids = matching_ids(database, {})
    if case_ids:
        wanted = set(case_ids)
        ids = [i for i in ids if i in wanted]
    caselist.write(out, caselist.rows(database, ids, utc_now()))
