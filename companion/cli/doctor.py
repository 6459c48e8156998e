"""``caselog doctor``: a thin edge over ``companion.doctor``. The table (or, with
``--json``, the report) on stdout, problems on stderr; ``--report FILE`` writes the
redacted report to attach to a bug report. Exit 0 when every check matched, 1 when
something differs (or the doctor could not run), 3/4/5 as ``caselog sync`` for sign-in,
robot check and outage (``companion.exitcodes.EXIT_CODES``)."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from companion import errors
from companion.cli.options import ExitError, portal_option, timezone_option
from companion.doctor.driver import diagnose
from companion.doctor.report import table
from companion.exitcodes import exit_code

EXIT_HELP = """Exit codes:
  0  everything the captures show matches PORTAL.md
  1  something differs (the table and the report say what), or the doctor could not run
  3  sign-in needed: run `caselog login`, then the doctor again
  4  robot check: a person must pass it in `caselog login`
  5  Seller Central's case log is unavailable right now: try again later"""


@click.command(epilog="\b\n" + EXIT_HELP)
@portal_option
@click.option("--json", "as_json", is_flag=True, help="Print the report (JSON) on stdout.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write the redacted report (structure only, no case data) here.")
@timezone_option("The portal's display time zone (IANA), for shown times whose zone "
                 "abbreviation is ambiguous.")
@click.option("--timeout", type=click.FloatRange(1, 600), default=30.0, show_default=True,
              metavar="SECONDS", help="How long one request or page may take.")
def doctor(portal, as_json, report_file, timezone, timeout):
    """Check that the portal still answers as caselog expects (PORTAL.md).

    With the session saved by `caselog login`, makes a few read-only requests (one
    SearchForCases page, one rendered lobby page, ViewCase and the rendered page of the
    newest case) and checks each expectation they can show: endpoints and status codes,
    field names and JSON types, status labels, which layout, whether every shown time
    parses, case ids, and the data-testids the parsers rely on. The report holds
    structure only (keys, types, counts, labels, which checks failed): no subject,
    message, name, e-mail address or case id.

    \b
    Usage:
        caselog doctor --portal https://sellercentral.amazon.com
        caselog doctor --portal URL --report doctor.json   # attach it to a bug report
        caselog doctor --portal URL --json
    """
    try:
        report = asyncio.run(diagnose(portal, timezone=timezone, timeout=timeout))
    except Exception as exc:  # a stop, no session, no browser: the seller's words
        problem = errors.explain(exc, portal=portal, doing="run caselog doctor")
        state = "failed" if problem.state == "case" else problem.state
        if as_json:
            click.echo(json.dumps({"result": "stopped", "state": state,
                                   "message": problem.message}))
        raise ExitError(problem.message, exit_code(state)) from None
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if report_file:
        with open(report_file, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    click.echo(text if as_json else _table(report))
    if report_file and not as_json:
        click.echo(f"Report written to {report_file} (structure only: attach it to a bug "
                   "report).", err=True)
    sys.exit(report["exit_code"])


def _table(report: dict) -> str:
    return table(report)
