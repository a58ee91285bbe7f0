# Every target creates what it needs; a fresh clone only needs python3 (3.11+) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: venv run demo test load bench lint validate sam-build pr clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

RUN_ARGS ?=
run: venv  ## the whole API on http://127.0.0.1:3000 with demo data (embedded DynamoDB, no Docker)
	$(BIN)/miniauth serve $(RUN_ARGS)

demo: venv  ## the authorization flow over HTTP against `make run` (or a server it starts)
	$(BIN)/miniauth demo

test: venv  ## the whole test suite (moto-backed; no AWS account, no Docker)
	$(BIN)/python -m pytest

LOAD_ARGS ?=
load: venv  ## 2,000 complete flows from 16 merchant threads over HTTP, then an audit of the tables (LOAD_ARGS=--flows N ...)
	$(BIN)/python tests/load.py $(LOAD_ARGS)

BENCH_ARGS ?=
bench: venv  ## cold init, first/warm call cost, DynamoDB requests, load and layer size, each next to its floor (BENCH_ARGS=--quick ...)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check .

# SAM CLI pins older boto3/pydantic/click, so it lives in a virtualenv of its own.
$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q aws-sam-cli cfn-lint
	touch $@

validate: $(SAM_VENV)/.installed  ## template checks, offline
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml
	$(SAM_VENV)/bin/cfn-lint template.yaml

sam-build: $(SAM_VENV)/.installed  ## needs python3.13 on PATH (e.g. PYENV_VERSION=3.11.7:3.13.0)
	$(SAM_VENV)/bin/sam build --template template.yaml

pr: lint validate test

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .bench
