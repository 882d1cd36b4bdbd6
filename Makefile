# Two commands: `make run` (the whole product, embedded, on http://127.0.0.1:8000) and `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: run test test-fast install install-dev lint typecheck clean

run: install
	$(BIN)/engage db upgrade
	$(BIN)/engage demo
	$(BIN)/engage serve

# everything CI runs: lint, type check, then every test tier (browser, nodes, model, load included)
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# the inner loop: no browser, no server processes, no embedding model, no load or multi-second scenario
# tests; two processes (pytest-xdist), each with its own database, Redis prefix and data dir
test-fast: install-dev
	$(BIN)/python -m pytest -n 2 -m "not browser and not nodes and not model and not load and not slow"

lint: install-dev
	$(BIN)/ruff check .

# mypy, strict, over engage, commerce, bots and workers (settings in pyproject.toml, [tool.mypy])
typecheck: install-dev
	$(BIN)/mypy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first, pinned to the CPU build: anything else pulls a multi-GB CUDA build
$(VENV)/.stamp-install: pyproject.toml web/package-lock.json | $(BIN)/python
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e .
	npm ci --prefix web --no-audit --no-fund --ignore-scripts --silent
	@touch $@

$(VENV)/.stamp-dev: pyproject.toml $(VENV)/.stamp-install
	$(PIP) install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.stamp-install
install-dev: $(VENV)/.stamp-dev

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache

# every load test beside its baseline, one table in loadtests/README.md (quick sizes; BENCH_ARGS="--full")
.PHONY: bench
bench: install-dev
	$(BIN)/python loadtests/run_all.py $(BENCH_ARGS)
