"""A library of TOML files, built-in and the person's own, read again only when a file
changed (``library`` for checklists, ``topics`` for new-case topics).

Pages ask for a library on every request, so reading and checking the files each time
would cost more than the page; keying the parsed result on the files' paths and mtimes
lets a person edit a file and see it on the next page without a restart. One parsed
library is kept per user folder (each seller account has its own), so a page that reads
every account (All accounts) does not parse them all again each time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

Load = Callable[[Path, list[str]], dict[str, dict]]
MAX_FOLDERS = 64


class Watched:
    """The parsed library of ``builtin`` and ``user()`` (a function: the user's folder
    follows the chosen CASELOG_HOME), as ``load(user_folder, problems)`` makes it."""

    def __init__(self, builtin: Path, user: Callable[[], Path], load: Load) -> None:
        self.builtin, self.user, self.load = builtin, user, load
        self._cache: dict[str, dict] = {}  # user folder -> {"key", "lib", "errors"}

    def state(self, user: Path | None = None) -> tuple[tuple | None, dict[str, dict], list[str]]:
        """(version, library, problems) of the user folder ``user`` (``user()`` when not
        given). ``version`` names the files and their mtimes (None when they could not be
        listed), so caches of what the library produced can follow it."""
        user = user if user is not None else self.user()
        paths = sorted(self.builtin.glob("*.toml"))
        if user.is_dir():
            paths += sorted(user.glob("*.toml"))
        try:
            key = (str(user), tuple((str(p), p.stat().st_mtime_ns) for p in paths))
        except OSError:
            key = None
        cache = self._cache.get(str(user)) or {}
        if key is None or cache.get("key") != key:
            found: list[str] = []
            cache = {"key": key, "lib": self.load(user, found), "errors": found}
            # Entries are replaced whole (other threads may hold the previous one); the
            # map is bounded, as a long-running server may see many folders in tests.
            kept = dict(list(self._cache.items())[-MAX_FOLDERS + 1:])
            self._cache = {**kept, str(user): cache}
        return cache["key"], cache["lib"], list(cache["errors"])
