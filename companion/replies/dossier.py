"""The case dossier: one self-contained HTML file for escalations (summary, status
history, Amazon's repeated requests, the whole thread, checklist, each evidence file
once with its hash, the replies sent from caselog and the next draft). Statuses, draft
states and situations are in words (``companion.read.labels``, ``drafts.*_WORDS``).

It is opened in any browser, mailed or printed, so it carries its own CSS, loads
nothing, runs nothing (a CSP meta tag forbids scripts and remote loads), and message HTML
from the portal goes through the UI's own policy (``companion.read.safe_html``: nh3, no
images), never through string tricks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

import sqlite_utils

from companion.read.labels import TRANSFERRED, status_label
from companion.read.safe_html import message_html
from companion.read.thread import present
from companion.replies import checklists, drafts, related, repeats
from companion.replies import sent as sent_mod

CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;
max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.25rem}h2{font-size:1.15rem;border-bottom:1px solid #ccd;
padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #dde;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f3f4f8}
.msg{border:1px solid #dde;border-radius:6px;margin:.75rem 0;padding:.5rem .75rem}
.msg.amazon{border-left:4px solid #ff9900}.msg.seller{border-left:4px solid #2a6fdb}
.msg.chat,.msg.phone{border-style:dashed}.channel{font-weight:bold;text-transform:uppercase;
font-size:.75rem;letter-spacing:.04em}.turns{list-style:none;padding:0;margin:.25rem 0}
.turns li{margin:.15rem 0}
.meta{color:#555;font-size:.85rem}.body{overflow-wrap:anywhere}
.hash{font-family:ui-monospace,monospace;font-size:.8rem;word-break:break-all}
pre{white-space:pre-wrap;background:#f6f7fa;padding:.75rem;border-radius:6px}
.done{color:#177245;font-weight:bold}.open{color:#a15c00;font-weight:bold}
blockquote{margin:.25rem 0;padding-left:.5rem;border-left:3px solid #ccd;color:#333}
@media print{body{margin:0}}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def esc(value) -> str:
    return escape("" if value is None else str(value))


def utc_words(value: str | None) -> str:
    """A stored UTC time as people read it (the file may travel to another time zone)."""
    if not value:
        return ""
    return value[:10] + " " + value[11:16] + " UTC" if len(value) >= 16 else value


def size_words(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("bytes", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


# The short names the sections below use; the new-case dossier shares the long ones.
_e, _t, _size = esc, utc_words, size_words


def _next_draft(db, case_id: str) -> dict | None:
    """The next draft: the current one, else the one a page would show (computed, not
    stored: a download writes nothing); None when there is none or it is empty (a sent
    answer waiting for Amazon has no next draft)."""
    draft = drafts.current(db, case_id)
    if draft is None:
        try:
            draft = drafts.preview(db, case_id)
        except drafts.DraftError:
            draft = None  # a broken user template must not stop the dossier
    return draft if draft and (draft.get("body") or "").strip() else None


def _head(case_id: str, case: dict, msgs: list, now: datetime) -> list[str]:
    p = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
         f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">",
         "<meta name='viewport' content='width=device-width,initial-scale=1'>",
         f"<title>Case {_e(case_id)} dossier</title><style>{CSS}</style></head><body>",
         f"<h1>Case {_e(case_id)}: {_e(case['subject'])}</h1>",
         f"<p class='meta'>Dossier made by caselog on {now:%Y-%m-%d %H:%M} UTC.</p>",
         "<h2>Summary</h2><table>"]
    transfer = [(label, case.get(key)) for key, label in
                (("continued_in", "Continued in case"), ("continues", "Continues case"))
                if case.get(key)]
    for label, value in (("Case ID", case_id), ("Subject", case["subject"]),
                         ("Status", status_label(case["status"])), *transfer,
                         ("Category", case.get("category")),
                         ("Created", _t(case.get("created_at"))),
                         ("Last Amazon reply", _t(case.get("last_amazon_reply_at")) or "No reply"),
                         ("Messages", len(msgs))):
        p.append(f"<tr><th scope='row'>{_e(label)}</th><td>{_e(value)}</td></tr>")
    p.append("</table>")
    return p


def _history(db, case_id: str, case: dict) -> list[str]:
    history = list(db.query("select * from status_history where case_id = ? "
                            "order by observed_at", [case_id]))
    if not history:
        return ["<h2>Status history</h2>",
                f"<p>No status change observed; current status "
                f"{_e(status_label(case['status']))}.</p>"]
    p = ["<h2>Status history</h2>", "<table><tr><th>Observed</th><th>From</th><th>To</th></tr>"]
    for h in history:
        before = status_label(h["previous_status"]) if h["previous_status"] else ""
        p.append(f"<tr><td>{_e(_t(h['observed_at']))}</td><td>{_e(before)}"
                 f"</td><td>{_e(status_label(h['status']))}</td></tr>")
    p.append("</table>")
    return p


def _thread(db, case_id: str, msgs: list) -> list[str]:
    atts: dict[str, list] = {}
    for a in db.query("select * from attachments where case_id = ?", [case_id]):
        atts.setdefault(a["message_key"], []).append(a)
    p = [f"<h2>Thread ({len(msgs)} messages, oldest first)</h2>"]
    for m in map(present, msgs):
        who = "Amazon" if m["sender"] == "amazon" else "Seller"
        channel = (f"<span class='channel'>{_e(m['channel_label'])}</span> "
                   if m["channel_label"] else "")
        p.append(f"<div class='msg {_e(m['sender'])} {_e(m['channel'])}'><div class='meta'>"
                 f"{channel}<strong>{who}</strong>"
                 f" {_e(m.get('sender_address') or '')} · {_e(_t(m['sent_at']))}</div>")
        p.append(_body(m))
        for a in atts.get(m["message_key"], []):
            p.append(f"<div class='meta'>Attachment: {_e(a['name'])} {_e(_size(a['size']))}</div>")
        p.append("</div>")
    return p


def _body(m: dict) -> str:
    """A chat as its turns, call notes as Amazon's notes, an e-mail as its HTML through
    the one policy the UI uses too (no <img>, nothing that loads or runs)."""
    if m["turns"]:
        turns = "".join(
            f"<li>{_e(_t(t['at'])[11:] + ' ' if t['at'] else '')}"
            f"{'<strong>' + _e(t['name']) + ':</strong> ' if t['name'] else ''}"
            f"{_e(t['text'])}</li>" for t in m["turns"])
        return f"<ol class='turns body'>{turns}</ol>"
    notes = "<div class='meta'>Amazon's notes of the call</div>" if m["channel"] == "phone" else ""
    return f"{notes}<div class='body'>{message_html(m)}</div>"


def _files(db, case_id: str, items: list[dict]) -> tuple[dict[str, int], list[str]]:
    """Every file attached as evidence, each named once (by content: the same file
    attached to two items is one file), numbered; the checklist refers to the numbers."""
    rows = list(db.query("select * from evidence where case_id = ? order by id", [case_id]))
    number: dict[str, int] = {}
    uses: dict[str, list[str]] = {}
    texts = {i["id"]: f"{i['checklist_title']}: {i['text']}" for i in items if i.get("id")}
    first: dict[str, dict] = {}
    for e in rows:
        number.setdefault(e["sha256"], len(number) + 1)
        first.setdefault(e["sha256"], e)
        if e["item_id"] in texts:
            uses.setdefault(e["sha256"], []).append(texts[e["item_id"]])
    if not first:
        return number, []
    p = ["<h2>Evidence files</h2>",
         "<table><tr><th>#</th><th>File</th><th>Size</th><th>sha256</th><th>For</th></tr>"]
    for sha, e in first.items():
        p.append(f"<tr><td id='f{number[sha]}'>{number[sha]}</td><td>{_e(e['name'])}</td>"
                 f"<td>{_e(_size(e['size']))}</td><td class='hash'>{_e(sha)}</td>"
                 f"<td>{_e('; '.join(dict.fromkeys(uses.get(sha, []))) or 'the case')}</td></tr>")
    p.append("</table>")
    return number, p


def _checklist(db, case_id: str) -> list[str]:
    items = checklists.view(db, case_id)
    number, files = _files(db, case_id, items)
    done = sum(1 for i in items if i["done"])
    p = [f"<h2>Evidence checklist ({done} of {len(items)} done)</h2>"]
    if items:
        p.append("<table><tr><th>Done</th><th>Item</th><th>Asked / note</th>"
                 "<th>Evidence</th></tr>")
        for i in items:
            mark = "<span class='done'>yes</span>" if i["done"] else "<span class='open'>no</span>"
            asked = (f"<blockquote>Amazon asked: {_e(i['sentence'])}</blockquote>"
                     if i["sentence"] else "")
            note = f"<div>Note: {_e(i['note'])}</div>" if i["note"] else ""
            refs = sorted({number[e["sha256"]] for e in i["evidence"] if e["sha256"] in number})
            ev = ", ".join(f"<a href='#f{n}'>file {n}</a>" for n in refs)
            p.append(f"<tr><td>{mark}</td><td>{_e(i['checklist_title'])}: {_e(i['text'])}</td>"
                     f"<td>{asked}{note}</td><td>{ev}</td></tr>")
        p.append("</table>")
    return p + files


def _repeats(db, case_id: str, now: datetime) -> list[str]:
    """Amazon asking again: the escalation's evidence (``companion.replies.repeats``)."""
    found = repeats.for_case(db, case_id, now=now)
    if not found:
        return []
    return (["<h2>Repeated requests</h2><ul>"]
            + [f"<li>{_e(r['sentence'])}.</li>" for r in found] + ["</ul>"])


