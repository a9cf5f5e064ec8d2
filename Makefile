# Two commands: `make run` starts the console with the embedded defaults; `make test` checks the
# import contract (pyproject.toml, docs/architecture.md) and runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export CCEONE_PORT ?= 8000
export HOST ?= 127.0.0.1
# Two test processes (pytest-xdist), a file each at a time so module fixtures are built once.
PYTEST_WORKERS ?= 2

.PHONY: run test install prepare check-python

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "CCE One needs Python 3.11 or newer")'

$(VENV)/.installed: pyproject.toml agent/pyproject.toml | check-python
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' -e ./agent
	touch $@

install: $(VENV)/.installed

prepare: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py compiletranslations
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	$(PY) manage.py runhub --prepare

# Federation orders in `make run` take the sandbox Karmadas that `manage.py runkarmada` serves.
run: export CCEONE_FEDERATION_PROVISIONER ?= sandbox
run: prepare
	$(VENV)/bin/honcho start

test: install
	$(VENV)/bin/lint-imports
	$(PY) manage.py compiletranslations
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)
