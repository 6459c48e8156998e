"""``caselog export``: every stored case as JSON (the portal's truth) or one row per case
as CSV, a thin click wrapper over ``companion.capture.export`` and the cases table's rows
(``companion.queue.deadlines``). Data on stdout, errors on stderr."""

from __future__ import annotations

import json
import sys

import click

from companion.capture.export import iter_cases
from companion.cli.options import db_option, open_database
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