def _drafts(db, case_id: str, msgs: list[dict]) -> list[str]:
    """Replies marked sent (in words, with their text), then the next draft when there
    is one with any text."""
    p = []
    copies = sent_mod.copies(db, case_id)
    merged = sent_mod.merge(msgs, copies)
    when = {m["message_key"]: m["sent_at"] for m in msgs}
    if copies:
        p.append("<h2>Replies sent from caselog</h2>")
    for c in copies:
        p.append(f"<p class='meta'>Marked sent {_e(_t(c['sent_at']))} · "
                 f"{_e(drafts.SITUATION_WORDS.get(c['situation'], c['situation']))}</p>")
        if c["id"] in merged:  # its text is in the thread above: said once
            p.append(f"<p>In Seller Central's thread: your message of "
                     f"{_e(_t(when[merged[c['id']]]))}.</p>")
        else:
            p.append(f"<p class='meta'>Not in Seller Central's thread at the last sync."
                     f"</p><pre>{_e(c['body'])}</pre>")
    draft = _next_draft(db, case_id)
    if draft:
        p.append("<h2>Next draft</h2>")
        p.append(f"<p class='meta'>{_e(drafts.STATE_WORDS.get(draft['state'], draft['state']))}"
                 f" · revision {_e(draft['revision'])} · "
                 f"{_e(drafts.SITUATION_WORDS.get(draft['situation'], draft['situation']))}"
                 f"</p><pre>{_e(draft['body'])}</pre>")
    elif db["cases"].get(case_id)["status"] in TRANSFERRED:
        p.append(f"<h2>Next draft</h2><p>No draft: "
                 f"{_e(drafts.transfer_reason(db['cases'].get(case_id)))}</p>")
    events = drafts.events(db, case_id)
    if events:
        p.append("<h2>What you did in caselog</h2><ul>")
        p += [f"<li>{_e(_t(ev['at']))}: {_e(drafts.EVENT_WORDS.get(ev['kind'], ev['kind']))}"
              "</li>" for ev in reversed(events)]
        p.append("</ul>")
    return p


