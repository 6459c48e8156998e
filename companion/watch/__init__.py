"""``caselog watch``: incremental syncs of one or every account on a schedule, and a
notification when they find something (``companion.notify``).

- ``schedule``: the interval, its floor (10 minutes) and jitter;
- ``state``: the ``watch_state`` row of an account: when the watch last synced it, and
  why it stopped watching it (and when a person's act lifts that);
- ``runner``: one round of one account (source, the sync, stop rules) and the loop over
  many accounts.

Rules: at most one sync per account per interval, and never two at once for one account
(the sync is ``companion.syncing.run_sync``, as for ``caselog sync``: one lock); never more
often than every 10 minutes; what only a person can fix (a sign-in, a robot check, refused
credentials, an outage) stops that account's watching with one notification, while the
other accounts go on.
"""
