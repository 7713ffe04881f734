# The two commands of the quick start: `make serve` and `make test`.
# Both create .venv with the machine's python3 (3.11 or newer) when it is missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: serve test lint format bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "mockspice needs Python 3.11 or newer ($(PYTHON) is $$($(PYTHON) --version 2>&1))" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstalled when the package metadata changes.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

serve: $(VENV)/.installed
	$(BIN)/mockspice serve --partner $(SERVE_ARGS)

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff's formatter and linter, configured in pyproject.toml (run by .ci/run before the tests).
lint: $(VENV)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_server.py
	$(BIN)/python benchmarks/bench_validate.py
	$(BIN)/python benchmarks/bench_webcalls.py
	$(BIN)/python benchmarks/bench_verify.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
