#!/usr/bin/env bash
# Creates (or checks) one environment of the test matrix (the Makefile names them all).
#
# Usage: tools/env/make_venv.sh VENV_DIR "TORCH" CONSTRAINTS STACK
#   TORCH        the torch requirement(s), e.g. "torch==2.13.0" or "torch==2.14.1 torchvision==0.29.1"
#   CONSTRAINTS  the environment's pip constraints file (requirements/constraints-*.txt); it stands
#                in for any machine-wide pip constraint, so the environment is what the file says
#   STACK        ops:       torch, numpy, pytest, pytest-xdist and the op's build tools; the
#                           Makefile builds the op out of tree for this torch (build/<env>/) and
#                           puts the checkout on PYTHONPATH. Every stack also gets the ONNX tools
#                           that CONSTRAINTS pins (onnx, onnxruntime, onnxscript, openvino: the export tests)
#                openmmlab: also mmcv 2.1.0 with ops (built from source against this torch),
#                           mmengine, mmdet, pytest and ruff
#                dev:       openmmlab, plus this package in editable mode (the op compiled in
#                           place); one environment per checkout (.venv) can be that
#                mmdeploy:  openmmlab, plus mmdeploy (the Python package; its tools/deploy.py
#                           and base configs are in third_party/mmdeploy/)
# Environment: PYTHON (default python3; 3.11 is the tested one), MAX_JOBS (default 2),
#   MMDET_PSROI_WHEELS (default ~/.cache/mmdet-psroi/wheels).
#
# mmcv's wheel is built once per machine and torch version, into MMDET_PSROI_WHEELS/torch-<version>/,
# and installed from there. pip's own wheel cache is bypassed for it: pip keys that cache by
# mmcv's source, not by the torch a wheel was built against, so it would hand a torch 2.13 build
# to a torch 2.1 environment (mmcv.ops then fails with "undefined symbol").
# Idempotent: a stamp file in the venv records what was installed; a second run only checks it.
set -euo pipefail

[ $# -eq 4 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2; }
VENV=$1 TORCH=$2 CONSTRAINTS=$3 STACK=$4
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.mmdet-psroi-env"
NAME=$(basename "$VENV")
WANT="$( (cat "$0" "$CONSTRAINTS"; echo "$TORCH $STACK") | sha256sum | cut -c1-16)"

say() { printf '[env %s] %s\n' "$NAME" "$*"; }
die() { printf '[env %s] ERROR: %s\n' "$NAME" "$*" >&2; exit 1; }

case $STACK in ops|openmmlab|dev|mmdeploy) ;; *) die "STACK must be ops, openmmlab, dev or mmdeploy, not '$STACK'";; esac
[ -f "$CONSTRAINTS" ] || die "constraints file $CONSTRAINTS not found"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    say "ready ($TORCH, $STACK)"
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
export PIP_CONSTRAINT=$CONSTRAINTS PIP_DISABLE_PIP_VERSION_CHECK=1
PY="$VENV/bin/python"
PIP=("$PY" -m pip)
"${PIP[@]}" install -q --upgrade pip

say "installing $TORCH and build tools (a CUDA build of torch downloads a few GB the first time)"
# shellcheck disable=SC2086  # TORCH is a list of requirements
"${PIP[@]}" install -q $TORCH numpy setuptools wheel ninja pytest pytest-xdist || die "could not install $TORCH"

# The ONNX export tests' tools, those of onnx, onnxruntime, onnxscript, openvino that CONSTRAINTS pins
# (torch 2.1's environment pins no onnxscript: it exports through TorchScript only).
ONNX_TOOLS=$(sed -n 's/^\(onnx\|onnxruntime\|onnxscript\|openvino\)==.*/\1/p' "$CONSTRAINTS" | tr '\n' ' ')
if [ -n "$ONNX_TOOLS" ]; then
    say "installing $ONNX_TOOLS"
    # shellcheck disable=SC2086  # a list of requirements
    "${PIP[@]}" install -q $ONNX_TOOLS || die "could not install $ONNX_TOOLS"
fi

if [ "$STACK" != ops ]; then
    TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__)')
    WHEELS="${MMDET_PSROI_WHEELS:-$HOME/.cache/mmdet-psroi/wheels}/torch-$TORCH_VERSION"
    if ! compgen -G "$WHEELS/mmcv-2.1.0-*.whl" >/dev/null; then
        say "building mmcv 2.1.0 with ops against torch $TORCH_VERSION into $WHEELS:" \
            "about 9 minutes on 2 cores, once per machine and torch version"
        mkdir -p "$WHEELS"
        MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "${PIP[@]}" wheel -q --no-deps --no-build-isolation \
            --no-cache-dir mmcv==2.1.0 -w "$WHEELS" \
            || die "building mmcv failed (see above). It needs g++, torch installed first and setuptools<81 (pkg_resources)"
    fi
    say "installing mmcv 2.1.0 from $WHEELS, mmengine, mmdet, ruff"
    "${PIP[@]}" install -q --no-deps --no-index --find-links "$WHEELS" mmcv==2.1.0
    "${PIP[@]}" install -q mmcv==2.1.0 mmengine mmdet ruff
    "$PY" -c 'import mmcv.ops' \
        || die "mmcv.ops does not import against torch $TORCH_VERSION: remove $WHEELS and run again"
fi

if [ "$STACK" = mmdeploy ]; then
    say "installing mmdeploy"
    "${PIP[@]}" install -q mmdeploy || die "could not install mmdeploy"
fi

if [ "$STACK" = dev ]; then
    say "installing mmdet-psroi in editable mode (compiles the op in place)"
    "${PIP[@]}" install -q --no-build-isolation --no-deps -e . || die "building mmdet-psroi failed (see above)"
fi

# shellcheck disable=SC2086  # a list of module names
"$PY" - "$STACK" $ONNX_TOOLS <<'PY' || die "the environment does not import cleanly (see above)"
import importlib
import sys

import numpy
import torch

found = [f'torch {torch.__version__}', f'numpy {numpy.__version__}']
for name in sys.argv[2:]:  # the ONNX tools installed above
    found.append(f'{name} {importlib.import_module(name).__version__}')
if sys.argv[1] != 'ops':
    import mmcv
    import mmcv.ops  # noqa: F401  (compiled mmcv ops)
    import mmdet
    import mmengine
    found += [f'mmcv {mmcv.__version__}', f'mmengine {mmengine.__version__}',
              f'mmdet {mmdet.__version__}']
if sys.argv[1] == 'mmdeploy':
    import mmdeploy
    found.append(f'mmdeploy {mmdeploy.__version__}')
if sys.argv[1] == 'dev':
    from mmdet_psroi.ops import ps_roi_align  # noqa: F401
print('[env] ' + ', '.join(found))
PY
echo "$WANT" > "$STAMP"
say "ready"
