# One command for each thing people do. `make help` lists them.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help run test lint format bench clean-data

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP) ## Start PostgreSQL, NATS, S3, every service and the gateway (Ctrl-C stops; data kept in .data/)
	$(PY) -m shared.devstack

test: $(STAMP) ## Run the whole test suite against real servers
	$(PY) -m pytest

lint: $(STAMP) ## Static checks
	$(PY) -m ruff check .

format: $(STAMP) ## Format the code
	$(PY) -m ruff format .

bench: $(STAMP) ## Benchmark the composed API against the real stack
	$(PY) -m tests.bench

clean-data: ## Delete the local run's data (.data/)
	rm -rf .data
