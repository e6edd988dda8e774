#!/usr/bin/env bash
# Creates (or checks) the pinned development environment used by `make test` and `make demo`:
#   torch 2.13.0 (CPU), mmcv 2.1.0 built from source with ops, mmengine 0.10.7, mmdet 3.3.0,
#   pytest, ruff, and this package in editable mode (compiled op built in place).
# Idempotent: a stamp file in the venv records what was installed; a second run only checks it.
#
# Usage: tools/env/make_venv.sh [VENV_DIR]   (default .venv; PYTHON=python3.11 to choose the interpreter)
set -euo pipefail

VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}
CONSTRAINTS=requirements/constraints.txt
STAMP="$VENV/.mmdet-psroi-env"
WANT="$(cat "$0" "$CONSTRAINTS" | sha256sum | cut -c1-16)"

say() { printf '[env] %s\n' "$*"; }
die() { printf '[env] ERROR: %s\n' "$*" >&2; exit 1; }

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    say "$VENV is ready (pinned stack already installed)"
    exit 0
fi

command -v "$PYTHON" >/dev/null || die "no '$PYTHON' on PATH: install Python 3.11 or set PYTHON=/path/to/python3.11"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || say "warning: $("$PYTHON" --version) is not the tested Python 3.11"
command -v g++ >/dev/null || die "no C++ compiler (g++) found: it is needed to build mmcv and the op (Debian: apt-get install g++)"
"$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    || die "Python headers (Python.h) are missing: install the python3-dev package for your interpreter"

if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip

say "installing torch 2.13.0 (CPU) and build tools"
"${PIP[@]}" install -q -c "$CONSTRAINTS" torch==2.13.0 setuptools wheel numpy ninja

if "$VENV/bin/python" -c 'import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != "2.1.0")' 2>/dev/null; then
    say "mmcv 2.1.0 with ops already installed"
else
    say "building mmcv 2.1.0 from source with ops: about 8 minutes on 2 cores (pip caches the wheel, later installs take seconds)"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "${PIP[@]}" install --no-build-isolation -c "$CONSTRAINTS" mmcv==2.1.0 \
        || die "building mmcv failed (see above). It needs g++, torch installed first and setuptools<81 (pkg_resources)"
fi

say "installing mmengine, mmdet and test tools"
"${PIP[@]}" install -q -c "$CONSTRAINTS" mmengine mmdet pytest ruff

say "installing mmdet-psroi in editable mode (compiles the op)"
"${PIP[@]}" install -q --no-build-isolation --no-deps -e . \
    || die "building mmdet-psroi failed (see above)"

"$VENV/bin/python" - <<'PY' || die "the environment does not import cleanly (see above)"
import mmcv, mmdet, mmengine, torch
import mmcv.ops  # noqa: F401  (compiled mmcv ops)
import mmdet_psroi  # noqa: F401
from mmdet_psroi.ops import ps_roi_align  # noqa: F401
print(f'[env] torch {torch.__version__}, mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}')
PY
echo "$WANT" > "$STAMP"
say "$VENV is ready"
