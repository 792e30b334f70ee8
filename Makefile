# Two commands for a newcomer: `make run` (the chapter's notebooks) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast test-slow test-notebooks lint

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## run the notebooks in order with papermill into runs/<profile>-<timestamp>/
run: install
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} $(PY) -m qa_utils run --profile $(PROFILE)

PYTEST := QA_PROFILE=smoke HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-PASSIVE} $(PY) -m pytest -p no:cacheprovider

## lint, every test tier: unit tests + doctests, slow tests, then every notebook under nbval
test: install
	$(PY) -m ruff check qa_utils tests benchmarks notebooks
	$(PYTEST) qa_utils tests notebooks --nbval-lax

## the fast tier (under a minute): no subprocess, no training, no notebook
test-fast: install
	$(PYTEST) qa_utils tests -m "not slow and not notebooks"

## subprocesses, torchrun, the service, model training
test-slow: install
	$(PYTEST) tests -m slow

## every notebook under nbval with the smoke profile
test-notebooks: install
	$(PYTEST) notebooks --nbval-lax

lint: install
	$(PY) -m ruff check qa_utils tests benchmarks notebooks
	$(PY) -m ruff format --check qa_utils tests benchmarks
