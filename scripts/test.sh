#!/usr/bin/env bash
# Install everything the tests need (Python packages, Debian's Chromium) and run them.
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_MKDOCS_2_WARNING=true  # Material's banner about MkDocs 2.0, printed on every build

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "Chromium is missing: run 'sudo apt-get install chromium' first" >&2
    exit 1
  fi
fi

# The page checkers: the Nu HTML Checker (vnu.jar, run with Java 17+) and axe-core, pinned in
# package-lock.json. --ignore-scripts: vnu-jar's install script would download a Java runtime;
# the system's Java is used instead.
if ! command -v java >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless nodejs npm >/dev/null
  else
    echo "Java or npm is missing: run 'sudo apt-get install openjdk-17-jre-headless nodejs npm' first" >&2
    exit 1
  fi
fi
npm install --no-audit --no-fund --ignore-scripts --loglevel=error

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'

.venv/bin/ruff check plugins tests scripts
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
