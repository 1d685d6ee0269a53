# The README's commands. `make help` lists the targets.
# The interpreter the virtualenv is made from: Debian's own python3.11 where the machine has it with its venv
# module (package python3.11-venv), else the first python3.11 on PATH. Debian builds it with profile-guided
# optimisation and LTO, linked statically; a default source build such as pyenv's (first on PATH on our
# machines) is neither, and needs 10-25 % more CPU for the same Python code (bench/interpreter.py;
# docs/intake-measurements.md, "Seventh session"). A virtualenv made from another interpreter is made again.
ifeq ($(origin PYTHON), undefined)
PYTHON := $(shell /usr/bin/python3.11 -c 'import ensurepip, venv' 2>/dev/null && echo /usr/bin/python3.11 || echo python3.11)
endif
VENV ?= .venv
PY := $(VENV)/bin/python
# Named after the interpreter, so that another interpreter makes the rule below run.
STAMP := $(VENV)/.installed-for$(subst /,-,$(PYTHON))
export PATH := $(abspath $(VENV))/bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help run test lint fmt services stop-services venv secrets migrate demo check-deploy

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

$(STAMP): pyproject.toml requirements/constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is required"; exit 1; }
	@want=$$($(PYTHON) -c 'import sys; print(sys.executable)'); \
	if [ -x $(PY) ] && ! grep -qxF "executable = $$want" $(VENV)/pyvenv.cfg; then \
		echo "$(VENV) was made from another interpreter: making it again from $$want"; rm -rf $(VENV); fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/constraints.txt ".[dev]"
	@touch $(STAMP)

venv: $(STAMP) ## create the virtualenv and install the pinned packages

services: ## start the project-local PostgreSQL and Redis under var/ (installs them if missing)
	@scripts/services.sh start

stop-services: ## stop the local PostgreSQL and Redis
	@scripts/services.sh stop

secrets: $(STAMP) ## generate development keys under var/secrets/ (never committed)
	@$(PY) scripts/dev_secrets.py

migrate: venv services secrets ## apply migrations and load reference data
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_reference

run: venv secrets ## set up and run the whole system (web, workers, beat, national simulator, demo data)
	@scripts/services.sh system-packages fonts-ipaexfont
	$(PY) scripts/run.py

test: venv services secrets ## run the whole test suite against real PostgreSQL and Redis
	@scripts/services.sh system-packages fonts-ipaexfont poppler-utils chromium docker-compose
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv secrets ## ruff (format check and lint) and mypy
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

fmt: venv ## format and auto-fix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check-deploy: venv secrets ## Django's deployment checklist with production settings
	DJANGO_DEBUG=0 JUKINET_TLS=1 $(PY) manage.py check --deploy --fail-level WARNING
