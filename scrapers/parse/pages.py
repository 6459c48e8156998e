"""Pure parsers for the portal's rendered pages (PORTAL.md sections 2-3), live DOM
snapshots or a browser's "Save page as": the case page (``casepage``) and the lobby
(``lobby``), on the shared helpers of ``dom``. This module is their public face.

Elements are found by tag, `data-testid`, `kat-*` custom element, attribute or label,
never by class, with one exception the contract names: the `view-case` token of the
case page's container. Labels are read in en_US, en_GB and de_DE at once. Structure the
contract promises but the page lacks raises `LayoutError` saying which case and what was
expected; the robot check, the sign-in form, the outage and the 404 page raise their own
situations (scrapers/errors.py). Pages over ``limits.MAX_CAPTURE_BYTES`` raise
`TooLarge`; nesting past ``limits.MAX_HTML_DEPTH`` is flattened before parsing.
"""

from __future__ import annotations

from scrapers.parse.casepage import parse_case_page
from scrapers.parse.dom import check_special_page, detect_locale
from scrapers.parse.lobby import parse_lobby

__all__ = ["parse_case_page", "parse_lobby", "check_special_page", "detect_locale"]
