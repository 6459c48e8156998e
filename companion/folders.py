"""Where caselog keeps things: everything lives under CASELOG_HOME (database, capture
archive, saved sessions, evidence files, logs), so a seller can back up or delete one
folder. The only place that resolves CASELOG_HOME.

Several seller accounts: the account ``default`` is CASELOG_HOME itself (so a home made
before accounts existed keeps working, not a file moved); any other account NAME lives in
``CASELOG_HOME/accounts/NAME/``, a folder laid out exactly like CASELOG_HOME. :func:`home`
answers the *chosen* account's folder, so everything that asks it (database, captures,
sessions, credentials, evidence, templates, checklists, settings, logs) follows the
account without knowing accounts exist. The choice is a context variable (one per asyncio
task, so ``caselog watch`` can sync several accounts in one process), falling back to
``CASELOG_ACCOUNT``. An account folder holds a marker file naming it: a CASELOG_HOME that
points *into* an account folder (the UI hands its sync process the account's folder)
means that account, and naming it again does not nest it twice.

Everything caselog creates there is readable by the owner only (folders 0700, files
0600), whatever the umask and whatever the mode of a CASELOG_HOME that already existed:
it holds a seller's cases and the keys to their account.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import stat
from pathlib import Path

import platformdirs

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
DEFAULT = "default"
MARKER = ".caselog-account"     # in an account folder: its name
NAME_RULE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_chosen: contextvars.ContextVar[str | None] = contextvars.ContextVar("caselog_account",
                                                                     default=None)


def _given_root() -> Path:
    root = os.environ.get("CASELOG_HOME")
    return Path(root).expanduser() if root else Path(platformdirs.user_data_dir("caselog"))


def marked_name(path: Path) -> str | None:
    """The account name an account folder's marker holds, or None for any other folder."""
    try:
        name = (path / MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name if name and path.name == name and path.parent.name == "accounts" else None


def top() -> Path:
    """The CASELOG_HOME that holds every account (``accounts.toml``, ``accounts/``): the
    given one, or, when that is an account's own folder, the home it belongs to."""
    root = _given_root()
    return root.parent.parent if marked_name(root) else root


def account() -> str:
    """The account commands act on: chosen (``--account``, :func:`use_account`), else
    ``CASELOG_ACCOUNT``, else the one CASELOG_HOME points into, else ``default``."""
    name = _chosen.get() or os.environ.get("CASELOG_ACCOUNT") or marked_name(_given_root())
    return name or DEFAULT


class UnknownAccount(LookupError):
    """An account name that is not one of this CASELOG_HOME's (or not a name at all)."""


def account_dir(name: str) -> Path:
    """Where an account's things live (not created): CASELOG_HOME for ``default``. A name
    is letters, digits, ``-`` and ``_``, so it can never point outside ``accounts/``."""
    if name == DEFAULT:
        return top()
    if not NAME_RULE.fullmatch(name or ""):
        raise UnknownAccount(f"{name!r} is not an account name (letters, digits, - and _)")
    return top() / "accounts" / name


def home() -> Path:
    """The chosen account's folder: CASELOG_HOME itself for ``default`` (else the
    platform's user data folder when CASELOG_HOME is unset), created owner-only; another
    account's folder must exist already (``caselog accounts add`` makes it), so a typo
    never starts an empty account."""
    name = account()
    path = account_dir(name)
    if name != DEFAULT:
        if not marked_name(path):
            raise UnknownAccount(f"there is no account {name!r} in {top()}")
        return path
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        os.chmod(path, PRIVATE_DIR)
    return path


def select_account(name: str | None) -> None:
    """Choose the account for the rest of this process and the processes it starts (the
    UI's sync, a template's sandbox): ``--account`` does this before a command runs."""
    if name:
        _chosen.set(name)
        os.environ["CASELOG_ACCOUNT"] = name


@contextlib.contextmanager
def use_account(name: str):
    """Within the block (and the asyncio tasks it starts), :func:`home` is ``name``'s."""
    token = _chosen.set(name)
    try:
        yield account_dir(name)
    finally:
        _chosen.reset(token)


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


def make_private(fd: int, path: Path | str) -> None:
    """Owner-only (0600) for a file already open, even one O_CREAT found existing (its
    mode then does not apply). Windows has ``os.fchmod`` only from Python 3.13 and its
    ``chmod`` can only set read-only, so there the file is private by living under the
    person's own profile (the platform's user data folder), as CASELOG_HOME does."""
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, PRIVATE_FILE)
        elif os.name != "nt":
            os.chmod(path, PRIVATE_FILE)
    except OSError:
        pass


def open_private(path: Path, mode: str = "w", **kwargs):
    """``open(path, mode)`` for a file that is created owner-only (0600) and stays so."""
    flags = {"w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
             "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
             "wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
             "ab": os.O_WRONLY | os.O_CREAT | os.O_APPEND}[mode]
    fd = os.open(path, flags, PRIVATE_FILE)
    make_private(fd, path)
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