def _related(db, case_id: str) -> list[str]:
    rel = related.for_case(db, case_id)
    if not rel:
        return []
    return (["<h2>Related cases</h2><ul>"]
            + [f"<li>{_e(r['case_id'])}: {_e(r['subject'] or 'not synced yet')} "
               f"({_e(status_label(r['status']) if r['status'] else 'not synced yet')}; "
               f"{_e(', '.join(r['reasons']))})</li>" for r in rel]
            + ["</ul>"])


def _prepared(db, case_id: str) -> list[str]:
    """The new case as it was prepared in caselog before the seller opened it."""
    p = []
    for prep in db.query("select * from prepared_cases where case_id = ? and "
                         "state = 'attached' order by id", [case_id]):
        p += ["<h2>Prepared in caselog before the case was opened</h2>",
              f"<p class='meta'>Topic: {_e(prep['topic_title'])} · prepared "
              f"{_e(_t(prep['created_at']))} · attached {_e(_t(prep['attached_at']))} · "
              f"revision {_e(prep['revision'])}</p>",
              f"<p><strong>Subject:</strong> {_e(prep['subject'])}</p>",
              f"<pre>{_e(prep['description'])}</pre>"]
    return p


def build(db: sqlite_utils.Database, case_id: str, now: datetime | None = None) -> str:
    """The dossier as one HTML string; reading it writes nothing to the database."""
    now = now or datetime.now(UTC)
    case = db["cases"].get(case_id)
    msgs = list(db.query("select * from messages where case_id = ? order by sent_at",
                         [case_id]))
    parts = (_head(case_id, case, msgs, now) + _history(db, case_id, case)
             + _repeats(db, case_id, now) + _thread(db, case_id, msgs)
             + _prepared(db, case_id) + _checklist(db, case_id)
             + _drafts(db, case_id, msgs) + _related(db, case_id) + ["</body></html>\n"])
    return "".join(parts)
