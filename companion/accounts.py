"""Several seller accounts in one caselog: the registry, each account's folder, its
sources, and the lock that keeps two syncs of one account apart.

Layout (``companion.folders`` resolves it)::

    CASELOG_HOME/                 the account "default" (a home made before accounts
      caselog.db, captures/, ...    existed is this account, nothing moved)
      accounts.toml               the registry: each account's portal and Support API
      notify.toml                 notification settings for every account (optional)
      accounts/shop2/             the account "shop2", laid out like CASELOG_HOME
        .caselog-account          its name (how caselog knows the folder is an account)
        caselog.db, captures/, sessions/, credentials/, evidence/, templates/,
        checklists/, replies.toml, notify.toml, logs/

The registry format::

    [accounts.shop2]
    portal = "https://sellercentral.amazon.de"
    spapi = "https://sellingpartnerapi-eu.amazon.com"   # optional
    lwa_endpoint = "https://api.amazon.com/auth/o2/token"  # optional

Nothing here reads another account's data: a UI lists accounts with :func:`list_accounts`
and opens one with :func:`open_account_db`; every other read is handed that
:class:`~companion.folders.Account`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tomllib
from pathlib import Path

import filelock
import sqlite_utils

from companion import credentials
from companion import folders as homes
from companion.folders import DEFAULT, MARKER, NAME_RULE, Account, UnknownAccount
from companion.schema import open_db

REGISTRY = "accounts.toml"
SOURCE_KEYS = ("portal", "spapi", "lwa_endpoint")


class AccountError(ValueError):
    """A refused account action (the message says why, in the seller's words)."""


class Busy(RuntimeError):
    """Another caselog process is syncing this account right now."""


__all__ = ["Account", "AccountError", "Busy", "UnknownAccount"]


# -- the registry ---------------------------------------------------------------------------

def _registry_path() -> Path:
    return homes.top() / REGISTRY


def _read_registry() -> dict[str, dict]:
    path = _registry_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AccountError(f"{path} cannot be read: {exc}") from exc
    table = data.get("accounts", {})
    return {str(k): {f: v for f, v in (v or {}).items() if f in SOURCE_KEYS and v}
            for k, v in table.items() if isinstance(v, dict)}


def _write_registry(entries: dict[str, dict]) -> None:
    """Rewrite the registry whole (a temporary file renamed over it): a reader never sees
    half a file. TOML basic strings take JSON's escapes, so values are written that way."""
    lines = ["# caselog's seller accounts: `caselog accounts add|set|remove` keep this file.",
             ""]
    for name in sorted(entries):
        lines.append(f"[accounts.{json.dumps(name)}]")
        for key in SOURCE_KEYS:
            if entries[name].get(key):
                lines.append(f"{key} = {json.dumps(entries[name][key])}")
        lines.append("")
    path = _registry_path()
    homes.private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    with homes.open_private(tmp, "w") as fh:
        fh.write("\n".join(lines))
    os.replace(tmp, path)


def _folders() -> list[str]:
    root = homes.top() / "accounts"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if homes.marked_name(p))


def names() -> list[str]:
    """Every account: ``default`` first, then the others by name."""
    return [DEFAULT, *_folders()]


def get(name: str) -> Account:
    """The account called ``name``; ``UnknownAccount`` names the known ones."""
    known = names()
    if name not in known:
        raise UnknownAccount(f"there is no account {name!r}; the accounts are: "
                             f"{', '.join(known)} (add one with `caselog accounts add`)")
    entry = _read_registry().get(name, {})
    return homes.named(name, **entry)


def list_accounts() -> list[Account]:
    """Every account with what the registry says of it (for ``accounts list`` and a UI)."""
    entries = _read_registry()
    return [homes.named(n, **entries.get(n, {})) for n in names()]


def check_name(name: str) -> str:
    if not NAME_RULE.fullmatch(name or ""):
        raise AccountError(f"{name!r}: an account name is 1 to 40 letters, digits, - or _")
    if name.lower() == DEFAULT:
        raise AccountError("'default' is the name of CASELOG_HOME's own account; choose "
                           "another")
    return name


def add(name: str, portal: str | None = None, spapi: str | None = None,
        lwa_endpoint: str | None = None) -> Account:
    """A new account: its folder (owner-only, with its marker) and its registry entry."""
    check_name(name)
    if any(n.lower() == name.lower() for n in names()):
        raise AccountError(f"there is already an account {name!r}")
    folder = homes.account_dir(name)
    if folder.exists() and any(folder.iterdir()):
        raise AccountError(f"{folder} exists and is not empty; caselog will not use it")
    homes.private_dir(folder.parent)
    homes.private_dir(folder)
    with homes.open_private(folder / MARKER, "w") as fh:
        fh.write(name + "\n")
    set_sources(name, portal=portal, spapi=spapi, lwa_endpoint=lwa_endpoint)
    return get(name)


