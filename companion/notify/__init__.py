"""Notifications: what a watched sync found (a new Amazon reply, a status change, a
transfer, an answer due within a day) and why a watch stopped, told to the person once
per event, and stored so the UI can show a badge and a list.

- ``settings``: ``notify.toml`` (every account's, and an account's own) and what it says;
- ``events``: the events of one sync (from its ``changes`` rows) and the deadlines due;
- ``store``: the ``notifications`` table: record once per event, list, count, mark read;
- ``channels``: the desktop (``desktop-notifier``, only where there is a desktop session)
  and every channel ``apprise`` knows (only the URLs the person configured).

Messages hold the case id, its subject and what changed, never the message's text unless
the settings ask for it (``include_text``); everything passes ``companion.redact``.
A UI calls :func:`list_notifications`, :func:`unread_count` and :func:`mark_read` on an
account's database (``companion.accounts.open_account_db``).
"""

from companion.notify.store import list_notifications, mark_read, unread_count

__all__ = ["list_notifications", "mark_read", "unread_count"]
