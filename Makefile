# The venv is (re)built when pyproject.toml changes; everything else depends on it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch's CPU build (it lies on disk on the dev machines); a GPU user installs their CUDA build instead.
TORCH ?= torch==2.13.0
# The extras the tests need.
EXTRAS := dev,export,sim,mujoco,sb3,openvino,plot,hil,web,tensorboard,ray

.PHONY: setup demo test test-slow test-all lint format bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: setup
	$(BIN)/edgeperf demo

test: setup
	$(BIN)/python -m pytest -m "not slow"

test-slow: setup
	$(BIN)/python -m pytest -m slow

test-all: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
