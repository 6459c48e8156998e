#!/usr/bin/env bash
# One entry point for a fresh machine: installs what caselog needs (idempotently), then
# runs either the demo or the test suite. The README's two commands call this script, and
# so does CI, so that what a newcomer types is exactly what CI proves.
set -euo pipefail
cd "$(dirname "$0")/.."

need_browser() {
  # A Playwright-managed browser or any installed Chrome/Chromium will do; only when
  # none is present do we install Debian's chromium (Playwright's download fails here).
  if [ -n "${CASELOG_BROWSER:-}" ] && [ -x "${CASELOG_BROWSER}" ]; then return 1; fi
  for b in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$b" >/dev/null 2>&1 && return 1
  done
  ls "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}"/chromium-*/chrome-linux*/chrome >/dev/null 2>&1 && return 1
  return 0
}

setup() {
  if need_browser; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "caselog: installing Chromium from Debian..." >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null
    else
      echo "caselog: no Chrome or Chromium found; install one (e.g. 'sudo apt-get install chromium') or set CASELOG_BROWSER" >&2
      exit 2
    fi
  fi
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  stamp=.venv/.caselog-installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e '.[test]'
    # Optional: tests/test_datasette.py skips without it, so a failed install is no error.
    .venv/bin/python -m pip install -q -e '.[datasette]' >/dev/null 2>&1 ||
      echo "caselog: Datasette not installed; tests/test_datasette.py will be skipped" >&2
    touch "$stamp"
  fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
  demo)
    setup
    exec .venv/bin/caselog demo "$@"
    ;;
  test)
    setup
    .venv/bin/ruff check .
    # Two workers, a whole test file each: most tests wait on real servers and Chromium,
    # so two cores run two files at once; a file's shared portal starts only once.
    exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
    ;;
  setup)
    setup
    ;;
  *)
    echo "usage: scripts/dev.sh demo|test|setup [args...]" >&2
    exit 2
    ;;
esac
