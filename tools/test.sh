#!/usr/bin/env bash
# The whole test suite on a fresh Debian/Ubuntu machine with Python 3.11: the README's test command, and CI's.
# Installs the system packages the tests use when they are missing (needs root or sudo), makes .venv, installs the
# workstation with its test extras, and runs pytest with Qt offscreen, an in-memory keyring and a real PostgreSQL
# that the tests start themselves; then, for a whole run, builds the Linux bundle and runs its self-check.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3-venv postgresql libegl1 libgl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3
          libxcb-cursor0 fonts-dejavu-core poppler-utils)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,installer]'

export QT_QPA_PLATFORM=offscreen
export UMWS_ALLOW_INSECURE_KEYRING=1
if [ -z "${UMWS_PG_BIN:-}" ]; then
  UMWS_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  export UMWS_PG_BIN
fi
.venv/bin/python -m pytest "$@"
# The installer never rots (issue 10): build the Linux bundle and run the frozen app's self-check. Skipped when
# pytest was given arguments (a developer running a few tests), never in CI.
if [ $# -eq 0 ]; then
  bash tools/bundle_check.sh
fi
