# One command for each thing people do. `make help` lists them.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help run test test-faults lint audit format bench clean-data portal screenshots api-types openapi

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

portal: $(STAMP) ## Build the web portal when its sources changed (Node.js comes from the venv)
	$(PY) -m shared.devstack.portal

run: portal ## Start PostgreSQL, NATS, S3, every service and the gateway with the portal at / (Ctrl-C stops)
	$(PY) -m shared.devstack

test: portal ## Run the whole test suite: the portal's Vitest tests, then pytest (unit, e2e, browser) on real servers
	$(PY) -m shared.devstack.portal test
	$(PY) -m pytest

# Bounded: SIGTERM after 10 minutes (the suite then stops everything it started), SIGKILL 30 s later.
test-faults: portal ## Faults under load (kill -9, SIGSTOP, network faults, dependencies down) with counts; at most 10 minutes
	FAULT_SUITE=1 timeout --kill-after=30 600 $(PY) -m pytest tests/faults -x -q -s -p no:cacheprovider

lint: portal ## Static checks: ruff, bandit (no high-severity finding); the portal's TypeScript is checked by its build
	$(PY) -m ruff check .
	$(VENV)/bin/bandit -q -r services gateway shared -lll

audit: $(STAMP) ## Known vulnerabilities of the pinned dependencies (needs PyPI's JSON API and npm's audit endpoint)
	$(VENV)/bin/pip-audit --progress-spinner off -r requirements.txt
	cd portal && PATH="$(abspath $(VENV))/bin:$$PATH" npm audit --omit=dev

format: $(STAMP) ## Format the code
	$(PY) -m ruff format .

bench: $(STAMP) ## Benchmark the composed API against the real stack
	$(PY) -m tests.bench

openapi: $(STAMP) ## Export the gateway's OpenAPI document to portal/openapi.json (a test fails when it is stale)
	$(PY) -m gateway.openapi > portal/openapi.json

api-types: openapi ## Regenerate portal/openapi.json and the portal's TypeScript API types from the gateway
	cd portal && PATH="$(abspath $(VENV))/bin:$$PATH" npx openapi-typescript openapi.json -o src/api/schema.d.ts

screenshots: portal ## Regenerate the README's portal screenshots (docs/screenshots/) in headless Chromium
	$(PY) -m tests.browser.screenshots

clean-data: ## Delete the local run's data (.data/)
	rm -rf .data
