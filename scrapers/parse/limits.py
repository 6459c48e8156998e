"""The sizes, depths and ranges the parsers accept, in one place, and why.

Every parser checks its input against these before the costly work, so that one odd or
hostile capture costs seconds and a bounded amount of memory, then fails with a
``TooLarge`` or ``LayoutError`` naming the limit, never a crash or an endless parse.
"""

from __future__ import annotations

from datetime import UTC, datetime

# One capture (a rendered page, a saved page, a JSON answer). The contract's largest
# page is 200 messages of 50 KB (10 MB); a saved page adds its scripts and styles.
MAX_CAPTURE_BYTES = 32 * 1024 * 1024
# One message's HTML (the contract's messages go up to 50 KB).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# Elements nested deeper than this are flattened before parsing (scrapers.parse.nesting);
# browsers stop at 512, real pages and mails stay far below 100.
MAX_HTML_DEPTH = 256
# JSON arrays and objects nested deeper than this are refused before decoding; the
# contract's answers nest 4 deep.
MAX_JSON_DEPTH = 32
# Times the portal can mean: epoch seconds (or milliseconds) from 1990 to 2100.
EPOCH_MIN = datetime(1990, 1, 1, tzinfo=UTC).timestamp()
EPOCH_MAX = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
YEAR_MIN, YEAR_MAX = 1990, 2100
# Strings a record holds: ids, tokens, labels, names (a message body is bounded above).
MAX_ID_CHARS = 200
MAX_TOKEN_CHARS = 4096
