"""Telling the person: store each event once, then send what is new through every
channel. Called by the watch after each sync of an account, and by ``caselog notify
test``; a sync a person started (``caselog sync``, Sync now) only stores its events
(``record_sync``), for the UI's badge and list: the person is there to see the result,
and a pop-up for what they just asked for would be noise. A round that finds many events
sends the first few one by one and the rest as one summary, so a busy morning is not
forty pop-ups; every event is stored on its own."""

from __future__ import annotations

import sqlite_utils

from companion.folders import Account
from companion.notify import channels, events, store
from companion.notify.settings import Settings

ONE_BY_ONE = 5


async def tell(db: sqlite_utils.Database, account: str, found: list[events.Event],
               settings: Settings, sync_id: int | None = None) -> list[dict]:
    """Store ``found`` (what was stored before is skipped) and send the new ones; returns
    ``[{"id", "kind", "case_id", "title", "channels": [Delivery dicts]}]``."""
    fresh = []
    for ev in found:
        nid = store.record(db, account, kind=ev.kind, key=ev.key, title=ev.title,
                           body=ev.body, case_id=ev.case_id, sync_id=sync_id)
        if nid is not None:
            fresh.append((nid, ev))
    out = []
    for nid, ev in fresh[:ONE_BY_ONE]:
        said = await channels.send(settings, ev.title, ev.body)
        store.note_channels(db, [nid], said)
        out.append({"id": nid, "kind": ev.kind, "case_id": ev.case_id, "title": ev.title,
                    "channels": [d.as_dict() for d in said]})
    rest = fresh[ONE_BY_ONE:]
    if rest:
        head = "" if account == "default" else f"[{account}] "
        title = f"{head}{len(rest)} more case updates"
        body = "\n".join(ev.title.removeprefix(head) for _, ev in rest[:30])
        said = await channels.send(settings, title, body)
        store.note_channels(db, [nid for nid, _ in rest], said)
        out += [{"id": nid, "kind": ev.kind, "case_id": ev.case_id, "title": ev.title,
                 "channels": [d.as_dict() for d in said]} for nid, ev in rest]
    return out


async def after_sync(db: sqlite_utils.Database, account: str, sync_id: int,
                     settings: Settings, acct: Account | None = None) -> list[dict]:
    """The notifications of one finished sync: its changes, and deadlines due in a day
    (by ``acct``'s reply settings)."""
    found = events.sync_events(db, account, sync_id, settings.include_text)
    found += events.deadline_events(db, account, acct=acct)
    return await tell(db, account, found, settings, sync_id)


def record_sync(db: sqlite_utils.Database, account: str, sync_id: int,
                acct: Account | None = None) -> int:
    """Store the events of a sync a person ran, sending nothing; returns how many were new.
    A later watch round finds them stored and does not send them either."""
    found = events.sync_events(db, account, sync_id, False)
    found += events.deadline_events(db, account, acct=acct)
    return sum(store.record(db, account, kind=ev.kind, key=ev.key, title=ev.title,
                            body=ev.body, case_id=ev.case_id, sync_id=sync_id) is not None
               for ev in found)


async def stopped(db: sqlite_utils.Database, account: str, state: str, message: str,
                  settings: Settings, stopped_at: str) -> list[dict]:
    """The one notification that a watch stopped watching an account, saying what to do."""
    head = "" if account == "default" else f"[{account}] "
    title = f"{head}caselog stopped watching: {_WHY.get(state, state)}"
    ev = events.Event("stopped", f"stopped:{state}:{stopped_at}", title, message)
    return await tell(db, account, [ev], settings)


_WHY = {"auth": "sign-in needed", "robot": "robot check", "outage": "Seller Central is down"}


async def test(settings: Settings, account: str) -> list[channels.Delivery]:
    """A test notification through every configured channel (nothing is stored)."""
    head = "" if account == "default" else f"[{account}] "
    return await channels.send(settings, f"{head}caselog test notification",
                               "If you can read this, caselog can reach you here.")
