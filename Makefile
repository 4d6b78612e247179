# Two commands for a fresh machine (README): `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# PostgreSQL for the second test run; `make test PG_REQUIRED=1` fails instead of skipping when it is down.
WANSHI_TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PG_REQUIRED ?= 0
# Debian packages: the CJK font of the printable guides (PDF); poppler and zbar read PDFs and QR codes in tests;
# chromium runs the browser tests (forms with and without JavaScript, the BPMN modeler) through Playwright.
RUNTIME_DEBS := fonts-wqy-microhei
TEST_DEBS := $(RUNTIME_DEBS) poppler-utils zbar-tools chromium

.PHONY: venv demo serve test test-sqlite test-pg lint bench lock clean debs-runtime debs-test

$(BIN)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

venv: $(BIN)/.installed

debs-runtime:
	@tools/apt-ensure $(RUNTIME_DEBS)

debs-test:
	@tools/apt-ensure $(TEST_DEBS)

demo: venv debs-runtime
	$(BIN)/wanshi demo --port $(PORT)

lint: venv
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/lint-imports

test-sqlite: venv debs-test
	WANSHI_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-pg: venv debs-test
	@if $(BIN)/python -m wanshi.cli.pgcheck "$(WANSHI_TEST_PG_URL)"; then \
		WANSHI_TEST_DB="$(WANSHI_TEST_PG_URL)" $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$(PG_REQUIRED)" = "1" ]; then \
		echo "PostgreSQL at $(WANSHI_TEST_PG_URL) is required but not reachable" >&2; exit 1; \
	else \
		echo "PostgreSQL not reachable at $(WANSHI_TEST_PG_URL): PostgreSQL run skipped"; \
	fi

test: lint test-sqlite test-pg

bench: venv
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.run

lock:
	$(PYTHON) -m pip install -q uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
