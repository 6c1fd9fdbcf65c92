# Back-office automation platform: `make run` to start everything locally, `make test` to test it all.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SERVICES := requests approvals notifications contracts insights budgets checklists console
PACKAGES := services/common $(addprefix services/,$(SERVICES)) tools/cli
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))
TEST_REQUIREMENTS := $(wildcard tests/requirements*.txt)
PYTEST_ARGS ?=

.PHONY: help venv lint format run stop status demo test test-unit test-only infra-up infra-down chaos bench clean

help:
	@echo "make run     start PostgreSQL, Kafka, the SMTP sink, Keycloak, the four services and the console (profile 'run')"
	@echo "make stop    stop them"
	@echo "make status  show what runs where"
	@echo "make demo    walk one purchase request from draft to closed against 'make run'"
	@echo "make test    set up everything on the 'test' profile's ports, lint, run every test, tear down"
	@echo "make lint    ruff + mypy only"
	@echo "make test-unit  the tests that need no infrastructure (domain and use cases), in seconds"
	@echo "make bench   CPU per flow, ceiling, latencies and idle CPU against the floor (against 'make run')"
	@echo "make chaos   orders through 2 x 4 services and 3 brokers while they are killed (profile 'chaos')"

$(VENV)/.installed: $(PYPROJECTS) $(TEST_REQUIREMENTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e 'services/common[dev]' $(addprefix -e ,$(addprefix services/,$(SERVICES))) -e tools/cli
	@for f in $(TEST_REQUIREMENTS); do echo "pip install -r $$f"; $(PY) -m pip install --quiet -r $$f; done
	@touch $@

venv: $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check services tools tests deploy
	$(VENV)/bin/ruff format --check services tools tests deploy
	$(VENV)/bin/mypy -p backoffice_common $(addprefix -p backoffice_,$(SERVICES)) -p backoffice_cli

format: venv
	$(VENV)/bin/ruff check --fix services tools tests deploy
	$(VENV)/bin/ruff format services tools tests deploy

run: venv
	@BACKOFFICE_PROFILE=run bash deploy/infra.sh start
	@BACKOFFICE_PROFILE=run bash deploy/services.sh start
	@BACKOFFICE_PROFILE=run bash -c 'source deploy/env.sh && $(PY) deploy/seed_console.py'
	@BACKOFFICE_PROFILE=run bash deploy/urls.sh

stop:
	@BACKOFFICE_PROFILE=run bash deploy/services.sh stop || true
	@BACKOFFICE_PROFILE=run bash deploy/infra.sh stop

status:
	@BACKOFFICE_PROFILE=run bash deploy/infra.sh status || true
	@BACKOFFICE_PROFILE=run bash deploy/services.sh status || true

demo: venv
	@BACKOFFICE_PROFILE=run bash -c 'source deploy/env.sh && $(PY) -m backoffice_cli demo'

# CPU per flow, ceiling, hop latencies and idle CPU against the floor (docs/performance.md); BENCH_ARGS="--help"
BENCH_ARGS ?=
bench: venv
	@BACKOFFICE_PROFILE=run bash -c 'source deploy/env.sh && $(PY) -m backoffice_cli bench $(BENCH_ARGS)'

# The test profile has its own ports and state folder, so it runs beside `make run` and beside
# another checkout. Infrastructure this target started is stopped again, whatever the outcome.
test: venv
	@bash deploy/test.sh $(PYTEST_ARGS)

test-unit: venv
	$(VENV)/bin/pytest -p no:cacheprovider -q $(wildcard services/*/tests/unit) $(PYTEST_ARGS)

test-only: venv
	@BACKOFFICE_PROFILE=test bash -c 'source deploy/env.sh && $(VENV)/bin/pytest $(PYTEST_ARGS)'

# Its own profile, ports and state (.state/chaos): runs beside `make run` and `make test`.
# CHAOS_ARGS="--orders 500 --rate 1 --seed 7" for another run; --help lists the options.
CHAOS_ARGS ?= --orders 150 --rate 0.7
chaos: venv
	@$(PY) tests/chaos/chaos.py $(CHAOS_ARGS)

infra-up: venv
	@BACKOFFICE_PROFILE=test bash deploy/infra.sh start

infra-down:
	@BACKOFFICE_PROFILE=test bash deploy/infra.sh stop

clean: stop
	rm -rf .state $(VENV)
