# mmdet-psroi: the two commands are `make test` and `make demo` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
VENV_CUDA ?= .venv-cuda
PY        := $(VENV)/bin/python
PY_CUDA   := $(VENV_CUDA)/bin/python
ENV_STAMP := $(VENV)/.mmdet-psroi-env
OP_SOURCES := $(shell find mmdet_psroi/ops/csrc -type f 2>/dev/null) setup.py
OP_STAMP  := build/.op-inplace.stamp
NVCC      := $(shell command -v nvcc 2>/dev/null || ls $${CUDA_HOME:-/usr/local/cuda}/bin/nvcc 2>/dev/null)
PYTEST_ARGS ?=

.PHONY: help env env-cuda op op-cuda test test-cpu test-cuda demo demo-seeds lint benchmark benchmark-torchvision clean

help:
	@echo "make test   create the environment if missing, then run the whole test suite"
	@echo "make demo   create the environment if missing, then run the R-FCN vs RoI Align demo"
	@echo "make demo-seeds   the demo over 3 seeds (mean, std, paired intervals); reuses finished runs"
	@echo "make lint   ruff"
	@echo "make benchmark   op and head benchmarks (.venv; op peer: mmcv RoIAlign)"
	@echo "make benchmark-torchvision   op benchmark against torchvision (.venv-cuda)"

env: $(ENV_STAMP)
$(ENV_STAMP): tools/env/make_venv.sh requirements/constraints.txt
	bash tools/env/make_venv.sh $(VENV)

# Rebuild the compiled op in place when its sources change (ninja: incremental).
op: $(OP_STAMP)
$(OP_STAMP): $(ENV_STAMP) $(OP_SOURCES)
	@echo "[op] compiling mmdet_psroi.ops._C (CPU) in place"
	$(PY) setup.py -q build_ext --inplace
	@mkdir -p build && touch $@

env-cuda:
	bash tools/env/make_venv_cuda.sh $(VENV_CUDA)

test: test-cpu test-cuda

test-cpu: op
	$(VENV)/bin/ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

# Op-level checks against torch 2.14 + torchvision, and the nvcc build of the CUDA kernels.
test-cuda:
ifeq ($(NVCC),)
	@echo "[test-cuda] SKIPPED: nvcc not found (set CUDA_HOME or put nvcc on PATH);"
	@echo "[test-cuda] the CUDA build and the torchvision comparison did not run."
else
	$(MAKE) --no-print-directory op-cuda
	$(WITH_CUDA_OP) -m pytest tests/ops $(PYTEST_ARGS)
endif

# The op built by nvcc against .venv-cuda's torch (also the CPU kernels, for torchvision runs).
WITH_CUDA_OP = MMDET_PSROI_LIBRARY=$$(ls build/cuda/lib/mmdet_psroi/ops/_C*.so) \
	PYTHONPATH=$(CURDIR) $(PY_CUDA)
op-cuda: env-cuda
	bash tools/env/build_cuda_ext.sh $(VENV_CUDA)

# The op against torchvision (README's table); needs nvcc like test-cuda.
benchmark-torchvision: op-cuda
	$(WITH_CUDA_OP) tools/benchmark_op.py --threads 1 2 --self-check

demo: op
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH bash tools/demo.sh

# The demo over seeds 0, 1, 2 in the same work dir: the runs `make demo` finished are reused.
demo-seeds: op
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH bash tools/demo.sh --seeds 3

benchmark: op
	$(PY) tools/benchmark_op.py
	$(PY) tools/benchmark_head.py

lint: $(ENV_STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf build mmdet_psroi/ops/_C*.so
