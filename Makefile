# Two commands for a newcomer: `make run` (the chapter's notebooks) and `make test`;
# `make lab` to read and run the notebooks in JupyterLab.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
STAMP := $(VENV)/.installed

.PHONY: install browser run lab test test-fast test-slow test-notebooks lint

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# apt-get needs root: sudo when not root
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

## Debian's chromium and chromium-driver for the browser tests (which skip where none installs)
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

## run the notebooks in order with papermill into runs/<profile>-<timestamp>/
run: install
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} $(PY) -m qa_utils run --profile $(PROFILE)

KERNEL := qa-eval-lab
LAB_ARGS ?=
# Jupyter refuses to run as root unless told to (containers, CI)
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

## JupyterLab on notebooks/ with the project's kernel (.venv's Python; offline like `make run`;
## JUPYTER_PATH puts .venv's kernels first, so the notebooks' `python3` is .venv's Python too).
## Headless: make lab LAB_ARGS="--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=8888"
lab: install
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python 3 ($(KERNEL))" >/dev/null
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-PASSIVE} \
	  JUPYTER_PATH=$(abspath $(VENV))/share/jupyter $(VENV)/bin/jupyter lab --notebook-dir notebooks \
	  --MappingKernelManager.default_kernel_name=$(KERNEL) $(ALLOW_ROOT) $(LAB_ARGS)

PYTEST := QA_PROFILE=smoke HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-PASSIVE} $(PY) -m pytest -p no:cacheprovider

BROWSER_OR_SKIP := $(MAKE) --no-print-directory browser || echo "warning: no chromium: browser tests skip" >&2

## lint, every test tier: unit tests + doctests, slow tests (browser tests included), notebooks
test: install
	$(BROWSER_OR_SKIP)
	$(PY) -m ruff check qa_utils tests benchmarks notebooks docs
	$(PYTEST) qa_utils tests notebooks --nbval-lax

## the fast tier (under a minute): no subprocess, no training, no notebook
test-fast: install
	$(PYTEST) qa_utils tests -m "not slow and not notebooks"

## subprocesses, torchrun, the service, model training, the pages in a browser
test-slow: install
	$(BROWSER_OR_SKIP)
	$(PYTEST) tests -m slow

## every notebook under nbval with the smoke profile
test-notebooks: install
	$(PYTEST) notebooks --nbval-lax

lint: install
	$(PY) -m ruff check qa_utils tests benchmarks notebooks docs
	$(PY) -m ruff format --check qa_utils tests benchmarks docs
