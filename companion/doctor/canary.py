"""The cheap part of the doctor that every ``caselog sync`` runs on the first
SearchForCases answer it reads, before any case is saved (``jsonchecks.CHEAP``: the
answer's fields, its rows' fields and JSON types, epoch times, case ids, status values,
each as ``scrapers.parse.contract`` declares them for the parser too, so a conforming
answer never stops a sync: fields a portal adds, or more than 1,000 results, are fine).

Only an answer the parser *did* read is checked here. One it cannot read makes the sync
list from the rendered lobby (``companion.capture.sources.portal``); nothing of that
answer is used, so nothing can be misread. An answer the parser reads but that breaks
the contract is worse: its rows would decide which cases look unchanged (status and last
Amazon reply) and would be saved, silently wrong (a renamed ``lastAmazonReplyDate``
reads as "Amazon never replied"). So that stops the sync with ``ShapeChanged``.
"""

from __future__ import annotations

from companion.doctor.findings import Captured, Finding, Raw, run
from companion.doctor.jsonchecks import CHEAP
from scrapers.errors import ShapeChanged


def shape_problems(body: bytes) -> list[Finding]:
    """The cheap checks that fail on one SearchForCases answer (none: it conforms)."""
    return [f for f in run(Captured(search=Raw(200, body)), CHEAP) if f.failed]


def check_case_list(body: bytes, portal: str) -> None:
    """Raise ``ShapeChanged`` when a readable SearchForCases answer breaks the contract."""
    problems = shape_problems(body)
    if problems:
        raise ShapeChanged(problems, portal)
