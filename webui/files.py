"""Files the person stored (evidence of a case, files of a prepared one) sent back."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, abort, send_file

from companion.replies import evidence


def send_evidence(find: Callable[[], dict]) -> Response:
    """A stored evidence file (``find()`` gives its row) as a download, never shown
    inline: it came from the person's disk or Amazon and is not ours to render. A row
    or file that is not there is a 404, not an error page."""
    try:
        row = find()
        path = evidence.file_path(row)
    except evidence.EvidenceError:
        abort(404)
    if not path.is_file():
        abort(404)
    return send_file(path, as_attachment=True, download_name=row["name"],
                     mimetype="application/octet-stream")
