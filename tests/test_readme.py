"""The README a newcomer reads first stays true: it opens with the two set-up commands, its
command table names exactly the commands the CLI has, its Seller Central addresses are
ones the CLI accepts, and every link in it and in ``docs/*.md`` stays inside the
repository.

The link rule, decided here: a Markdown link or image (inline, reference-style or
``<autolink>``) must be a relative path to a file of this repository (and, with a
``#fragment``, to a heading of that file), because the README is read in checkouts,
archives and mirrors where an outside page may be gone or different. A web address may
still be *shown* as code (`` `https://sellercentral.amazon.de` ``, in a code block),
where no renderer turns it into a link; outside code none may appear, since GitHub
links bare addresses too."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import click
import pytest

from companion.cli import COMMANDS, SUMMARIES
from companion.cli.options import check_portal, check_spapi
from fixtures.harness import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
INDENTED = re.compile(r"^(?: {4}|\t).*$", re.M)
CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+[^)]*)?\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
AUTOLINK = re.compile(r"<([a-z][a-z0-9+.-]*:[^\s>]*)>", re.I)
WEB_ADDRESS = re.compile(r"https?://|\bwww\.", re.I)


def prose(text: str) -> str:
    """The text a renderer may turn into links: without code blocks and code spans."""
    return CODE_SPAN.sub("", INDENTED.sub("", FENCE.sub("", text)))


def anchors(path: Path) -> set[str]:
    """GitHub's ids for the headings of a Markdown file."""
    out = set()
    for line in prose_lines(path):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m[1].strip().lower()).replace(" ", "-")
            out.add(slug)
    return out


def prose_lines(path: Path) -> list[str]:
    return FENCE.sub("", path.read_text(encoding="utf-8")).splitlines()


def links(text: str) -> list[str]:
    body = prose(text)
    return (INLINE_LINK.findall(body) + REFERENCE.findall(body) + AUTOLINK.findall(body))


def section(text: str, heading: str) -> str:
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"README has no section '## {heading}'"
    return m[1]


def cli_commands() -> set[str]:
    """The commands `caselog --help` lists: the group's own and the entry-point plugins
    pyproject declares (read from the file, not from whatever is installed)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    plugins = project["project"]["entry-points"]["caselog.commands"]
    return set(COMMANDS) | set(plugins)


def test_readme_opens_with_the_two_setup_commands():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[:6] == ["# caselog", "", "```", "bash scripts/dev.sh demo",
                         "bash scripts/dev.sh test", "```"]


def test_command_table_names_every_command_of_the_cli():
    table = section(README.read_text(encoding="utf-8"), "Commands")
    listed = set(re.findall(r"^\|\s*`caselog ([a-z][\w-]*)", table, re.M))
    assert listed == cli_commands(), (f"missing from README: {cli_commands() - listed}; "
                                      f"not commands: {listed - cli_commands()}")
    assert set(SUMMARIES) == cli_commands()  # and `caselog --help` has a line for each


def test_own_account_addresses_are_ones_the_cli_accepts():
    own = section(README.read_text(encoding="utf-8"), "Using caselog with your own "
                  "Seller Central account")
    rows = re.findall(r"^\| [^|]+ \| `(https://[^`]+)`[^|]*\| `(\w+)` \|$", own, re.M)
    assert len(rows) >= 20, "the table of Seller Central addresses is missing or changed shape"
    for address, region in rows:
        assert check_portal(None, None, address) == address
        assert check_spapi(None, None, region).startswith("https://sellingpartnerapi-")
    for example in re.findall(r"--portal (\S+)", own):
        if example.startswith("http"):
            assert check_portal(None, None, example) == example


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_stay_inside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    stray = [line.strip() for line in prose(text).splitlines() if WEB_ADDRESS.search(line)]
    assert not stray, f"web addresses outside code (a renderer links them): {stray}"
    for target in links(text):
        assert target and not re.match(r"^[a-z][a-z0-9+.-]*:|^//|^/", target, re.I), \
            f"{target!r}: links must be relative paths inside the repository"
        file_part, _, fragment = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        assert dest.is_relative_to(ROOT) and dest.is_file(), \
            f"{target!r} does not point at a file of the repository"
        if fragment and dest.suffix == ".md":
            assert fragment in anchors(dest), f"{target!r}: no such heading in {dest.name}"


def test_the_link_check_catches_what_it_should():
    """The rule above on made-up text, so that a regex that stopped matching cannot pass
    the real files by finding nothing."""
    text = ("See [site](https://example.com), ![img](docs/x.png) and <https://a.example>.\n"
            "[ref]: ../outside.md\n\n    https://in-an-indented-block.example\n"
            "Plain `https://in-a-code-span.example` and http://bare.example here.\n")
    assert links(text) == ["https://example.com", "docs/x.png", "../outside.md",
                           "https://a.example"]
    assert [bool(WEB_ADDRESS.search(line)) for line in prose(text).splitlines()] == \
        [True, False, False, False, True]
    with pytest.raises(click.BadParameter):
        check_portal(None, None, "sellercentral.amazon.de")
