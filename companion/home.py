"""Where caselog keeps things: everything lives under CASELOG_HOME (database, capture
archive, saved sessions, evidence files), so a seller can back up or delete one folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def home() -> Path:
    """CASELOG_HOME if set, else the platform's user data folder; created owner-only."""
    root = os.environ.get("CASELOG_HOME")
    path = Path(root).expanduser() if root else Path(platformdirs.user_data_dir("caselog"))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def db_path(override: str | os.PathLike | None = None) -> Path:
    return Path(override) if override else home() / "caselog.db"


def archive_dir() -> Path:
    path = home() / "captures"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def sessions_dir() -> Path:
    path = home() / "sessions"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def evidence_dir() -> Path:
    path = home() / "evidence"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
