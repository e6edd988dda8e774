# mmdet-psroi: the two commands are `make test` and `make demo` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The test matrix. Each environment: its torch, its pip constraints (requirements/), what
# tools/env/make_venv.sh installs there, and the build of the op it loads.
VENV          ?= .venv
VENV_COMPAT   ?= .venv-compat
VENV_LATEST   ?= .venv-latest
VENV_CUDA     ?= .venv-cuda
VENV_MXNET    ?= .venv-mxnet
VENV_MMDEPLOY ?= .venv-mmdeploy
TORCH_MAIN    := torch==2.13.0
TORCH_COMPAT  := torch==2.1.2
TORCH_LATEST  := torch==2.15.0
TORCH_CUDA    := torch==2.14.1 torchvision==0.29.1
MAKE_VENV     := bash tools/env/make_venv.sh

# Every command runs with the checkout on sys.path, however mmdet-psroi is installed: the tools
# import the tool-only package mmdet_psroi_tools, the projects' configs import projects.*.
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
PY        := $(VENV)/bin/python
ENV_STAMP := $(VENV)/.mmdet-psroi-env
OP_SOURCES := $(shell find mmdet_psroi/ops/csrc -type f 2>/dev/null) setup.py
OP_STAMP  := build/.op-inplace.stamp
NVCC      := $(shell command -v nvcc 2>/dev/null || ls $${CUDA_HOME:-/usr/local/cuda}/bin/nvcc 2>/dev/null)
PYTEST_ARGS ?=
# Each suite runs in pytest-xdist workers, one per core up to 4 (TEST_WORKERS=1: one process),
# each test file in one worker (module fixtures build into shared directories), and each worker
# with one intra-op thread: two workers of two OpenMP threads each on two cores used 1.7x the
# CPU time of one process and ended later. The thread-count tests set their own counts.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))
PYTEST = $(if $(filter-out 1,$(TEST_WORKERS)),OMP_NUM_THREADS=1 $(1) -m pytest -n $(TEST_WORKERS) --dist loadfile,$(1) -m pytest)
# The nvcc build is checked against .venv-cuda's torch only (the CUDA 13 toolkit's headers): both
# of its test files build into build/cuda/, which another torch's build would overwrite.
NVCC_BUILD_TESTS := tests/ops/test_cuda_build*.py
NO_NVCC_BUILD := --ignore-glob='$(NVCC_BUILD_TESTS)'

.PHONY: help env env-compat env-latest env-cuda env-mxnet env-mmdeploy op op-compat op-latest op-cuda \
	test test-main test-compat test-latest test-cuda test-mmdeploy demo demo-seeds lint benchmark benchmark-torchvision clean

help:
	@echo "make test   create the environments if missing, then run the test matrix (README: Compatibility)"
	@echo "make demo   create the environment if missing, then run the R-FCN vs RoI Align demo"
	@echo "make demo-seeds   the demo over 3 seeds (mean, std, paired intervals); reuses finished runs"
	@echo "make lint   ruff"
	@echo "make test-main | test-compat | test-latest | test-cuda | test-mmdeploy   one environment of the matrix"
	@echo "make benchmark   op and head benchmarks (.venv; op peer: mmcv RoIAlign)"
	@echo "make benchmark-torchvision   op benchmark against torchvision (.venv-cuda)"
	@echo "make gpu-check   on a CUDA machine (python3 with torch, torchvision; nvcc): build, op tests, benchmarks -> $(GPU_CHECK_OUT)"

env: $(ENV_STAMP)
$(ENV_STAMP): tools/env/make_venv.sh requirements/constraints-main.txt
	$(MAKE_VENV) $(VENV) "$(TORCH_MAIN)" requirements/constraints-main.txt dev
env-compat:
	$(MAKE_VENV) $(VENV_COMPAT) "$(TORCH_COMPAT)" requirements/constraints-compat.txt openmmlab
env-latest:
	$(MAKE_VENV) $(VENV_LATEST) "$(TORCH_LATEST)" requirements/constraints-latest.txt ops
env-cuda:
	$(MAKE_VENV) $(VENV_CUDA) "$(TORCH_CUDA)" requirements/constraints-cuda.txt ops
# MXNet 1.9.1 alone: the reference the model converter's parity test runs in a subprocess.
env-mxnet:
	bash tools/env/make_mxnet_venv.sh $(VENV_MXNET) requirements/constraints-mxnet.txt
