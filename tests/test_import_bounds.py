"""``caselog import`` is bounded at its edge: it refuses what is not a regular file (FIFOs
would hang it, devices stream forever), follows symlinks and checks what they name,
never reads past its size cap, archives nothing that is not a saved case page, says
"not a saved Seller Central case page" with how to save one, and reads UTF-16 pages."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from companion.capture.archive import Archive
from companion.capture.importer import import_pages
from companion.schema import open_db
from fixtures.harness import run_caselog

DATA = Path(__file__).parent / "data"
PAGE = DATA / "case_40718231605_en_US.html"


@pytest.fixture
def target(tmp_path):
    """(database, archive root) on a real SQLite file."""
    return open_db(tmp_path / "caselog.db"), tmp_path / "captures"


def _import(target, *paths, **kw):
    db, root = target
    return import_pages(db, list(paths), archive=Archive(root), **kw)


def _archived(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.name != "index.jsonl"]


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "page.html"
    os.mkfifo(fifo)
    done = []

    def attempt():  # a thread of its own, so a hang fails the test instead of the run
        target = (open_db(tmp_path / "caselog.db"), tmp_path / "captures")
        done.append(_import(target, fifo))

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(20)
    assert done, "import blocked on a FIFO"
    assert "not a regular file" in done[0][0].error


def test_a_symlink_to_a_device_is_refused(target, tmp_path):
    link = tmp_path / "zero.html"
    link.symlink_to("/dev/zero")
    (result,) = _import(target, link)
    assert "not a regular file" in result.error


def test_a_symlink_to_a_system_file_is_not_archived(target, tmp_path):
    link = tmp_path / "case.html"
    link.symlink_to("/etc/passwd")
    (result,) = _import(target, link)
    assert "not a saved Seller Central case page" in result.error
    assert "Save page as" in result.error  # how to save one
    assert _archived(target[1]) == []


def test_the_size_cap_refuses_before_reading(target, tmp_path):
    big = tmp_path / "big.html"
    with open(big, "wb") as fh:
        fh.truncate(3 * 1024 * 1024)  # sparse: costs no disk
    (result,) = _import(target, big, max_bytes=1024 * 1024)
    assert "over the 1 MB import limit" in result.error and "--max-mb" in result.error


def test_folders_and_missing_files_are_named(target, tmp_path):
    results = _import(target, tmp_path, tmp_path / "nope.html")
    assert "is a folder" in results[0].error and "no such file" in results[1].error


def test_junk_is_not_a_case_page(target, tmp_path):
    junk = tmp_path / "junk.html"
    junk.write_bytes(os.urandom(200_000))
    notes = tmp_path / "notes.html"
    notes.write_text("<html><body><p>my notes</p></body></html>")
    results = _import(target, junk, notes)
    assert all("not a saved Seller Central case page" in r.error for r in results)
    assert _archived(target[1]) == []


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-8-sig"])
def test_pages_saved_in_other_encodings_import_alike(target, tmp_path, codec):
    text = PAGE.read_text(encoding="utf-8")
    (plain,) = _import(target, PAGE)
    assert plain.error is None and plain.messages > 0
    other = tmp_path / f"page-{codec}.html"
    other.write_bytes(text.encode(codec))
    (again,) = _import(target, other)
    assert again.error is None, again.error
    assert (again.case_id, again.messages) == (plain.case_id, plain.messages)
    subjects = {r[0] for r in target[0].execute("select subject from cases")}
    assert len(subjects) == 1 and "\ufffd" not in next(iter(subjects))


def test_the_cli_says_what_to_do_for_every_refused_file(tmp_path):
    home = tmp_path / "home"
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    r = run_caselog("import", str(notes), str(tmp_path / "missing.html"),
                    env={"CASELOG_HOME": str(home)})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "notes.txt: this is not a saved Seller Central case page" in r.stderr
    assert "missing.html: there is no such file" in r.stderr
