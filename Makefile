# Developer and CI entry points. `make test` is what .ci/run runs.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
# written after a successful install: `make venv` is a no-op until pyproject.toml or the lock changes
STAMP := $(VENV)/.installed
LOCK := $(wildcard requirements.lock)
CLI := $(VENV)/bin/eoepca-gitops

.PHONY: help demo tools venv cluster-up cluster-down cluster-status lint typecheck test integration bench

help:
	@echo "make demo          set up, start the local cluster and pulumi up --stack local (scripts/demo.sh)"
	@echo "make tools         build or find the engine binaries (scripts/tools.sh; cached in ~/.cache/eoepca-gitops/tools)"
	@echo "make venv          create .venv and install the project with its dev extras"
	@echo "make cluster-up    start the local dev cluster (state in .state/dev-cluster)"
	@echo "make cluster-down  stop it"
	@echo "make test          venv + tools, then ruff, mypy and pytest (unit and integration)"
	@echo "make integration   only the tests marked integration"
	@echo "make bench         benchmarks vs kubectl/Flux on an own dev cluster (~25 min) -> bench/results.md"

demo:
	scripts/demo.sh

tools:
	scripts/tools.sh

venv: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]' $(if $(LOCK),-c $(LOCK))
	touch $@

cluster-up: venv
	$(CLI) dev-cluster up

cluster-down: venv
	$(CLI) dev-cluster down

cluster-status: venv
	$(CLI) dev-cluster status

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy

test: venv tools
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

integration: venv tools
	$(VENV)/bin/pytest -m integration

# py-spy profiles the Python program in the benchmark's profile step (optional: skipped if absent)
bench: venv tools
	$(VENV)/bin/pip install --quiet --disable-pip-version-check py-spy==0.4.3 || echo "py-spy not installed: no Python profile"
	$(VENV)/bin/python -m bench
