# Two commands for a newcomer: `make run` (the chapter's notebooks) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
STAMP := $(VENV)/.installed

.PHONY: install run test lint notebooks-clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## run the notebooks in order with papermill into runs/<profile>-<timestamp>/
run: install
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} $(PY) -m qa_utils.runner --profile $(PROFILE)

## lint, unit tests + doctests, then every notebook under nbval with the smoke profile
test: install
	$(PY) -m ruff check qa_utils tests benchmarks notebooks
	QA_PROFILE=smoke HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-PASSIVE} $(PY) -m pytest qa_utils tests notebooks --nbval-lax -p no:cacheprovider

lint: install
	$(PY) -m ruff check qa_utils tests benchmarks notebooks
	$(PY) -m ruff format --check qa_utils tests benchmarks
