# The venv is (re)built when pyproject.toml changes; everything else depends on it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch's CPU build (it lies on disk on the dev machines); a GPU user installs their CUDA build instead.
TORCH ?= torch==2.13.0
# The extras the tests need (docs: the site tests build the site and open every page).
EXTRAS := dev,docs,export,sim,mujoco,sb3,openvino,plot,hil,dds,web,tensorboard,ray

.PHONY: setup demo test test-slow test-all lint format docs bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: setup
	$(BIN)/edgeperf demo

# openpi's own client, to test `serve --protocol openpi` against it: openpi-client pins numpy < 2, so it lives in
# a venv of its own (tests/runtime/test_openpi.py runs it there, and skips, saying so, where it is missing).
OPENPI := .venv-openpi

$(OPENPI)/.installed:
	test -x $(OPENPI)/bin/python || $(PYTHON) -m venv $(OPENPI)
	$(OPENPI)/bin/python -m pip install --quiet "openpi-client==0.1.2" "typing_extensions>=4" \
		&& touch $@ || echo "openpi-client did not install: the test against it will be skipped"

test: setup $(OPENPI)/.installed
	$(BIN)/python -m pytest -m "not slow"

test-slow: setup
	$(BIN)/python -m pytest -m slow

test-all: setup
	$(BIN)/python -m pytest

# The documentation site, built strict (a broken link, a missing page or a failed API page fails) into site/;
# setup installs the docs extra (EXTRAS).
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python scripts/bench_cli_startup.py
	$(BIN)/python scripts/bench_runtime.py
	$(BIN)/python scripts/bench_backends.py
	$(BIN)/python scripts/bench_export.py
	$(BIN)/python scripts/bench_validate.py
	$(BIN)/python scripts/bench_store.py
	$(BIN)/python scripts/bench_compare.py

clean:
	rm -rf $(VENV) $(OPENPI) build site *.egg-info .pytest_cache .ruff_cache
