"""caselog installed as a seller installs it: a wheel built from this checkout's tracked
files, installed in a fresh virtual environment outside the checkout, runs ``caselog
demo`` from an empty folder and serves its pages.

The fresh environment borrows the test environment's dependencies (a ``.pth`` line adding
its site-packages after its own; those folders' ``.pth`` files, the editable install's
among them, are not run), so nothing is downloaded and caselog itself comes only from
the wheel, which the test checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import urllib.request
import venv
from pathlib import Path

import pytest

from fixtures.harness import ROOT, free_port, stop_process, wait_until


def tracked_files() -> list[str]:
    """What a clone of the repository holds (a build from a working tree with stray
    files in it would prove less)."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: cannot tell the tracked files")
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                         check=True).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of the repository's tracked files."""
    src = tmp_path_factory.mktemp("source")
    for name in tracked_files():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    return src


@pytest.fixture(scope="module")
def installed(source, tmp_path_factory) -> Path:
    """The fresh environment's ``bin`` (``Scripts`` on Windows) with caselog in it."""
    base = tmp_path_factory.mktemp("wheel")
    src, dist, env_dir = source, base / "dist", base / "venv"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(dist), str(src)], check=True,
                   capture_output=True, timeout=240)
    wheel, = dist.glob("caselog-*.whl")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    scripts = "Scripts" if os.name == "nt" else "bin"
    python = env_dir / scripts / ("python.exe" if os.name == "nt" else "python")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True,
                   timeout=240)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True, check=True).stdout
    (Path(site.strip()) / "borrowed-dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n")
    return env_dir / scripts


def test_the_sdist_leaves_out_the_tests_it_could_not_run(source, tmp_path):
    """The tests need the whole checkout (conftest, helpers, benchmarks): an sdist
    carries none of them rather than some."""
    build = ("import sys; from setuptools import build_meta; "
             "print(build_meta.build_sdist(sys.argv[1]))")
    r = subprocess.run([sys.executable, "-c", build, str(tmp_path)], cwd=source,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    with tarfile.open(tmp_path / r.stdout.strip().splitlines()[-1]) as sdist:
        names = [n.split("/", 1)[1] for n in sdist.getnames() if "/" in n]
    assert "LICENSE" in names and "README.md" in names and "docs/DESIGN.md" in names
    assert "companion/cli/__init__.py" in names and "fixtures/cli.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "scripts/"))]


def clean_env() -> dict:
    """A seller's shell: no PYTHONPATH into the checkout, no CASELOG_HOME."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "CASELOG_HOME", "CASELOG_ACCOUNT", "VIRTUAL_ENV")}


def test_the_wheel_holds_caselog_and_its_licence(installed, tmp_path):
    probe = ("import companion, webui, importlib.metadata as m; print(companion.__file__); "
             "print(m.distribution('caselog').read_text('licenses/LICENSE')[:11])")
    python = next(installed.glob("python*"))
    r = subprocess.run([str(python), "-c", probe], cwd=tmp_path, env=clean_env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    where, licence = r.stdout.splitlines()
    assert Path(where).is_relative_to(installed.parent) and licence == "MIT License"


def test_caselog_demo_runs_from_an_empty_folder(installed, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    ui_port, portal_port = free_port(), free_port()
    log = tmp_path / "demo.log"
    address = f"Open http://127.0.0.1:{ui_port}/"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(installed / "caselog"), "demo", "--port", str(ui_port),
             "--portal-port", str(portal_port), "--cases", "8"],
            cwd=folder, env=clean_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: address in log.read_text(errors="replace")
                   or proc.poll() is not None, timeout=150, what="the demo's address")
        assert proc.poll() is None, log.read_text(errors="replace")
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/cases", timeout=30) as r:
            page = r.read().decode()
        assert "8 cases" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/static/htmx-2.0.11.min.js",
                                    timeout=30) as r:
            assert r.status == 200 and len(r.read()) > 10_000  # package data is in the wheel
        assert (folder / "caselog-home" / "caselog.db").is_file()
    finally:
        stop_process(proc)
