"""Saved browser sessions, one file per portal, readable by the owner only.

A session is Playwright's ``storage_state`` (cookies and local storage) for one portal
origin, kept as ``<directory>/<host>_<port>.json``; the caller says which folder
(``companion.folders`` knows where caselog keeps things: scrapers never decide that).
Passwords never pass through here: the portal's session cookie is all a later sync needs.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit


def portal_origin(portal_url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a portal URL, with the scheme's default port filled in."""
    parts = urlsplit(portal_url if "://" in portal_url else "http://" + portal_url)
    if not parts.hostname:
        raise ValueError(f"not a portal URL: {portal_url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname.lower(), port


def session_path(portal_url: str, directory: Path) -> Path:
    _, host, port = portal_origin(portal_url)
    safe = re.sub(r"[^a-z0-9.\-]", "_", host)
    return Path(directory) / f"{safe}_{port}.json"


def load_state(portal_url: str, directory: Path) -> dict | None:
    """The saved storage state for this portal, or None when there is none (or it is
    unreadable, which is the same thing to a caller: sign in again)."""
    path = session_path(portal_url, directory)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def save_state(portal_url: str, state: dict, directory: Path) -> Path:
    """Write the state owner-only (0600), atomically: the file is created with that mode
    rather than chmod-ed afterwards, so it is never readable by others, even briefly."""
    path = session_path(portal_url, directory)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        # O_CREAT's mode does not apply when tmp already existed. Windows has no
        # os.fchmod before Python 3.13 (nor modes): there the file is private by living
        # under the person's own profile.
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        elif os.name != "nt":
            os.chmod(tmp, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.replace(tmp, path)
    return path


def only_portal(state: dict, portal_url: str) -> dict:
    """Keep only the cookies and local storage of this portal's host: a Chrome the person
    already had open (``--cdp``) holds cookies of every site they use, which are none of
    caselog's business."""
    scheme, host, port = portal_origin(portal_url)

    def host_matches(domain: str) -> bool:
        domain = domain.lstrip(".").lower()
        return host == domain or host.endswith("." + domain)

    cookies = [c for c in state.get("cookies", []) if host_matches(c.get("domain", ""))]
    origins = []
    for o in state.get("origins", []):
        try:
            o_scheme, o_host, o_port = portal_origin(o.get("origin", ""))
        except ValueError:
            continue
        if (o_scheme, o_host, o_port) == (scheme, host, port):
            origins.append(o)
    return {"cookies": cookies, "origins": origins}
