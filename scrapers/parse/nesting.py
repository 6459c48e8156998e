"""Keep HTML shallow before lexbor sees it, so parsing stays linear whatever the nesting.

Why: an HTML5 tree builder asks "is there a `<p>` in button scope?", "is this end tag's
element in scope?" and the like on most tags, each time walking its stack of open
elements. lexbor sets no depth limit, so 100,000 nested `<div>`s (or `<span>`s followed
by block tags, or `<b id=N>`s) cost time quadratic in the depth: 40,000 levels took 8 s to
parse. Browsers cap the depth themselves (Blink at 512). We do the same before lexbor:
one linear pass over the tags follows (an over-estimate of) the tree builder's stack of
open elements, and only when it would pass `limit` are the elements beyond it flattened
into their ancestor at the limit, which lexbor then parses in O(tags x limit).

Below the limit the markup is returned unchanged (the same string), so every page and
message of normal depth parses exactly as before. Beyond it the flattening keeps what the
text rule (``scrapers.parse.text``) reads: text stays in order; the end of a flattened
block element becomes a ``<br>`` (one newline, as the block end would have been);
``<br>`` stays; the content of a flattened ``<script>``/``<style>``/``<title>`` is
dropped (it was never visible) and other raw text (``<textarea>``, ``<xmp>``) is kept as
escaped text. Flattened elements lose their tags and attributes, so a page whose
structure lies that deep fails with a LayoutError, as it should.

The stack model follows the HTML5 "in body" rules that pop or refuse to push: implied
ends (`p`, `li`, `dd`/`dt`, cells and rows, `option`, headings), scopes, the
special-element stop of generic end tags, the adoption agency's furthest block,
formatting elements that are reconstructed later ("zombies", with the Noah's Ark cap of
three), markers, `</form>`, foreign content (`svg`, `math`) with its self-closing tags and
breakout tags, raw text elements and comments. Where the model is unsure it keeps an
element open: over-estimating the depth only flattens earlier, never slows lexbor down.
"""

from __future__ import annotations

import html as html_lib
import re

from scrapers.parse import limits
from scrapers.parse.html5 import (
    BREAKOUT,
    FORMATTING,
    HEADINGS,
    INVISIBLE,
    MARKERS,
    P_CLOSERS,
    RAW,
    RAW_END,
    SECTIONS,
    SPECIAL,
    TABLE_PARTS,
    TOKEN,
    UNQUOTED_SLASH,
    VOID,
)
from scrapers.parse.open_elements import (
    DEAD,
    FOREIGN,
    FORMATTING_BIT,
    KEPT,
    MATH,
    NEVER,
    RULED,
    SLOW,
    SVG,
    OpenElements,
)


def flatten(markup: str, limit: int = limits.MAX_HTML_DEPTH) -> str:
    """`markup` itself when its elements nest at most `limit` deep, else a copy with the
    deeper elements flattened (see the module docstring)."""
    if markup.count("<") <= limit:
        return markup  # fewer tags than levels: cannot be too deep
    return _Model(markup, limit).run()[0]


def estimate_depth(markup: str) -> int:
    """The model's deepest stack for `markup` (tests compare it with lexbor's tree)."""
    return _Model(markup, NEVER).run()[1]


