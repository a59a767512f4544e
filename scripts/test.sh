#!/usr/bin/env bash
# README command 2: install everything the tests need, then run them. `.ci/run` calls this.
# Needs: python3 (3.11+). Installs Debian's chromium for the report screenshot test when run as
# root on a machine without it (elsewhere that one test is skipped with its reason).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'
.venv/bin/python -m pytest "$@"
