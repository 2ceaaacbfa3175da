#!/usr/bin/env bash
# Install the workstation in .venv and start it with 2,000 synthetic demo cases: the README's first command.
# On a headless machine with no system keyring, run it as
#   UMWS_ALLOW_INSECURE_KEYRING=1 PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring bash tools/demo.sh
# (demo data only: the store key then sits in a plaintext file).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q -e .
if [ "${PYTHON_KEYRING_BACKEND:-}" = "keyrings.alt.file.PlaintextKeyring" ]; then
  .venv/bin/python -m pip install -q keyrings.alt
fi
exec .venv/bin/python main.py --demo "$@"
