"""Where caselog keeps things: everything lives under CASELOG_HOME (database, capture
archive, saved sessions, evidence files, logs), so a seller can back up or delete one
folder. The only place that resolves CASELOG_HOME.

Everything caselog creates there is readable by the owner only (folders 0700, files
0600), whatever the umask and whatever the mode of a CASELOG_HOME that already existed:
it holds a seller's cases and the keys to their account.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def home() -> Path:
    """CASELOG_HOME if set, else the platform's user data folder; created owner-only."""
    root = os.environ.get("CASELOG_HOME")
    path = Path(root).expanduser() if root else Path(platformdirs.user_data_dir("caselog"))
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        os.chmod(path, PRIVATE_DIR)
    return path


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner can enter (created, or tightened if looser)."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    tighten(path, PRIVATE_DIR)
    return path


def tighten(path: Path, mode: int) -> None:
    """Remove group and other permissions from a path caselog owns."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & 0o077:
            os.chmod(path, current & ~0o077 & 0o7777 | (mode & 0o700))
    except FileNotFoundError:
        pass


def open_private(path: Path, mode: str = "w", **kwargs):
    """``open(path, mode)`` for a file that is created owner-only (0600) and stays so."""
    flags = {"w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
             "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
             "wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
             "ab": os.O_WRONLY | os.O_CREAT | os.O_APPEND}[mode]
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)  # O_CREAT's mode does not apply to an existing file
    except OSError:
        pass
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
    return os.fdopen(fd, mode, **kwargs)


def db_path(override: str | os.PathLike | None = None) -> Path:
    return Path(override) if override else home() / "caselog.db"


def archive_dir() -> Path:
    return private_dir(home() / "captures")


def sessions_dir() -> Path:
    return private_dir(home() / "sessions")


def evidence_dir() -> Path:
    return private_dir(home() / "evidence")


def logs_dir() -> Path:
    return private_dir(home() / "logs")


def load_session(portal: str) -> dict | None:
    """The browser session ``caselog login`` saved for this portal, or None; its cookie
    values are registered as secrets so no message can ever show them."""
    from companion.errors import remember_session
    from scrapers.browser.session import load_state

    state = load_state(portal, sessions_dir())
    remember_session(state)
    return state


def save_session(portal: str, state: dict) -> Path:
    from companion.errors import remember_session
    from scrapers.browser.session import save_state

    remember_session(state)
    return save_state(portal, state, sessions_dir())
