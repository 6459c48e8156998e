"""A library of TOML files, built-in and the person's own, read again only when a file
changed (``library`` for checklists, ``topics`` for new-case topics).

Pages ask for a library on every request, so reading and checking the files each time
would cost more than the page; keying the parsed result on the files' paths and mtimes
lets a person edit a file and see it on the next page without a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

Load = Callable[[Path, list[str]], dict[str, dict]]


class Watched:
    """The parsed library of ``builtin`` and ``user()`` (a function: the user's folder
    follows the chosen CASELOG_HOME), as ``load(user_folder, problems)`` makes it."""

    def __init__(self, builtin: Path, user: Callable[[], Path], load: Load) -> None:
        self.builtin, self.user, self.load = builtin, user, load
        self._cache: dict = {}

    def state(self) -> tuple[tuple | None, dict[str, dict], list[str]]:
        """(version, library, problems). ``version`` names the files and their mtimes
        (None when they could not be listed), so caches of what the library produced
        can follow it."""
        user = self.user()
        paths = sorted(self.builtin.glob("*.toml"))
        if user.is_dir():
            paths += sorted(user.glob("*.toml"))
        try:
            key = (str(user), tuple((str(p), p.stat().st_mtime_ns) for p in paths))
        except OSError:
            key = None
        cache = self._cache
        if key is None or cache.get("key") != key:
            found: list[str] = []
            cache = {"key": key, "lib": self.load(user, found), "errors": found}
            self._cache = cache  # replaced whole: other threads may hold the previous one
        return cache["key"], cache["lib"], list(cache["errors"])