# The users' stack with mmdeploy 1.3.1, whose pins (protobuf<=3.20.2) differ from .venv-compat's.
env-mmdeploy:
	$(MAKE_VENV) $(VENV_MMDEPLOY) "$(TORCH_COMPAT)" requirements/constraints-mmdeploy.txt mmdeploy

# .venv's op is compiled in place when its sources change (ninja: incremental).
op: $(OP_STAMP)
$(OP_STAMP): $(ENV_STAMP) $(OP_SOURCES)
	@echo "[op] compiling mmdet_psroi.ops._C (CPU) in place"
	$(PY) setup.py -q build_ext --inplace
	@mkdir -p build && touch $@

# The other environments load an out-of-tree build made against their own torch.
op-compat: env-compat
	bash tools/env/build_op.sh $(VENV_COMPAT) build/compat
op-latest: env-latest
	bash tools/env/build_op.sh $(VENV_LATEST) build/latest
op-cuda: env-cuda
	bash tools/env/build_cuda_ext.sh $(VENV_CUDA)

# python of environment $(2) with the op built in build/$(1)/.
IN_ENV = MMDET_PSROI_LIBRARY=$$(ls build/$(1)/lib/mmdet_psroi/ops/_C*.so) $(2)/bin/python
WITH_CUDA_OP = $(call IN_ENV,cuda,$(VENV_CUDA))

test: test-main test-compat test-latest test-cuda test-mmdeploy

test-main: op env-mxnet
	@echo "[test-main] $(VENV): $(TORCH_MAIN), mmcv 2.1.0, mmengine 0.10.7, mmdet 3.3.0: ruff, then the whole suite"
	@echo "[test-main] the converter's MXNet parity test runs its reference in $(VENV_MXNET)"
	$(VENV)/bin/ruff check .
	MMDET_PSROI_MXNET_PYTHON=$(CURDIR)/$(VENV_MXNET)/bin/python $(call PYTEST,$(PY)) $(PYTEST_ARGS)

test-compat: op-compat
	@echo "[test-compat] $(VENV_COMPAT): $(TORCH_COMPAT), numpy 1.26, mmcv 2.1.0, mmengine 0.10.7, mmdet 3.3.0: the whole suite"
	@echo "[test-compat] not here: $(NVCC_BUILD_TESTS) (the nvcc build is checked in $(VENV_CUDA))"
	$(call PYTEST,$(call IN_ENV,compat,$(VENV_COMPAT))) $(NO_NVCC_BUILD) $(PYTEST_ARGS)

test-latest: op-latest
	@echo "[test-latest] $(VENV_LATEST): $(TORCH_LATEST), no OpenMMLab packages: the op tests"
	@echo "[test-latest] not here: $(NVCC_BUILD_TESTS) (the nvcc build is checked in $(VENV_CUDA))"
	$(call PYTEST,$(call IN_ENV,latest,$(VENV_LATEST))) tests/ops $(NO_NVCC_BUILD) $(PYTEST_ARGS)

# mmdeploy's tools/deploy.py (third_party/mmdeploy/) on the package's detectors; the op is
# .venv-compat's build (the same torch).
test-mmdeploy: op-compat env-mmdeploy
	@echo "[test-mmdeploy] $(VENV_MMDEPLOY): $(TORCH_COMPAT), mmcv 2.1.0, mmdet 3.3.0, mmdeploy 1.3.1, onnxruntime 1.16.3: the mmdeploy tests"
	$(call PYTEST,$(call IN_ENV,compat,$(VENV_MMDEPLOY))) tests/deploy/test_mmdeploy.py $(PYTEST_ARGS)

# Op-level checks against torch 2.14 + torchvision, and the nvcc build of the CUDA kernels.
test-cuda:
ifeq ($(NVCC),)
	@echo "[test-cuda] SKIPPED: nvcc not found (set CUDA_HOME or put nvcc on PATH);"
	@echo "[test-cuda] the CUDA build and the torchvision comparison did not run."
else
	$(MAKE) --no-print-directory op-cuda
	@echo "[test-cuda] $(VENV_CUDA): $(TORCH_CUDA), op built by nvcc: the op tests, against torchvision too"
	$(call PYTEST,$(WITH_CUDA_OP)) tests/ops $(PYTEST_ARGS)
endif

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

# The GPU check: python3's own torch and torchvision, nothing installed (tools/gpu_check.sh).
GPU_CHECK_OUT ?= work_dirs/gpu_check
.PHONY: gpu-check
gpu-check:
	bash tools/gpu_check.sh $(GPU_CHECK_OUT)

lint: $(ENV_STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf build mmdet_psroi/ops/_C*.so
