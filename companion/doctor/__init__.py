"""``caselog doctor``: the contract canary. A few read-only requests to the portal, then
every expectation of PORTAL.md those answers can show, checked one by one.

- ``findings``: the vocabulary (``Finding``, ``Raw``, ``Captured``), the registry of
  named checks and the loop that runs them. Each check is a small pure function of the
  captured bytes, so it is tested from files.
- ``jsonchecks`` (SearchForCases, ViewCase), ``casechecks`` (the rendered case page),
  ``lobbychecks`` (the rendered lobby, the layout, the locale): the checks themselves,
  registered in that order; ``jsonchecks.CHEAP`` are those ``caselog sync`` runs on the
  first page it reads (``canary``).
- ``html``, ``jsonshape``: where things are on the pages; JSON as structure.
- ``privacy``: what a report may repeat of what the portal said (never the seller's
  data), ``report``: the report and the table.
- ``driver``: the thin part that talks to the portal (four requests, made once).
"""

from companion.doctor import casechecks, jsonchecks, lobbychecks  # noqa: F401  (registers)