def set_sources(name: str, **sources: str | None) -> Account:
    """Name (or change) an account's portal, Support API endpoint, token endpoint; a
    value of ``""`` forgets it, None leaves it as it is."""
    if name not in names():
        get(name)  # raises, naming the known accounts
    entries = _read_registry()
    entry = dict(entries.get(name, {}))
    for key, value in sources.items():
        if key in SOURCE_KEYS and value is not None:
            entry[key] = value
    entries[name] = {k: v for k, v in entry.items() if v}
    _write_registry(entries)
    return get(name)


def remove(name: str) -> Path:
    """Delete an account's folder (and nothing else) and its registry entry; refused for
    ``default`` and while the account is syncing. Returns the folder removed."""
    check_name(name)
    account = get(name)
    folder = account.folder
    if folder.is_symlink() or folder.resolve().parent != (homes.top() / "accounts").resolve():
        raise AccountError(f"{folder} is not inside {homes.top() / 'accounts'}; not removed")
    with sync_lock(account):
        _forget_credentials(account)
        shutil.rmtree(folder)
    entries = _read_registry()
    if entries.pop(name, None) is not None:
        _write_registry(entries)
    return folder


def _forget_credentials(account: Account) -> None:
    """Support API credentials of this account kept in the system keyring (the file copy
    goes with the folder)."""
    if not account.spapi:
        return
    credentials.forget(account.spapi, account)


# -- an account's sources and database -------------------------------------------------------

def open_account_db(name: str, create: bool = True) -> sqlite_utils.Database:
    """The account's own database (a UI opens each account's this way)."""
    return open_db(get(name).db_path, create=create)


def last_sources(db: sqlite_utils.Database) -> dict[str, str]:
    """{"portal": url, "spapi": endpoint} of the last finished syncs of each source, for an
    account the registry says nothing about (a home made before accounts)."""
    out: dict[str, str] = {}
    if "syncs" not in db.table_names():
        return out
    for row in db.query("select portal, coalesce(source, 'portal') as source from syncs "
                        "where state in ('ok', 'partial') and portal is not null "
                        "and mode != 'import' order by id"):
        out[row["source"]] = row["portal"]
    return out


def sources(account: Account, db: sqlite_utils.Database | None = None) -> dict[str, str]:
    """The portal and Support API endpoint an account syncs from: the registry's, else
    what its last syncs used."""
    found = {k: v for k, v in (("portal", account.portal), ("spapi", account.spapi)) if v}
    if db is not None and len(found) < 2:
        found = {**last_sources(db), **found}
    return found


def pick_source(account: Account, db: sqlite_utils.Database | None = None
                ) -> tuple[str, str] | None:
    """("spapi", endpoint) where the account has Support API credentials saved for its
    endpoint, else ("portal", url) where it names a portal, else None."""
    found = sources(account, db)
    if found.get("spapi") and credentials.load(found["spapi"], account) is not None:
        return "spapi", found["spapi"]
    if found.get("portal"):
        return "portal", found["portal"]
    if found.get("spapi"):
        return "spapi", found["spapi"]  # no credentials: the sync says how to log in
    return None


# -- one sync at a time per account ----------------------------------------------------------

BUSY_WORDS = ("another caselog process is syncing this account right now (`caselog sync`, "
              "`caselog watch` or the UI's Sync now)")


@contextlib.contextmanager
def sync_lock(account: Account):
    """Hold the account's sync lock for the block, or raise ``Busy`` at once: the one rule
    "one sync at a time per account", for every caller. A ``filelock`` lock on the account
    folder's ``sync.lock`` (owner-only): where the system has ``fcntl`` the kernel drops it
    when the holder exits however it exits (SIGKILL too); elsewhere (Windows has its own
    lock call; a system with neither gets filelock's soft lock) a holder that died is
    recognised by its process id and its lock taken over. The descriptor is not
    inherited by children, so a browser that outlives a killed sync cannot keep it."""
    path = account.lock_path
    homes.private_dir(path.parent)
    # filelock sets an explicit mode with os.fchmod, which Windows before Python 3.13 lacks:
    # there the file is made owner-only by path (``tighten``) once it is held.
    mode = homes.PRIVATE_FILE if hasattr(os, "fchmod") else -1
    lock = filelock.FileLock(path, timeout=0, mode=mode)
    try:
        lock.acquire()
    except filelock.Timeout:
        try:  # a soft lock's first try only clears a dead holder's file; the second takes it
            lock.acquire()
        except filelock.Timeout:
            raise Busy(BUSY_WORDS) from None
    try:
        homes.tighten(path, homes.PRIVATE_FILE)
        yield path
    finally:
        lock.release()


def with_account_hint(text: str | None, name: str) -> str:
    """A message's ``caselog login ...`` / ``caselog sync ...`` advice, made to name the
    account it is about (the sources write it without one)."""
    if not text or name == DEFAULT:
        return text or ""
    return re.sub(r"\bcaselog (login|sync)\b(?! --account)", rf"caselog \1 --account {name}",
                  text)
