# Two entry points (README): `make render` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: render test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

$(DEV): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[dev]'
	touch $@ $(RUNTIME)

## render: write the bundle for ./pocket-id.toml (the spec's site) into k8s-apps/
render: $(RUNTIME)
	$(BIN)/pocketid-k8s render

## test: the whole suite: lint, types, layering, then the tests
test: lint typecheck unit

lint: $(DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(DEV)
	$(BIN)/mypy src tests bench
	$(BIN)/lint-imports

unit: $(DEV)
	$(BIN)/pytest

bench: $(DEV)
	$(BIN)/python bench/render_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
