# Two entry points (README): `make render` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
# Not --quiet: on a cold machine this takes half a minute, and the user should see it working.
PIP := $(BIN)/python -m pip install --progress-bar off --disable-pip-version-check -c constraints.txt

TOOLS := $(CURDIR)/.tools/bin
KUBESEAL_VERSION := v0.36.6
# A real API server for the tests (tests/kubeapi.py names the same versions).
KUBE_APISERVER_VERSION := v1.35.4
KINE_VERSION := v0.17.5
KUBE_APISERVER := $(TOOLS)/kube-apiserver-$(KUBE_APISERVER_VERSION)
KINE := $(TOOLS)/kine-$(KINE_VERSION)
# The workflow linter for docs/github-actions.yml (tests/test_ecosystem.py names the same version).
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT := $(TOOLS)/actionlint-$(ACTIONLINT_VERSION)
# An OCI registry on loopback for rehearse's image pulls (tests/registry.py names the same version).
CRANE_VERSION := v0.22.1
CRANE := $(TOOLS)/crane-$(CRANE_VERSION)

.PHONY: render test lint typecheck unit fuzz bench bench-peers bench-checkov clean peers

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml constraints.txt | $(BIN)/python
	@echo "== installing pocketid-k8s and its runtime dependencies from PyPI into $(VENV)"
	$(PIP) -e .
	touch $@

$(DEV): pyproject.toml constraints.txt | $(BIN)/python
	@echo "== installing pocketid-k8s with its development tools from PyPI into $(VENV)"
	$(PIP) -e '.[dev]'
	touch $@ $(RUNTIME)

## render: write the bundle for ./pocket-id.toml (the spec's site) into k8s-apps/
render: $(RUNTIME)
	$(BIN)/pocketid-k8s render
	@echo "note: the command is $(BIN)/pocketid-k8s (or run '. $(BIN)/activate' first; README: Two commands)"

## test: the whole suite: lint, types, layering, then the tests
test: lint typecheck unit

lint: $(DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(DEV)
	$(BIN)/mypy src tests bench
	$(BIN)/lint-imports

unit: $(DEV) peers
	$(BIN)/pytest

## fuzz: the property-based tests (tests/test_fuzz_*.py) with 2,000 examples each (about an hour)
fuzz: $(DEV) peers
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest tests -k fuzz

## peers: the real Go programs the tests use as oracles, pinned, built once (needs Go).
## The first build downloads about 200 MB of Go modules and takes about 10 min on 2 cores.
peers:
	@if command -v go >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(TOOLS)/kubeseal $(KINE) $(KUBE_APISERVER) $(ACTIONLINT) $(CRANE); \
	else echo "note: no Go here; tests that need kubeseal or an API server will skip and say so"; fi

$(TOOLS)/kubeseal:
	@echo "== building kubeseal $(KUBESEAL_VERSION) with go install (its Go modules come from the Go module proxy; the peers together: about 200 MB the first time)"
	GOBIN=$(TOOLS) GOFLAGS=-mod=mod go install \
		github.com/bitnami-labs/sealed-secrets/cmd/kubeseal@$(KUBESEAL_VERSION)

# Versioned names: bumping a version above builds the new one instead of keeping the old.
$(KINE):
	@echo "kine $(KINE_VERSION): building (about 3 min the first time)"
	mkdir -p $(TOOLS)/.kine && GOBIN=$(TOOLS)/.kine GOFLAGS=-mod=mod go install \
		github.com/k3s-io/kine@$(KINE_VERSION)
	mv $(TOOLS)/.kine/kine $@ && rmdir $(TOOLS)/.kine

$(ACTIONLINT):
	@echo "actionlint $(ACTIONLINT_VERSION): building (about 10 s)"
	mkdir -p $(TOOLS)/.actionlint && GOBIN=$(TOOLS)/.actionlint GOFLAGS=-mod=mod go install \
		github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	mv $(TOOLS)/.actionlint/actionlint $@ && rmdir $(TOOLS)/.actionlint

$(CRANE):
	@echo "crane $(CRANE_VERSION): building (about 1 min the first time)"
	mkdir -p $(TOOLS)/.crane && GOBIN=$(TOOLS)/.crane GOFLAGS=-mod=mod go install \
		github.com/google/go-containerregistry/cmd/crane@$(CRANE_VERSION)
	mv $(TOOLS)/.crane/crane $@ && rmdir $(TOOLS)/.crane

$(KUBE_APISERVER): tools/build-kube-apiserver.sh
	bash tools/build-kube-apiserver.sh $@ $(KUBE_APISERVER_VERSION)

bench: $(DEV) peers
	$(BIN)/python bench/render_bench.py
	$(BIN)/python bench/check_bench.py
	$(BIN)/python bench/lines_bench.py
	$(BIN)/python bench/preflight_bench.py
	$(BIN)/python bench/rehearse_bench.py

## bench-peers: check beside kubeconform (and Checkov when installed) on the same workloads;
## kubeconform is built here with Go, pinned; CI does not need it.
KUBECONFORM := $(TOOLS)/kubeconform-v0.8.0
bench-peers: $(DEV) $(KUBECONFORM)
	$(BIN)/python bench/peers_bench.py

$(KUBECONFORM):
	mkdir -p $(TOOLS)/.kubeconform && GOBIN=$(TOOLS)/.kubeconform GOFLAGS=-mod=mod go install \
		github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
	mv $(TOOLS)/.kubeconform/kubeconform $@ && rmdir $(TOOLS)/.kubeconform

## bench-checkov: Checkov in its own virtualenv, for the comparison in bench/check_bench.py
bench-checkov:
	$(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/python -m pip install --quiet checkov
	CHECKOV=.tools/checkov/bin/checkov $(MAKE) --no-print-directory bench

clean:
	rm -rf $(VENV) .tools .mypy_cache .pytest_cache .ruff_cache
