# tapgate — the two commands a fresh machine needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint unit bench synth clean install browser-deps scanners node-deps

$(STAMP): pyproject.toml requirements.txt lambdas/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

# checkov pins an older boto3/botocore than the project's, so it gets a venv of its own
# (requirements-checkov.txt is its lock). tests/infrastructure/test_scanners.py runs it.
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

scanners: $(CHECKOV_STAMP)

# The CDK CLI and the IAM oracle the audit tests compare with (package-lock.json), installed
# before the workers start so that no two of them run npm ci at once.
node-deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# `make demo PORT=9090` when 8080 is taken.
PORT ?=
demo: $(STAMP)
	$(BIN)/tapgate local $(if $(PORT),--port $(PORT))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy lambdas/tapgate_broker lambdas/tapgate_contract tapgate

# The browser tests (tests/browser) drive Debian's Chromium through its ChromeDriver.
# Idempotent and quiet once both are there; needs root and Debian's package archive.
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver

browser-deps:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CHROMEDRIVER) ]; then \
		echo "installing chromium and chromium-driver (Debian) for the browser tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; \
	fi
	@[ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ] || { echo "chromium/chromedriver missing after install" >&2; exit 1; }

# Two workers: the suite is CPU-bound and the machine has two cores (tests/conftest.py
# keeps each module on one worker and spreads the long fuzzing runs).
PYTEST_WORKERS ?= 2
unit: $(STAMP) browser-deps scanners node-deps
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

test: lint unit

# cdk synth with the CDK CLI pinned in package.json and cdk-nag; cdk.json's app runs the venv's
# python. The Lambda is bundled by pip on this machine (no Docker).
synth: $(STAMP)
	@test -d node_modules/aws-cdk || npm ci --no-audit --no-fund
	PATH="$(CURDIR)/$(BIN):$$PATH" JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 \
		npx --no-install cdk synth --quiet

# Prints the table and rewrites docs/benchmarks.md (~3-5 min; BENCH_ARGS=--no-callgrind skips
# the valgrind instruction counts, BENCH_ARGS=--quick is a smoke run that writes nothing).
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .tapgate cdk.out .pytest_cache .mypy_cache .ruff_cache
