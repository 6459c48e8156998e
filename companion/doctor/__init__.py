"""``caselog doctor``: the contract canary. A few read-only requests to the portal, then
every expectation of PORTAL.md those answers can show, checked one by one.

- ``findings``: the vocabulary (``Finding``, ``Raw``, ``Captured``), the registry of
  named checks and the loop that runs them. Each check is a small pure function of the
  captured bytes, so it is tested from files.
- ``jsonchecks`` (SearchForCases, ViewCase): the answers against the shapes the JSON
  parsers read, declared once in ``scrapers.parse.contract``; ``jsonchecks.CHEAP`` are
  those ``caselog sync`` runs on the first page it reads (``canary``).
- ``casechecks`` (the rendered case page), ``lobbychecks`` (the rendered lobby): caselog's
  own page parsers read the pages, and what they read is compared with the JSON of the
  same cases; registered after the JSON checks.
- ``jsonshape``: JSON as structure.
- ``privacy``: what a report may repeat of what the portal said (never the seller's
  data), ``report``: the report and the table.
- ``driver``: the thin part that talks to the portal (four requests, made once).
"""

from companion.doctor import casechecks, jsonchecks, lobbychecks  # noqa: F401  (registers)
