#!/usr/bin/env bash
# Creates (or checks) the MXNet environment of the converter's parity test: mxnet and numpy as
# requirements/constraints-mxnet.txt pins them, nothing else (the test runs one script there,
# tests/tools/mxnet_reference.py, in a subprocess).
#
# Usage: tools/env/make_mxnet_venv.sh VENV_DIR CONSTRAINTS
# Environment: PYTHON (default python3; mxnet 1.9.1 installs on 3.11 x86_64).
# Idempotent: a stamp in the venv records the constraints it was made from.
set -euo pipefail

[ $# -eq 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2; }
VENV=$1 CONSTRAINTS=$2
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.mmdet-psroi-env"
WANT="$( (cat "$0" "$CONSTRAINTS") | sha256sum | cut -c1-16)"
say() { printf '[env %s] %s\n' "$(basename "$VENV")" "$*"; }

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    say "ready (mxnet)"
    exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
export PIP_CONSTRAINT=$CONSTRAINTS PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/python" -m pip install -q -r "$CONSTRAINTS"
"$VENV/bin/python" -c 'import mxnet; print("mxnet", mxnet.__version__)'
echo "$WANT" > "$STAMP"
say "ready (mxnet)"
