"""The product code read as Windows and macOS would (``scripts/check_platforms.py``,
mypy with ``--platform win32`` and ``darwin``): no name those platforms lack. The one
exception allowed is the sync lock's ``fcntl`` in companion/accounts.py, for as long as
that file imports it, and only those lines: anything else is a new platform problem."""

from __future__ import annotations

import subprocess
import sys

from fixtures.harness import ROOT

SCRIPT = ROOT / "scripts" / "check_platforms.py"


def test_no_name_windows_or_macos_lacks():
    r = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                       timeout=240, cwd=ROOT)
    problems = r.stdout.splitlines()[:-1]
    assert r.stdout.splitlines()[-1].startswith("platform check (win32, darwin):"), \
        r.stdout + r.stderr
    uses_fcntl = "import fcntl\n" in (ROOT / "companion/accounts.py").read_text("utf-8")
    allowed = [p for p in problems if uses_fcntl and p.startswith("win32: companion/accounts.py")
               and "fcntl" not in p and ('"flock"' in p or '"LOCK_' in p)]
    assert problems == allowed, "\n".join(problems)
    assert r.returncode == (1 if allowed else 0)
