# bigshot-llm: `make run` serves the gateway, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SIM_PORT ?= 1234
UI_DIR := frontend
UI_INDEX := src/bigshot_llm/static/index.html
UI_SCHEMA := $(UI_DIR)/src/api/schema.d.ts
UI_DEPS := $(UI_DIR)/node_modules/.installed-stamp
UI_SOURCES := $(shell find $(UI_DIR)/src $(UI_DIR)/public -type f 2>/dev/null) \
	$(addprefix $(UI_DIR)/,index.html package.json package-lock.json vite.config.ts tsconfig.json)
NPM_MISSING := echo "npm not found: skipping the web UI (install Node 20+ for it)"

.PHONY: run test install demo lint format clean ui ui-schema ui-test bench bench-peers soak agent-clis test-agent-clis

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,otel]'
	touch $(STAMP)

install: $(STAMP)

# The web UI (frontend/, Vite) builds into src/bigshot_llm/static/, rebuilt when its sources
# change; `npm ci` runs when node_modules is missing or older than package-lock.json.
$(UI_DEPS): $(UI_DIR)/package-lock.json
	@if ! command -v npm >/dev/null; then $(NPM_MISSING); exit 0; fi; \
	cd $(UI_DIR) && npm ci --no-audit --no-fund && touch node_modules/.installed-stamp

$(UI_INDEX): $(UI_DEPS) $(UI_SOURCES)
	@if ! command -v npm >/dev/null; then $(NPM_MISSING); exit 0; fi; \
	cd $(UI_DIR) && npm run build

# The UI's API types come from the app's OpenAPI schema (`bigshot-llm openapi`, no server, no
# database) through openapi-typescript. The file changes only when the schema does, so an
# unchanged API does not rebuild the UI; a field the UI uses and the API lost fails `tsc`.
ui-schema: $(STAMP) $(UI_DEPS)
	@if ! command -v npm >/dev/null; then $(NPM_MISSING); exit 0; fi; \
	tmp=$$(mktemp -d); \
	$(VENV)/bin/bigshot-llm openapi --output $$tmp/openapi.json \
	&& (cd $(UI_DIR) && npx --no-install openapi-typescript $$tmp/openapi.json --default-non-nullable false \
		--output $$tmp/schema.d.ts >/dev/null) \
	&& (cmp -s $$tmp/schema.d.ts $(UI_SCHEMA) || cp $$tmp/schema.d.ts $(UI_SCHEMA)); \
	status=$$?; rm -rf $$tmp; exit $$status

ui: ui-schema
	@$(MAKE) --no-print-directory $(UI_INDEX)

ui-test: $(UI_DEPS)
	@if ! command -v npm >/dev/null; then $(NPM_MISSING); exit 0; fi; \
	cd $(UI_DIR) && npm test

run: install ui
	$(VENV)/bin/bigshot-llm db upgrade
	$(VENV)/bin/bigshot-llm serve

# Everything once on SQLite (tests/scale always uses Postgres + Redis); then the
# database-heavy tests run a SECOND time, each on a fresh Postgres database (--db=postgres):
# tests/api, tests/conversations, tests/security, tests/usage, tests/test_bootstrap_and_cli.py and
# tests/db/test_migrations.py
# (PG_TESTS). The simulator, provider, relay and UI tests barely touch the database: once only.
# BIGSHOT_REQUIRE_SERVICES=1 turns "Postgres/Redis not running" from a skip into a failure.
# Test files run on TEST_WORKERS processes (pytest-xdist, one file per worker at a time, so a
# module's simulator, gateway and browser are started once): most tests wait on sockets and
# timers, not the CPU, so four workers finish in well under half the time on two cores.
# TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 4
XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)
PG_TESTS ?= tests/api tests/conversations tests/security tests/usage tests/test_bootstrap_and_cli.py \
	tests/db/test_migrations.py
test: install ui-test ui agent-clis
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src/bigshot_llm
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q $(XDIST) $(PYTEST_ARGS)
	$(PY) -m pytest -q $(XDIST) --db=postgres $(PG_TESTS) $(PYTEST_ARGS)

# Claude Code and Codex (pinned) for tests/agents/test_agent_clis.py, which drives each one
# through the gateway; without npm the test skips (test-agent-clis makes that a failure).
AGENT_CLIS_DIR := .cache/agent-clis
AGENT_CLIS := @anthropic-ai/claude-code@2.1.197 @openai/codex@0.171.0
AGENT_CLIS_STAMP := $(AGENT_CLIS_DIR)/.installed-stamp
$(AGENT_CLIS_STAMP): Makefile
	mkdir -p $(AGENT_CLIS_DIR)
	cd $(AGENT_CLIS_DIR) && npm init -y >/dev/null && npm i --no-audit --no-fund $(AGENT_CLIS)
	touch $(AGENT_CLIS_STAMP)
agent-clis:
	@if ! command -v npm >/dev/null; then echo "npm not found: skipping Claude Code and Codex"; exit 0; fi; \
	$(MAKE) --no-print-directory $(AGENT_CLIS_STAMP)
test-agent-clis: install agent-clis
	BIGSHOT_REQUIRE_AGENT_CLIS=1 $(PY) -m pytest -q tests/agents/test_agent_clis.py

# The simulator on :1234 (LM Studio's port) and the gateway pointed at it.
demo: install ui
	$(PY) -m bigshot_llm.sim --port $(SIM_PORT) --token-delay 0.05 & \
	trap "kill $$!" EXIT; \
	LMSTUDIO_API_BASE=http://127.0.0.1:$(SIM_PORT)/v1 $(VENV)/bin/bigshot-llm serve

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src/bigshot_llm
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check src tests

format: install
	$(VENV)/bin/ruff format src tests
	$(VENV)/bin/ruff check --fix src tests

clean:
	rm -rf $(VENV) .pytest_cache build dist src/*.egg-info

# Benchmarks (see benchmarks/): the gateway vs direct calls to the simulator, then LiteLLM.
bench: install
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,bench]'
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

bench-peers: bench
	$(PY) -m benchmarks.peers $(BENCH_ARGS)

# Soak (benchmarks/soak.py): mixed traffic with client aborts and upstream faults for
# SOAK_MINUTES (default 30); prints RSS slope, fds, tasks and p99 drift, plots soak.png.
SOAK_MINUTES ?= 30
soak: install
	$(PY) -m benchmarks.soak --minutes $(SOAK_MINUTES)
