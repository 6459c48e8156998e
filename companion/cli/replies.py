"""``caselog dossier``, ``checklist``, ``draft`` and ``reminders``: thin click wrappers over
the documented-replies modules. Data on stdout, errors on stderr as ClickException."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from companion.cli.options import db_option, open_database
from companion.queue import derive
from companion.read.labels import status_label
from companion.replies import checklists, drafts, evidence, reminders
from companion.replies.dossier import build as build_dossier


def _open(db: str | None, case_id: str | None = None):
    return open_database(db, create=False, case_id=case_id)


@click.command()
@click.argument("case_id")
@db_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: caselog-dossier-CASE_ID.html; '-' for stdout).")
def dossier(case_id, db, output):
    """Write one self-contained HTML file about a case, for escalations.

    It holds the summary, the whole thread, the status history, the evidence
    checklist with file names and sha256 hashes, and the current draft. No
    scripts, no remote loads: it can be mailed or printed as is.

    \b
    Usage:
        caselog dossier 12345678901
        caselog dossier 12345678901 -o ~/Desktop/case.html
        caselog dossier 12345678901 --db other.db -o - > case.html
    """
    html = build_dossier(_open(db, case_id), case_id)
    if output == "-":
        sys.stdout.write(html)
        return
    path = Path(output or f"caselog-dossier-{case_id}.html")
    path.write_text(html, encoding="utf-8")
    click.echo(str(path))


@click.command()
@click.argument("case_id")
@db_option
@click.option("--tick", "tick", type=int, multiple=True, help="Mark item ID done.")
@click.option("--untick", type=int, multiple=True, help="Mark item ID not done.")
@click.option("--attach", "attach", type=(int, click.Path(exists=True, dir_okay=False)),
              multiple=True, metavar="ITEM_ID FILE", help="Attach FILE to item ITEM_ID.")
def checklist(case_id, db, tick, untick, attach):
    """Show (and tick, or attach files to) a case's evidence checklist.

    Items come from the case's category and from what Amazon asked; those
    Amazon asked for show the sentence that asked.

    \b
    Usage:
        caselog checklist 12345678901
        caselog checklist 12345678901 --tick 4 --tick 5
        caselog checklist 12345678901 --attach 4 invoice-2026-03.pdf
    """
    conn = _open(db, case_id)
    case = conn["cases"].get(case_id)
    click.echo(f"Case {case_id} ({status_label(case['status'])}): {case['subject']}")
    checklists.refresh(conn, case_id)
    try:
        for item_id in tick:
            checklists.set_done(conn, case_id, item_id, True)
        for item_id in untick:
            checklists.set_done(conn, case_id, item_id, False)
        for item_id, path in attach:
            row = evidence.attach(conn, case_id, path, item_id=item_id)
            click.echo(f"attached {row['name']} ({row['size']} bytes, sha256 {row['sha256']})",
                       err=True)
    except (checklists.ChecklistError, evidence.EvidenceError) as exc:
        raise click.ClickException(str(exc)) from exc
    items = checklists.items(conn, case_id)
    title, quoted = None, None
    for i in items:
        if i["checklist_title"] != title:
            title = i["checklist_title"]
            said = {j["sentence"] for j in items if j["checklist_title"] == title}
            quoted = said.pop() if len(said) == 1 else None
            click.echo(f"\n{title}")
            if quoted:
                click.echo(f"  Amazon asked: \"{quoted}\"")
        click.echo(f"  [{'x' if i['done'] else ' '}] {i['id']:>4}  {i['text']}")
        if i["sentence"] and i["sentence"] != quoted:
            click.echo(f"          Amazon asked: \"{i['sentence']}\"")
        if i["note"]:
            click.echo(f"          Note: {i['note']}")
        for e in i["evidence"]:
            click.echo(f"          file: {e['name']} ({e['size']} bytes) sha256 {e['sha256']}")
    done = sum(i["done"] for i in items)
    click.echo(f"\n{done} of {len(items)} done")


@click.command()
@click.argument("case_id")
@db_option
@click.option("--regenerate", is_flag=True, help="Render the template again (new revision).")
@click.option("--ready", is_flag=True, help="Mark the draft ready (refused while a "
              "[placeholder] remains).")
@click.option("--sent", is_flag=True, help="Record that you sent it in Seller Central.")
def draft(case_id, db, regenerate, ready, sent):
    """Print the drafted reply for a case (generating it when there is none).

    The template follows the case's situation: Amazon asked for information,
    no answer from Amazon, closed or answered without a resolution (a reopen
    request, or a new case once it can no longer be reopened), or an
    account-health appeal. A transferred case has none: write in the case that
    continues it. Anything caselog cannot know is a [placeholder]. caselog
    never sends: copy the text into Seller Central, then record it with --sent.

    \b
    Usage:
        caselog draft 12345678901
        caselog draft 12345678901 --regenerate
        caselog draft 12345678901 --sent
    """
    conn = _open(db, case_id)
    try:
        d = drafts.ensure(conn, case_id, regenerate=regenerate)
        if ready:
            d = drafts.mark_ready(conn, case_id, d["id"])
        if sent:
            d = drafts.mark_sent(conn, case_id, d["id"])
            derive.refresh(conn, [case_id], archive=False)
        ctx = drafts.context(conn, case_id)
    except drafts.DraftError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(d["body"], nl=not d["body"].endswith("\n"))
    status = status_label(conn["cases"].get(case_id)["status"])
    click.echo(f"-- {d['situation']} draft, revision {d['revision']}, {d['state']} "
               f"(case {case_id}: {status})", err=True)
    for note in drafts.notes(ctx):
        click.echo(f"-- note: {note}", err=True)
    template, typed = drafts.split_placeholders(conn, d)
    if template or typed:
        click.echo(f"-- not ready yet: {drafts.placeholder_message(template, typed)}", err=True)


@click.command("reminders")
@db_option
def reminders_cmd(db):
    """List overdue and due follow-ups, answers and reopen windows.

    Cases waiting on you are due a few days after Amazon's last message; cases
    waiting on Amazon get a follow-up date; an Answered case can be reopened
    only within 5 days of its last message (Amazon's rule), then a new case is
    the way. Days are set per category in CASELOG_HOME/replies.toml.

    \b
    Usage:
        caselog reminders
    """
    try:
        lists = reminders.due(_open(db))
    except reminders.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    for title, key in (("Overdue", "overdue"), ("Due soon", "due")):
        click.echo(f"{title}: {len(lists[key])}")
        for r in lists[key]:
            note = f" ({r['note'].rstrip('.')})" if r.get("note") else ""
            click.echo(f"  {r['due_at'][:10]}  {r['case_id']}  {status_label(r['status'])}"
                       f"  {r['label']}{note}: {r['subject']}")


COMMANDS = [dossier, checklist, draft, reminders_cmd]
