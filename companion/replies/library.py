"""The checklist library: the built-in TOML files in ``companion/replies/data/checklists``
overlaid with the user's own (``CASELOG_HOME/checklists/*.toml``), read again only when
a file changed. The file format is in ``companion.replies.checklists``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from companion.folders import Account, home
from companion.replies import tomlfiles

BUILTIN_DIR = Path(__file__).parent / "data" / "checklists"


class ChecklistError(ValueError):
    """A checklist file that cannot be used (the message names the file and the problem),
    or a refused checklist action (the message says why)."""


def user_dir(account: Account | None = None) -> Path:
    """The account's own checklists (this process's account when none is given)."""
    return home(account) / "checklists"


def _read(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ChecklistError(f"{path.name}: cannot read checklist: {exc}") from exc
    cid = data.get("id") or path.stem
    if not isinstance(cid, str) or not cid.replace("_", "").replace("-", "").isalnum():
        raise ChecklistError(f"{path.name}: id must be letters, digits, - or _")
    items = data.get("items", [])
    if not isinstance(items, list):
        raise ChecklistError(f"{path.name}: [[items]] must be a list of tables")
    clean = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise ChecklistError(f"{path.name}: item {n} needs a text")
        clean.append({
            "id": str(item.get("id") or f"item{n}"), "text": item["text"],
            "help": str(item.get("help") or ""), "asks": list(item.get("asks") or []),
        })
    return {
        "id": cid, "title": str(data.get("title") or cid), "extend": bool(data.get("extend")),
        "categories": [str(c).lower() for c in data.get("categories", [])],
        "asks": [str(a) for a in data.get("asks", [])], "items": clean, "file": str(path),
    }


def load_library(user: Path | None = None, errors: list[str] | None = None) -> dict[str, dict]:
    """Built-in checklists overlaid with the user's. A broken user file raises
    ChecklistError, or, when ``errors`` is given, is skipped and reported there."""
    lib: dict[str, dict] = {}
    for path in sorted(BUILTIN_DIR.glob("*.toml")):
        cl = _read(path)
        lib[cl["id"]] = cl
    if user is not None and user.is_dir():
        for path in sorted(user.glob("*.toml")):
            try:
                cl = _read(path)
            except ChecklistError as exc:
                if errors is None:
                    raise
                errors.append(str(exc))
                continue
            base = lib.get(cl["id"])
            if cl["extend"] and base:
                items = {i["id"]: i for i in base["items"]}
                items.update({i["id"]: i for i in cl["items"]})
                cl = {**base, "items": list(items.values()),
                      "categories": base["categories"] + cl["categories"],
                      "asks": base["asks"] + cl["asks"], "file": cl["file"]}
            lib[cl["id"]] = cl
    return lib


_WATCHED = tomlfiles.Watched(BUILTIN_DIR, user_dir, load_library)


def library_state(account: Account | None = None
                  ) -> tuple[tuple | None, dict[str, dict], list[str]]:
    """(version, library, problems), read again only when a file changed
    (``tomlfiles.Watched``)."""
    return _WATCHED.state(user_dir(account) if account is not None else None)


def default_library(errors: list[str] | None = None, account: Account | None = None
                    ) -> dict[str, dict]:
    """The built-in and the account's checklists. A broken user file raises, or, when
    ``errors`` is given, is skipped and reported there."""
    _, lib, problems = library_state(account)
    if errors is None and problems:
        raise ChecklistError(problems[0])
    if errors is not None:
        errors.extend(problems)
    return lib
