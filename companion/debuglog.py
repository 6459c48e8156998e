"""The debug log: raw library text (tracebacks, what a library said) goes only here, to
``CASELOG_HOME/logs/debug.log`` (owner-only, redacted too), for a developer to read; a
seller reads the words of ``companion.errors`` instead."""

from __future__ import annotations

import os
import traceback
from datetime import UTC, datetime

from companion.folders import logs_dir, open_private
from companion.redact import redact


def debug_log(exc: BaseException | None, context: str = "") -> str | None:
    """Append ``context`` and the redacted traceback to ``CASELOG_HOME/logs/debug.log``
    (created owner-only); returns the log's path, or None when it cannot be written."""
    try:
        path = logs_dir() / "debug.log"
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines = [f"--- {stamp} pid {os.getpid()} {context}".rstrip()]
        if exc is not None:
            lines.append("".join(traceback.format_exception(exc)).rstrip())
        with open_private(path, "a") as fh:
            fh.write(redact("\n".join(lines)) + "\n")
        return str(path)
    except OSError:
        return None
