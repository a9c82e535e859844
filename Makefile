# Jejaring: `make up` runs the whole stack on this machine; `make test` runs the test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

SOURCES := requirements-dev.txt constraints.txt shared/pyproject.toml cli/pyproject.toml testing/pyproject.toml \
           $(wildcard services/*/pyproject.toml)

.PHONY: up test test-fast screenshots soak bench bench-partners install lint typecheck schemas clean check-python

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || \
	  { echo "Jejaring needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) -V 2>&1 || echo missing). Set PYTHON=python3.11 (or newer)."; exit 1; }

$(STAMP): $(SOURCES) | check-python
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

## Run the embedded stack: nats-server + intake (8000), referral (8001), notify (8002),
## report (8003) and the web app (8080).
up: install
	$(BIN)/jejaring up

## Run every test (SQLite always; PostgreSQL too when JEJARING_TEST_DATABASE_URL is set), in
## TEST_WORKERS processes (one per core; a test file stays in one process, with its fixtures);
## then, alone, the tests that stop a server the whole machine shares (marker `exclusive`).
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m 'not soak and not exclusive' $(PYTEST_ARGS) \
	  || [ $$? -eq 5 ]
	$(BIN)/python -m pytest -m 'exclusive and not soak' $(PYTEST_ARGS) || [ $$? -eq 5 ]

## The fast tier: rules, state machine, contract and rendering, no servers (seconds).
test-fast: install
	$(BIN)/python -m pytest $(wildcard shared/tests/unit services/*/tests/unit cli/tests/unit) $(PYTEST_ARGS)

## The web app's pages on a 360x780 phone, written to docs/screenshots (the README shows them).
screenshots: install
	JEJARING_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest services/web/tests/browser -q $(PYTEST_ARGS)

## Ten minutes of steady load with a random fault a minute (SOAK_SECONDS shortens it; not in CI).
soak: install
	$(BIN)/python -m pytest tests/system/test_soak.py -m soak -s -q --timeout=0 $(PYTEST_ARGS)

## Latency, throughput and memory against the raw NATS and database limits, on SQLite and
## PostgreSQL (starts this machine's cluster; BENCH_SECONDS shortens it; not in CI).
## Writes bench/results/latest.md and bench/results/latency.png.
bench: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	BENCH_POSTGRES="$${BENCH_POSTGRES:-$$(bash scripts/local-postgres jejaring_bench_intake \
	  jejaring_bench_referral jejaring_bench_notify jejaring_bench_report jejaring_bench_limits)}" \
	  $(BIN)/python -m bench.run

## What a thousand partners cost: the embedded stack (PostgreSQL) and raw JetStream on one node
## and on a three-node cluster (BENCH_PARTNERS changes the number; not in CI).
## Writes bench/results/partners.md.
bench-partners: install
	BENCH_POSTGRES="$${BENCH_POSTGRES:-$$(bash scripts/local-postgres jejaring_bench_intake \
	  jejaring_bench_referral jejaring_bench_notify jejaring_bench_report)}" \
	  $(BIN)/python -m bench.partners

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy shared/src services/intake/src services/referral/src services/notify/src services/report/src services/web/src cli/src testing/src bench

## Regenerate docs/schemas/ from the event models.
schemas: install
	$(BIN)/jejaring schemas

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
