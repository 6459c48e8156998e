"""The dossier of a prepared new case: one self-contained HTML file (topic, what Amazon
needs, subject and description, the checklist with each file's size and sha256) to keep,
mail or print before the case exists in Seller Central. It looks like a case's dossier
(``companion.replies.dossier``: the same CSS, and a CSP that loads and runs nothing);
once the case is opened and attached, that dossier shows what was prepared.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from companion.newcase import prepared
from companion.replies.dossier import CSP, CSS, esc, size_words, utc_words


def _file(e: dict) -> str:
    """One file of a prepared case, named with its size and hash (a preparation's files
    are few and each belongs to one item, so they are named in place)."""
    return (f"{esc(e['name'])} ({esc(size_words(e['size']))}) "
            f"<span class='hash'>sha256 {esc(e['sha256'])}</span>")


def _head(p: dict, now: datetime) -> list[str]:
    title = p["subject"] or p["topic_title"]
    rows = [("Topic", p["topic_title"]), ("Category", p["category"]),
            ("State", {"draft": "Draft", "ready": "Ready to open in Seller Central",
                       "attached": f"Opened as case {p['case_id']}",
                       "discarded": "Discarded"}.get(p["state"], p["state"])),
            ("Prepared", utc_words(p["created_at"])), ("Last saved", utc_words(p["updated_at"])),
            ("Revision", p["revision"])]
    return (["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">",
             "<meta name='viewport' content='width=device-width,initial-scale=1'>",
             f"<title>Prepared case: {esc(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>Prepared case: {esc(title)}</h1>",
             f"<p class='meta'>Dossier made by caselog on {now:%Y-%m-%d %H:%M} UTC. caselog "
             "never sends anything to Amazon: this is what the seller prepared.</p>",
             "<h2>Summary</h2><table>"]
            + [f"<tr><th scope='row'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows]
            + ["</table>"])


def build(db: sqlite_utils.Database, pid: int, topic: dict | None = None,
          now: datetime | None = None) -> str:
    """A prepared new case as one self-contained HTML file: topic, what Amazon needs
    (when the topic is known), subject and description, the checklist with file names
    and sha256 hashes. Reading it writes nothing."""
    now = now or datetime.now(UTC)
    p = prepared.get(db, pid)
    parts = _head(p, now)
    if topic and topic["needs"]:
        parts += ["<h2>What Amazon needs to decide it</h2><ul>"]
        parts += [f"<li>{esc(n)}</li>" for n in topic["needs"]] + ["</ul>"]
    parts += ["<h2>Subject</h2>", f"<p>{esc(p['subject'])}</p>", "<h2>Description</h2>",
              f"<pre>{esc(p['description'])}</pre>"]
    items = prepared.items(db, pid)
    parts.append(f"<h2>Evidence checklist ({sum(1 for i in items if i['done'])} of "
                 f"{len(items)} done)</h2>")
    if items:
        parts.append("<table><tr><th>Done</th><th>Item</th><th>Files</th></tr>")
        for i in items:
            mark = "<span class='done'>yes</span>" if i["done"] else "<span class='open'>no</span>"
            ev = "".join(f"<div>{_file(f)}</div>" for f in i["files"])
            parts.append(f"<tr><td>{mark}</td><td>{esc(i['text'])}</td><td>{ev}</td></tr>")
        parts.append("</table>")
    loose = [f for f in prepared.files(db, pid) if f["item_key"] is None]
    if loose:
        parts += ["<p>Other files:</p><ul>"] + [f"<li>{_file(f)}</li>" for f in loose]
        parts.append("</ul>")
    if p["state"] == "attached":
        parts.append(f"<p>The files now belong to case {esc(p['case_id'])}; its dossier "
                     "lists them.</p>")
    return "".join(parts + ["</body></html>\n"])
