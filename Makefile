# bigshot-llm: `make run` serves the gateway, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SIM_PORT ?= 1234

.PHONY: run test install demo lint format clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/bigshot-llm db upgrade
	$(VENV)/bin/bigshot-llm serve

test: install
	$(VENV)/bin/ruff check src tests
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The simulator on :1234 (LM Studio's port) and the gateway pointed at it.
demo: install
	$(PY) -m bigshot_llm.sim --port $(SIM_PORT) --token-delay 0.05 & \
	trap "kill $$!" EXIT; \
	LMSTUDIO_API_BASE=http://127.0.0.1:$(SIM_PORT)/v1 $(VENV)/bin/bigshot-llm serve

lint: install
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

format: install
	$(VENV)/bin/ruff format src tests
	$(VENV)/bin/ruff check --fix src tests

clean:
	rm -rf $(VENV) .pytest_cache build dist src/*.egg-info
