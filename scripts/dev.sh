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
  for app in "Google Chrome" "Microsoft Edge" "Chromium"; do
    [ -x "/Applications/$app.app/Contents/MacOS/$app" ] && return 1
    [ -x "$HOME/Applications/$app.app/Contents/MacOS/$app" ] && return 1
  done
  ls "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/Library/Caches/ms-playwright}"/chromium-*/chrome-mac*/*.app >/dev/null 2>&1 && return 1
  [ -x /opt/google/chrome/chrome ] || [ -x /opt/microsoft/msedge/msedge ] && return 1
  return 0
}

on_mac() { [ "$(uname -s)" = Darwin ]; }

python_ok() {  # a Python caselog runs on: 3.11 or newer
  "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

find_python() {
  for py in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null 2>&1 && python_ok "$py"; then echo "$py"; return 0; fi
  done
  if on_mac; then
    echo "caselog: needs Python 3.11 or newer; install it with 'brew install python@3.12'" \
      "(or from python.org), then run this again" >&2
  else
    echo "caselog: needs Python 3.11 or newer (python3 is older or missing); install it" \
      "(Debian/Ubuntu: 'sudo apt-get install python3.11 python3.11-venv'), or set PYTHON" >&2
  fi
  exit 2
}

missing_fonts() {
  # Debian's names for the fonts Chromium lacks. Without them the Japanese, Chinese and
  # Korean cases and every emoji show as boxes in the UI, its screenshots and the browser
  # tests, whether or not this script installed Chromium. fontconfig is what Chromium
  # asks, so ask it (any font that covers the script will do); without it, dpkg.
  if command -v fc-list >/dev/null 2>&1; then
    for lang in ja zh ko; do
      if [ -z "$(fc-list ":lang=$lang" family)" ]; then echo fonts-noto-cjk; break; fi
    done
    fc-list : family | grep -i emoji >/dev/null || echo fonts-noto-color-emoji
  else
    for p in fonts-noto-cjk fonts-noto-color-emoji; do
      dpkg -s "$p" >/dev/null 2>&1 || echo "$p"
    done
  fi
}

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq && apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

setup_fonts() {
  # Soft: caselog works without these fonts, it only shows boxes for the text they cover.
  # macOS ships CJK and emoji fonts.
  on_mac && return 0
  local fonts
  fonts="$(missing_fonts | tr '\n' ' ')"
  fonts="${fonts% }"
  [ -n "$fonts" ] || return 0
  if can_apt; then
    echo "caselog: installing fonts for CJK text and emoji ($fonts)..." >&2
    # shellcheck disable=SC2086  # a list of package names
    apt_install $fonts && return 0
    echo "caselog: could not install $fonts (is the network up?); continuing" >&2
  else
    echo "caselog: fonts for CJK text or emoji are missing, so they will show as boxes;" \
      "install them with 'sudo apt-get install $fonts' (continuing without them)" >&2
  fi
}

setup() {
  if need_browser; then
    if on_mac; then
      echo "caselog: no Chrome, Edge or Chromium found; install Google Chrome (google.com/chrome," \
        "or 'brew install --cask google-chrome') or set CASELOG_BROWSER" >&2
      exit 2
    elif can_apt; then
      echo "caselog: installing Chromium from Debian..." >&2
      apt_install chromium
    else
      echo "caselog: no Chrome or Chromium found; install one (e.g. 'sudo apt-get install chromium') or set CASELOG_BROWSER" >&2
      exit 2
    fi
  fi
  setup_fonts
  if [ -x .venv/bin/python ] && ! python_ok .venv/bin/python; then
    # Made by an older Python (pip refuses caselog there): rebuild it with a newer one.
    echo "caselog: .venv was made by $(.venv/bin/python -V 2>&1); rebuilding it" >&2
    rm -rf .venv
  fi
  if [ ! -x .venv/bin/python ]; then
    py="$(find_python)" || exit 2
    "$py" -m venv .venv
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
    # The map of docs/DESIGN.md, held against the code (contracts in pyproject.toml).
    .venv/bin/lint-imports
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
