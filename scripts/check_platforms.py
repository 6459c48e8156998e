"""The static check for the platforms CI cannot run: mypy reads companion, scrapers and
webui as Windows (win32) and macOS (darwin) would, and reports only what those platforms
lack (a module attribute they do not have: ``os.fchmod``, ``fcntl.flock``,
``resource.RLIMIT_AS``, ``os.getuid``...). Type errors that every platform shares are not
this check's business. Installed libraries are not read (``--follow-imports=skip``: only
the standard library's stubs and caselog's own code), which halves a cold run; exit 0
when there is none; each platform keeps its own cache, so a second run takes seconds.

    .venv/bin/python scripts/check_platforms.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("companion", "scrapers", "webui")
PLATFORMS = ("win32", "darwin")
# A name the platform's standard library does not have, however it is reached.
PLATFORM_ERROR = re.compile(r'error: Module( "[\w.]+")? has no attribute|'
                            r'error: Module "[\w.]+" does not explicitly export')


def check(platform: str) -> list[str]:
    out, err, _ = api.run([
        "--platform", platform, "--python-version", "3.11",
        "--ignore-missing-imports", "--follow-imports=skip",
        "--no-error-summary", "--show-error-codes", "--no-pretty",
        "--cache-dir", str(ROOT / ".mypy_cache" / platform),
        *(str(ROOT / p) for p in PACKAGES)])
    if err.strip():
        raise SystemExit(f"mypy could not run for {platform}:\n{err}")
    return [f"{platform}: {line}" for line in out.splitlines() if PLATFORM_ERROR.search(line)]


def main() -> int:
    problems = [line for platform in PLATFORMS for line in check(platform)]
    for line in problems:
        print(line)
    print(f"platform check ({', '.join(PLATFORMS)}): "
          f"{len(problems) or 'no'} platform problem{'' if len(problems) == 1 else 's'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