class _Model(OpenElements):
    """The rules: one pass over the tags, pushing and popping as the tree builder does."""

    # -- the walk -------------------------------------------------------------------------

    def run(self) -> tuple[str, int]:
        """One pass over the tags; returns (the markup to parse, the deepest stack)."""
        src, skip = self.src, 0
        names, flags, by_name = self.names, self.flags, self.by_name
        for m in TOKEN.finditer(src):
            start = m.start()
            if start < skip:
                continue  # inside raw text or CDATA
            name = m[1]
            if name is None:
                if src.startswith("<![CDATA[", start) and self.foreign_now():
                    found = src.find("]]>", start)
                    skip = len(src) if found < 0 else found + 3
                continue  # comment, doctype, processing instruction
            name = name.lower()
            self.at = start
            if src[start + 1] == "/":
                if names and names[-1] == name and flags[-1] & (SLOW | DEAD | KEPT) \
                        == KEPT:
                    i = len(names) - 1  # the current node's own end: just pop it
                    names.pop()
                    flags.pop()
                    by_name[name].pop()
                    self.ids.pop(i, None)
                else:
                    self.end_tag(name, m.end())
            elif name not in RULED and not (flags and flags[-1] & FOREIGN):
                if not self.push(name, 0, m[2]):
                    self.cut(start, m.end())
            else:
                skip = self.start_tag(name, m[2], m.end())
        if not self.out:
            return src, self.deepest
        self.out.append(src[self.copied:])
        return "".join(self.out), self.deepest

    def start_tag(self, name: str, attrs: str, end: int) -> int:
        """Handle one start tag; returns where scanning goes on (after raw text)."""
        self_closing = attrs.rstrip().endswith("/") and not UNQUOTED_SLASH.search(attrs)
        ns = self.foreign_now()
        if ns:
            if name in BREAKOUT or (name == "font" and re.search(r"color|face|size", attrs,
                                                                  re.I)):
                while self.names and self.foreign_now():
                    self.pop_to(len(self.names) - 1)
            else:
                if not self_closing and not self.push(name, ns, attrs):
                    self.cut(self.at, end)
                return end
        if name in ("select", "input") and self.in_scope("select") >= 0:
            self.pop_to(self.top("select"))  # a select inside a select closes it
            if name == "select":
                return end
        if name in ("svg", "math"):
            if self_closing:
                return end
            if not self.push(name, SVG if name == "svg" else MATH, attrs):
                self.cut(self.at, end)
            return end
        if name in ("html", "body", "head", "frameset") or (name == "form" and
                                                           self.top("form") >= 0):
            return end
        if name in TABLE_PARTS and self.top("table") < 0 and self.top("template") < 0:
            return end  # a cell or row outside any table is ignored
        self.implied_ends(name)
        if name in VOID or name == "image":
            if self.depth() >= self.limit and name != "br":
                self.cut(self.at, end, "<br>" if name == "hr" else "")
            return end
        if name in ("td", "th", "tr"):
            self.implied_rows(name)
        kept = self.push(name, 0, attrs)
        if not kept:
            self.cut(self.at, end)
        if name == "plaintext":
            if not kept:
                self.cut(end, len(self.src), html_lib.escape(self.src[end:], quote=False))
            return len(self.src)
        if name in RAW:
            return self.raw_text(name, kept, end)
        return end

    def implied_ends(self, name: str) -> None:
        """Pops the tree builder does before inserting `name`."""
        if name in P_CLOSERS:
            i = self.in_scope("p", "button")
            if i >= 0:
                self.pop_to(i)
        if name == "li" or name in ("dd", "dt"):
            i = self.last(self.special_adp)
            if i >= 0 and self.names[i] in (("li",) if name == "li" else ("dd", "dt")):
                self.pop_to(i)
        elif name in HEADINGS:
            if self.names and self.names[-1] in HEADINGS:
                self.pop_to(len(self.names) - 1)
        elif name in ("td", "th", "tr", *SECTIONS):
            self.close_table_parts(name)
        elif name == "table":
            table = self.top("table")  # a table straight in a table closes it
            if table >= 0 and max(self.top("td"), self.top("th"), self.top("caption")) < table:
                self.pop_to(table)
        elif name in ("option", "optgroup"):
            if self.names and self.names[-1] == "option":
                self.pop_to(len(self.names) - 1)
            if name == "optgroup" and self.names and self.names[-1] == "optgroup":
                self.pop_to(len(self.names) - 1)
        elif name in ("a", "nobr", "button"):
            if self.in_scope(name) >= 0:
                self.end_tag(name, -1)

    def close_table_parts(self, name: str) -> None:
        """A new cell closes the open cell, a row the open row, a section the section."""
        table = max(self.top("table"), self.top("template"))
        wanted = {"td": ("td", "th"), "th": ("td", "th"), "tr": ("tr", "td", "th")}.get(
            name, (*SECTIONS, "tr", "td", "th"))
        found = [self.top(w) for w in wanted]
        found = [i for i in found if i > table]
        if found:
            self.pop_to(min(found))

    def implied_rows(self, name: str) -> None:
        """A cell or row straight in a table gets the `<tbody>` (and `<tr>`) the tree
        builder inserts for it."""
        table = self.top("table")
        if table < 0 or table < self.top("template"):
            return
        if max(self.top(s) for s in SECTIONS) < table:
            self.push("tbody")
        if name != "tr" and self.top("tr") < table:
            self.push("tr")

    def raw_text(self, name: str, kept: bool, end: int) -> int:
        """Skip a raw text element's content (its end tag is scanned as usual)."""
        m = RAW_END[name].search(self.src, end)
        stop = m.start() if m else len(self.src)
        if not kept:
            content = self.src[end:stop]
            if name in INVISIBLE:
                content = ""
            elif name == "textarea":
                content = content.replace("<", "&lt;")
            else:
                content = html_lib.escape(content, quote=False)
            self.cut(end, stop, content)
        return stop

    def end_tag(self, name: str, end: int) -> None:
        """Pop what this end tag pops in the tree builder; an end tag that closes a
        flattened element is not passed on (lexbor never saw its start). `end` < 0: an
        end the tree builder implies (nothing to cut)."""
        i, closing = self.end_target(name)
        if i < 0:
            return
        dropped = not self.flags[i] & KEPT
        self.pop_to(i, closing)
        if dropped and end >= 0:
            self.cut(self.at, end)

    def end_target(self, name: str) -> tuple[int, str | None]:
        """(index the end tag pops to or -1, the name it closes by its own end)."""
        if self.names and self.flags[-1] & FOREIGN:
            i = max(self.top("svg " + name), self.top("math " + name))
            if i >= 0 and i > self.html_below[len(self.names) - 1]:
                return i, self.names[i]
            if name in ("br", "p"):  # these end foreign content, then act as in HTML
                while self.names and self.foreign_now():
                    self.pop_to(len(self.names) - 1)
        if name in ("option", "optgroup"):
            i = len(self.names) - 1
            return (i if i >= 0 and self.names[i] == name else -1), name
        if name in FORMATTING:
            return self.formatting_end(name), name
        if name == "p":
            return self.in_scope("p", "button"), name
        if name == "li":
            return self.in_scope("li", "ol", "ul"), name
        if name in HEADINGS:
            return max(self.in_scope(h) for h in HEADINGS), None
        if name == "form":
            i = self.in_scope("form")
            if i >= 0:
                self.kill(i)  # removed from the stack, what it holds stays open
            return -1, None
        if name in ("body", "html", "head", "br"):
            return -1, None
        if name in SPECIAL or name in MARKERS:
            return self.in_scope(name), name
        i = self.top(name)
        return (i if i >= 0 and i > self.last(self.special) else -1), name

    def formatting_end(self, name: str) -> int:
        """The adoption agency, as far as the stack goes (HTML5 13.2.6.4.7). Without a
        furthest block (a special element above the formatting element) it pops to the
        formatting element: that index is returned. With one, the elements between them
        leave the stack (but up to three formatting ones), the formatting element leaves
        it, and its copy sits on the furthest block, where the next of at most eight
        rounds starts. A formatting element no longer open is forgotten (a zombie)."""
        f = self.in_scope(name)
        if f < 0:
            if self.top(name) < 0:
                self.kill_zombie(name)
            return -1
        copy = False  # after round one, F is a copy just above entry f
        for _ in range(8):
            fb = self.special_above(f)
            if fb < 0:
                if copy:
                    self.pop_to(f + 1)
                    return -1
                return f
            kept_formatting = 0
            for j in range(fb - 1, f, -1):
                flag = self.flags[j]
                if flag & DEAD:
                    continue
                if flag & FORMATTING_BIT and kept_formatting < 3:
                    kept_formatting += 1
                else:
                    self.kill(j)
            if not copy:
                self.kill(f)
            f, copy = fb, True
        self.add_zombie(name, name)  # the last copy stays open; count it like a zombie
        return -1
