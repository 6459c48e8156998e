"""Where caselog keeps things: everything lives under CASELOG_HOME (database, capture
archive, saved sessions, evidence files, logs), so a seller can back up or delete one
folder. The only place that resolves CASELOG_HOME.

Several seller accounts: the account ``default`` is CASELOG_HOME itself (so a home made
before accounts existed keeps working, not a file moved); any other account NAME lives in
``CASELOG_HOME/accounts/NAME/``, a folder laid out exactly like CASELOG_HOME. An
:class:`Account` is that folder as a value: the code that reads or writes an account's
things is handed one (``caselog watch`` syncs several accounts in one process, the UI
serves several from one), the way sqlite-utils hands code a ``db``. A process that acts on
one account (a ``caselog`` command) has a default one, :func:`chosen`: ``--account``, else
``CASELOG_ACCOUNT``, else the account CASELOG_HOME points into, else ``default``. An
account folder holds a marker file naming it: a CASELOG_HOME that points *into* an
account folder means that account, and naming it again does not nest it twice.

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
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from companion.redact import remember_session
from scrapers.browser.session import load_state, save_state

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
DEFAULT = "default"
MARKER = ".caselog-account"     # in an account folder: its name
NAME_RULE = re.compile(r"[A-Za-z0-9_-]{1,40}")
# The account a one-account process (a caselog command) acts on when none is handed to it:
# set once by ``--account`` before the command runs; never a per-task or per-request choice.
_process_choice: str | None = None
# The read side's account for code not yet handed an Account (settings files, templates,
# checklists, evidence read by the queue and the pages): set only by :func:`use_account`.
_reading: contextvars.ContextVar[str | None] = contextvars.ContextVar("caselog_reading",
                                                                      default=None)


class UnknownAccount(LookupError):
    """An account name that is not one of this CASELOG_HOME's (or not a name at all)."""


@dataclass(frozen=True)
class Account:
    """One seller account: its name, its folder, and the sources the registry names for
    it. Every path of the account's things is derived here, so a database and the
    account folder it belongs to cannot disagree."""

    name: str
    folder: Path
    portal: str | None = None        # the registry's portal URL
    spapi: str | None = None         # the registry's Support API endpoint
    lwa_endpoint: str | None = None  # its token endpoint, when not Amazon's own

    @property
    def db_path(self) -> Path:
        return self.folder / "caselog.db"

    @property
    def lock_path(self) -> Path:
        """The file the one-sync-at-a-time lock is taken on (``companion.syncing``)."""
        return self.folder / "sync.lock"

    @property
    def captures(self) -> Path:
        return private_dir(self.home() / "captures")

    @property
    def sessions(self) -> Path:
        return private_dir(self.home() / "sessions")

    @property
    def credentials(self) -> Path:
        return private_dir(self.home() / "credentials")

    @property
    def evidence(self) -> Path:
        return private_dir(self.home() / "evidence")

    @property
    def logs(self) -> Path:
        return private_dir(self.home() / "logs")

    def home(self) -> Path:
        """The folder, made ready: ``default``'s is created owner-only; another account's
        must exist already (``caselog accounts add`` makes it), so a typo never starts an
        empty account."""
        if self.name != DEFAULT:
            if not marked_name(self.folder):
                raise UnknownAccount(f"there is no account {self.name!r} in {top()}")
            return self.folder
        if not self.folder.exists():
            self.folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
            os.chmod(self.folder, PRIVATE_DIR)
        return self.folder

    def as_dict(self) -> dict:
        return {"name": self.name, "folder": str(self.folder), "portal": self.portal,
                "spapi": self.spapi, "lwa_endpoint": self.lwa_endpoint}


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
    """The name of this process's account: chosen (``--account``, :func:`select_account`),
    else ``CASELOG_ACCOUNT``, else the one CASELOG_HOME points into, else ``default``."""
    name = (_reading.get() or _process_choice or os.environ.get("CASELOG_ACCOUNT")
            or marked_name(_given_root()))
    return name or DEFAULT


def account_dir(name: str) -> Path:
    """Where an account's things live (not created): CASELOG_HOME for ``default``. A name
    is letters, digits, ``-`` and ``_``, so it can never point outside ``accounts/``."""
    if name == DEFAULT:
        return top()
    if not NAME_RULE.fullmatch(name or ""):
        raise UnknownAccount(f"{name!r} is not an account name (letters, digits, - and _)")
    return top() / "accounts" / name


def named(name: str, **sources: str | None) -> Account:
    """The account ``name`` of this CASELOG_HOME (its folder is checked when used)."""
    return Account(name, account_dir(name), **sources)


def owner_of(db_file: str | os.PathLike) -> str | None:
    """The account whose folder holds this database file, or None for a file outside
    every account's folder (a copy, a test's)."""
    parent = Path(db_file).resolve().parent
    if marked_name(parent):
        return marked_name(parent)
    return DEFAULT if parent == top().resolve() else None


def chosen() -> Account:
    """This process's account (see :func:`account`), without the registry's sources
    (``companion.accounts.get`` adds them)."""
    return named(account())


def _of(acct: Account | None) -> Account:
    return acct if acct is not None else chosen()


def home(acct: Account | None = None) -> Path:
    """The account's folder (this process's account when none is given), made ready:
    CASELOG_HOME itself for ``default`` (else the platform's user data folder when
    CASELOG_HOME is unset)."""
    return _of(acct).home()


def select_account(name: str | None) -> None:
    """Make ``name`` this process's account (``--account`` does this before a command
    runs). Processes caselog starts are told their account on their command line."""
    global _process_choice
    if name:
        _process_choice = name


@contextlib.contextmanager
def use_account(name: str):
    """Within the block, code that is not handed an Account reads ``name``'s files (the
    UI's pages of one account, the merged queue of all). Syncs, the watch and credentials
    are handed their Account and never depend on this."""
    token = _reading.set(name)
    try:
        yield account_dir(name)
    finally:
        _reading.reset(token)


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


def db_path(override: str | os.PathLike | None = None, acct: Account | None = None) -> Path:
    return Path(override) if override else home(acct) / "caselog.db"


def archive_dir(acct: Account | None = None) -> Path:
    return _of(acct).captures


def sessions_dir(acct: Account | None = None) -> Path:
    return _of(acct).sessions


def evidence_dir(acct: Account | None = None) -> Path:
    return _of(acct).evidence


def logs_dir(acct: Account | None = None) -> Path:
    return _of(acct).logs


def load_session(portal: str, acct: Account | None = None) -> dict | None:
    """The browser session ``caselog login`` saved for this portal, or None; its cookie
    values are registered as secrets so no message can ever show them."""
    state = load_state(portal, sessions_dir(acct))
    remember_session(state)
    return state


def save_session(portal: str, state: dict, acct: Account | None = None) -> Path:
    remember_session(state)
    return save_state(portal, state, sessions_dir(acct))
