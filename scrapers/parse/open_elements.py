"""The tree builder's stack of open elements, as ``scrapers.parse.nesting`` models it:
entries, the categories that answer "in scope?" in O(1), tombstones for entries removed
from the middle, and the formatting elements the tree builder will reopen (zombies).
The rules that push and pop live in ``nesting``; this is the bookkeeping."""

from __future__ import annotations

from bisect import bisect_right

from scrapers.parse.html5 import (
    BLOCKS,
    FORMATTING,
    MARKERS,
    P_CLOSERS,
    POINTS,
    RAW,
    SCOPE,
    SPECIAL,
    TABLE_PARTS,
    VOID,
)

KEPT, DEAD, FORMATTING_BIT, SVG, MATH, SLOW = 1, 2, 4, 8, 16, 32
FOREIGN = SVG | MATH
NOAH = 3  # the HTML5 Noah's Ark clause: at most three alike formatting elements
# Start tags with no rule of their own: opened straight away (the common case, kept fast).
RULED = (VOID | RAW | P_CLOSERS | TABLE_PARTS | SPECIAL | SCOPE | MARKERS | frozenset(
    "table option optgroup a nobr button svg math html body head frameset form plaintext "
    "select input image".split()))
NEVER = 1 << 62  # no limit: only measure



class OpenElements:
    """The stack of open elements as the model sees it, and the edits of flattening.

    Entries live in `names`/`flags`; index stacks per name and per category answer
    "in scope?" in O(1). Entries the tree builder removes from the middle of its stack
    become tombstones (`DEAD`) until popped; categories drop them lazily."""

    def __init__(self, markup: str, limit: int):
        self.src, self.limit = markup, limit
        self.names: list[str] = []
        self.flags: list[int] = []
        self.by_name: dict[str, list[int]] = {}
        self.scope: list[int] = []  # scope boundaries
        self.special: list[int] = []
        self.special_adp: list[int] = []  # special but address, div, p
        self.marks: dict[int, int] = {}  # marker entry -> zombies before it
        self.ids: dict[int, str] = {}  # formatting entry -> its attributes (Noah's Ark)
        self.html_below: dict[int, int] = {}  # foreign entry -> the HTML entry under it
        self.zombies: list[list] = []  # [name, identity, alive], see add_zombie
        self.zombie_by_name: dict[str, list[list]] = {}
        self.alike: dict[str, int] = {}
        self.live = 0  # live zombies
        self.dead = 0  # tombstones
        self.deepest = 0
        self.out: list[str] = []
        self.copied = 0  # source copied to `out` up to here
        self.at = 0  # start of the token being handled

    # -- the stack ----------------------------------------------------------------------

    def depth(self) -> int:
        return len(self.names) - self.dead + self.live

    def top(self, name: str) -> int:
        found = self.by_name.get(name)
        return self.last(found) if found else -1

    def last(self, indices: list[int]) -> int:
        """The highest live index of a category (dead ones are dropped on the way)."""
        flags = self.flags
        while indices and flags[indices[-1]] & DEAD:
            indices.pop()
        return indices[-1] if indices else -1

    def in_scope(self, name: str, *extra: str) -> int:
        """Index of the open `name` if it is in scope (extra names bound it too), else -1."""
        i = self.top(name)
        if i < 0:
            return -1
        bound = max(self.last(self.scope), *(self.top(e) for e in extra)) if extra \
            else self.last(self.scope)
        return i if i >= bound else -1

    def push(self, name: str, ns: int = 0, attrs: str = "") -> bool:
        """Open `name` in namespace `ns` (0, SVG or MATH); True when lexbor gets it."""
        kept = self.depth() < self.limit
        i = len(self.names)
        flag = KEPT if kept else 0
        if ns:
            below = i - 1
            if below >= 0 and self.flags[below] & FOREIGN:
                below = self.html_below[below]
            self.html_below[i] = below
            name = ("svg " if ns == SVG else "math ") + name
            flag |= ns | SLOW
            if name in POINTS:
                self.scope.append(i)
                self.special.append(i)
                self.special_adp.append(i)
        elif name in RULED:
            flag |= SLOW
            if name in SCOPE:
                self.scope.append(i)
            if name in SPECIAL:
                self.special.append(i)
                if name not in ("address", "div", "p"):
                    self.special_adp.append(i)
            if name in MARKERS:
                self.marks[i] = len(self.zombies)
        if name in FORMATTING and not ns:
            flag |= FORMATTING_BIT
            self.ids[i] = name + attrs
        self.names.append(name)
        self.flags.append(flag)
        found = self.by_name.get(name)
        if found is None:
            self.by_name[name] = [i]
        else:
            found.append(i)
        depth = i + 1 - self.dead + self.live
        if depth > self.deepest:
            self.deepest = depth
        return kept

    def pop_to(self, index: int, closing: str | None = None) -> None:
        """Pop every entry from the top down to `index`. Formatting elements popped by
        another element's end stay open as zombies (lexbor reconstructs them)."""
        names, flags = self.names, self.flags
        while len(names) > index:
            i = len(names) - 1
            name, flag = names.pop(), flags.pop()
            same = self.by_name[name]
            if same and same[-1] == i:
                same.pop()
            if flag & SLOW:
                for indices in (self.scope, self.special, self.special_adp):
                    if indices and indices[-1] == i:
                        indices.pop()
                self.html_below.pop(i, None)
            identity = self.ids.pop(i, "") if flag & FORMATTING_BIT else ""
            if flag & DEAD:
                self.dead -= 1
                continue
            if not flag & KEPT:
                if name in BLOCKS:
                    self.cut(self.at, self.at, "<br>")
            elif flag & FORMATTING_BIT and not (i == index and name == closing):
                self.add_zombie(name, identity)
            if i in self.marks:
                self.clear_zombies(self.marks.pop(i))

    def kill(self, i: int) -> None:
        """Remove entry `i` from the middle of the stack (the tree builder does so for
        `</form>` and in the adoption agency): a tombstone until popped."""
        if not self.flags[i] & DEAD:
            self.flags[i] |= DEAD
            self.dead += 1

    def special_above(self, i: int) -> int:
        """The lowest live special entry above `i`, or -1 (the furthest block)."""
        special, flags = self.special, self.flags
        k = bisect_right(special, i)
        while k < len(special) and flags[special[k]] & DEAD:
            k += 1
        return special[k] if k < len(special) else -1

    def foreign_now(self) -> int:
        """The current node's namespace when it is foreign content (not an integration
        point), else 0."""
        if not self.names:
            return 0
        ns = self.flags[-1] & FOREIGN
        return 0 if not ns or self.names[-1] in POINTS else ns

    # -- zombies: formatting elements the tree builder will reopen ------------------------

    def add_zombie(self, name: str, identity: str) -> None:
        if self.alike.get(identity, 0) >= NOAH:
            return
        entry = [name, identity, True]
        self.zombies.append(entry)
        self.zombie_by_name.setdefault(name, []).append(entry)
        self.alike[identity] = self.alike.get(identity, 0) + 1
        self.live += 1

    def kill_zombie(self, name: str) -> None:
        entries = self.zombie_by_name.get(name)
        while entries:
            entry = entries.pop()
            if entry[2]:
                self._bury(entry)
                return

    def _bury(self, entry: list) -> None:
        entry[2] = False
        self.alike[entry[1]] -= 1
        self.live -= 1

    def clear_zombies(self, mark: int) -> None:
        """A marker's end forgets the formatting elements opened after it."""
        while len(self.zombies) > mark:
            entry = self.zombies.pop()
            if entry[2]:
                self._bury(entry)

    # -- output ---------------------------------------------------------------------------

    def cut(self, start: int, end: int, replacement: str = "") -> None:
        """Put `replacement` in the output in place of source[start:end]."""
        self.out.append(self.src[self.copied:start])
        self.out.append(replacement)
        self.copied = end

