"""The map of the house holds in the code: no module of companion, scrapers or webui sits
in an import circle, and the commands that need no browser never load one.

Which room may import which is the import-linter contracts in pyproject.toml, checked by
``lint-imports`` in ``scripts/dev.sh test``; circles inside a room are what a layers
contract cannot see, so they are checked here, with import-linter's own graph (grimp),
which counts the imports inside functions too.
"""

from __future__ import annotations

import os
import subprocess
import sys

import grimp
import pytest

from fixtures.harness import ROOT

PACKAGES = ("companion", "scrapers", "webui")


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every set of modules that import each other, directly or not (each sorted)."""
    found, seen = [], set()
    for module in sorted(graph.modules):
        if module in seen:
            continue
        both_ways = (graph.find_upstream_modules(module)
                     & graph.find_downstream_modules(module))
        if both_ways:
            members = sorted(both_ways | {module})
            seen.update(members)
            found.append(members)
    return found


def one_loop(graph: grimp.ImportGraph, members: list[str]) -> str:
    """A chain of imports around the circle, from its first module back to it."""
    start = members[0]
    for step in sorted(graph.find_modules_directly_imported_by(start)):
        back = step in members and graph.find_shortest_chain(importer=step, imported=start)
        if back:
            return " -> ".join((start, *back))
    return ", ".join(members)


def test_circles_finds_a_circle_and_names_its_loop(tmp_path, monkeypatch):
    """The check itself, on a package made for it: it must see a circle held by an import
    inside a function, and leave a one-way import alone."""
    pkg = tmp_path / "circled"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from circled import b\n")
    (pkg / "b.py").write_text("def later():\n    from circled import c\n")
    (pkg / "c.py").write_text("import circled.a\n")
    (pkg / "d.py").write_text("from circled import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("circled", cache_dir=None)
    assert circles(graph) == [["circled.a", "circled.b", "circled.c"]]
    assert one_loop(graph, ["circled.a", "circled.b", "circled.c"]) == (
        "circled.a -> circled.b -> circled.c -> circled.a")


def test_no_module_sits_in_an_import_circle():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    found = circles(graph)
    assert found == [], "import circles:\n" + "\n".join(one_loop(graph, c) for c in found)


PROBE = ("import atexit, runpy, sys\n"
         "atexit.register(lambda: print('MODULES', *sorted(sys.modules), file=sys.stderr))\n"
         "sys.argv = ['caselog', *sys.argv[1:]]\n"
         "runpy.run_module('companion', run_name='__main__')\n")


def modules_held(*args: str, home) -> set[str]:
    """Every module a ``caselog ARGS`` process holds when it exits."""
    r = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True,
                       text=True, env={**os.environ, "CASELOG_HOME": str(home)}, timeout=60)
    line = next(x for x in r.stderr.splitlines() if x.startswith("MODULES "))
    return set(line.split()[1:])


def tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_help_loads_no_command_nor_their_libraries(tmp_path):
    held = modules_held("--help", home=tmp_path)
    assert "companion.cli" in held
    assert not {m for m in held if m.startswith("companion.cli.")}
    assert not tops(held) & {"playwright", "flask", "sqlite_utils", "scrapers", "webui"}


@pytest.mark.parametrize("args, command", [
    (("dossier", "10000000001"), "companion.cli.replies"),
    (("serve", "--help"), "webui.app"),
])
def test_commands_without_a_browser_never_load_playwright(tmp_path, args, command):
    held = modules_held(*args, home=tmp_path)
    assert command in held  # the probe saw the command's own modules
    assert "playwright" not in tops(held)
