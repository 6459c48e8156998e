"""The case dossier: one self-contained HTML file for escalations (summary, the whole
thread, status history, checklist with evidence names and hashes, the current draft).

It is opened in any browser, mailed or printed, so it carries its own CSS, loads
nothing, runs nothing (a CSP meta tag forbids scripts and remote loads), and message HTML
from the portal goes through nh3 (a maintained sanitiser), never through string tricks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

import nh3
import sqlite_utils

from companion.replies import checklists, drafts, related

CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;
max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.25rem}h2{font-size:1.15rem;border-bottom:1px solid #ccd;
padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #dde;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f3f4f8}
.msg{border:1px solid #dde;border-radius:6px;margin:.75rem 0;padding:.5rem .75rem}
.msg.amazon{border-left:4px solid #ff9900}.msg.seller{border-left:4px solid #2a6fdb}
.meta{color:#555;font-size:.85rem}.body{overflow-wrap:anywhere}
.hash{font-family:ui-monospace,monospace;font-size:.8rem;word-break:break-all}
pre{white-space:pre-wrap;background:#f6f7fa;padding:.75rem;border-radius:6px}
.done{color:#177245;font-weight:bold}.open{color:#a15c00;font-weight:bold}
blockquote{margin:.25rem 0;padding-left:.5rem;border-left:3px solid #ccd;color:#333}
@media print{body{margin:0}}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}  # a remote image would be a beacon when opened


def _e(value) -> str:
    return escape("" if value is None else str(value))


def _t(value: str | None) -> str:
    """A stored UTC time as people read it (the file may travel to another time zone)."""
    if not value:
        return ""
    return value[:10] + " " + value[11:16] + " UTC" if len(value) >= 16 else value


def _size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("bytes", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _message_body(m: dict) -> str:
    if m.get("html"):
        return nh3.clean(m["html"], tags=_TAGS, url_schemes={"http", "https", "mailto"})
    return _e(m.get("text") or "").replace("\n", "<br>")


def build(db: sqlite_utils.Database, case_id: str, now: datetime | None = None) -> str:
    """The dossier as one HTML string."""
    now = now or datetime.now(UTC)
    case = db["cases"].get(case_id)
    items = checklists.refresh(db, case_id)
    draft = drafts.current(db, case_id)
    if draft is None:
        sent = list(db.query("select * from drafts where case_id = ? order by id desc limit 1",
                             [case_id]))
        draft = sent[0] if sent else None
    if draft is None:
        try:
            draft = drafts.ensure(db, case_id)
        except drafts.DraftError:
            draft = None  # a broken user template must not stop the dossier
    msgs = list(db.query("select * from messages where case_id = ? order by sent_at",
                         [case_id]))
    atts: dict[str, list] = {}
    for a in db.query("select * from attachments where case_id = ?", [case_id]):
        atts.setdefault(a["message_key"], []).append(a)
    history = list(db.query("select * from status_history where case_id = ? "
                            "order by observed_at", [case_id]))
    events = drafts.events(db, case_id)
    rel = related.find(db, case_id)

    p: list[str] = []
    w = p.append
    w("<!doctype html><html lang='en'><head><meta charset='utf-8'>")
    w(f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">")
    w("<meta name='viewport' content='width=device-width,initial-scale=1'>")
    w(f"<title>Case {_e(case_id)} dossier</title><style>{CSS}</style></head><body>")
    w(f"<h1>Case {_e(case_id)}: {_e(case['subject'])}</h1>")
    w(f"<p class='meta'>Dossier made by caselog on {now:%Y-%m-%d %H:%M} UTC.</p>")
    w("<h2>Summary</h2><table>")
    for label, value in (("Case ID", case_id), ("Subject", case["subject"]),
                         ("Status", case["status"]), ("Category", case.get("category")),
                         ("Created", _t(case.get("created_at"))),
                         ("Last Amazon reply", _t(case.get("last_amazon_reply_at")) or "No reply"),
                         ("Messages", len(msgs))):
        w(f"<tr><th scope='row'>{_e(label)}</th><td>{_e(value)}</td></tr>")
    w("</table>")

    w("<h2>Status history</h2>")
    if history:
        w("<table><tr><th>Observed</th><th>From</th><th>To</th></tr>")
        for h in history:
            w(f"<tr><td>{_e(_t(h['observed_at']))}</td><td>{_e(h['previous_status'] or '')}</td>"
              f"<td>{_e(h['status'])}</td></tr>")
        w("</table>")
    else:
        w(f"<p>No status change observed; current status {_e(case['status'])}.</p>")

    w(f"<h2>Thread ({len(msgs)} messages, oldest first)</h2>")
    for m in msgs:
        who = "Amazon" if m["sender"] == "amazon" else "Seller"
        w(f"<div class='msg {_e(m['sender'])}'><div class='meta'><strong>{who}</strong>"
          f" {_e(m.get('sender_address') or '')} · {_e(_t(m['sent_at']))}</div>")
        w(f"<div class='body'>{_message_body(m)}</div>")
        for a in atts.get(m["message_key"], []):
            w(f"<div class='meta'>Attachment: {_e(a['name'])} {_e(_size(a['size']))}</div>")
        w("</div>")

    done = sum(1 for i in items if i["done"])
    w(f"<h2>Evidence checklist ({done} of {len(items)} done)</h2>")
    if items:
        w("<table><tr><th>Done</th><th>Item</th><th>Asked / note</th><th>Evidence</th></tr>")
        for i in items:
            mark = "<span class='done'>yes</span>" if i["done"] else "<span class='open'>no</span>"
            asked = (f"<blockquote>Amazon asked: {_e(i['sentence'])}</blockquote>"
                     if i["sentence"] else "")
            note = f"<div>Note: {_e(i['note'])}</div>" if i["note"] else ""
            ev = "".join(f"<div>{_e(e['name'])} ({_e(_size(e['size']))})<br>"
                         f"<span class='hash'>sha256 {_e(e['sha256'])}</span></div>"
                         for e in i["evidence"])
            w(f"<tr><td>{mark}</td><td>{_e(i['checklist_title'])}: {_e(i['text'])}</td>"
              f"<td>{asked}{note}</td><td>{ev}</td></tr>")
        w("</table>")
    loose = list(db.query("select * from evidence where case_id = ? and item_id is null",
                          [case_id]))
    if loose:
        w("<p>Other evidence:</p><ul>")
        for e in loose:
            w(f"<li>{_e(e['name'])} ({_e(_size(e['size']))}) "
              f"<span class='hash'>sha256 {_e(e['sha256'])}</span></li>")
        w("</ul>")

    w("<h2>Draft reply</h2>")
    if draft:
        w(f"<p class='meta'>State: {_e(draft['state'])} · revision {_e(draft['revision'])}"
          f" · {_e(draft['situation'])}</p><pre>{_e(draft['body'])}</pre>")
    else:
        w("<p>No draft.</p>")
    if events:
        w("<ul>")
        for ev in events:
            w(f"<li>{_e(_t(ev['at']))}: {_e(ev['kind'].replace('_', ' '))}</li>")
        w("</ul>")
    sent = list(db.query("select * from drafts where case_id = ? and state = 'sent' "
                         "order by sent_at desc", [case_id]))
    if sent:
        w("<h2>Replies marked sent</h2>")
        for s in sent:
            if draft and s["id"] == draft["id"]:
                continue
            w(f"<p class='meta'>Marked sent {_e(_t(s['sent_at']))} · {_e(s['situation'])}</p>"
              f"<pre>{_e(s['body'])}</pre>")

    if rel:
        w("<h2>Related cases</h2><ul>")
        for r in rel:
            w(f"<li>{_e(r['case_id'])}: {_e(r['subject'])} ({_e(r['status'])}; "
              f"{_e(', '.join(r['reasons']))})</li>")
        w("</ul>")
    w("</body></html>\n")
    return "".join(p)
