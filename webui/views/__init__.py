"""One blueprint per page: home, timeline, cases (table and case page), sync, search, and
the documented-replies actions (``replies``)."""
