# npl-collect: two commands on a fresh machine — `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo demo-feed test bench reliability serve install clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP) $@

install: $(STAMP)

## The main job on the embedded default (SQLite under ./var/demo): import the demo portfolio,
## replay it day by day to 2010-12-31, print every case and the portfolio report.
demo: $(STAMP)
	$(BIN)/python -m demo.run

## The same cases fed as the core system's dated nightly exports (var/demo/exports/YYYY-MM-DD/):
## each night's files are delivered into var/demo/inbox and the daily flow ingests them first.
demo-feed: $(STAMP)
	$(BIN)/python -m demo.run --feed

## The whole suite: unit, integration (SQLite and PostgreSQL), flows, e2e (Prefect UI in chromium).
## scripts/setup-test-env first installs what the suite needs (root on Debian) and starts PostgreSQL,
## or stops with one line saying what is missing and how to fix it.
test: $(TEST_STAMP)
	scripts/setup-test-env
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n auto --dist loadfile

## The benchmark on SQLite, then on PostgreSQL (scratch databases on $(NPL_BENCH_PG)'s server), then one table.
NPL_BENCH_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
BENCH_ROWS := var/bench-rows.jsonl
bench: $(STAMP)
	@mkdir -p var && rm -f $(BENCH_ROWS)
	$(BIN)/python bench/daily_bench.py $(BENCH_ARGS) --rows $(BENCH_ROWS)
	$(BIN)/python bench/daily_bench.py $(BENCH_ARGS) --db $(NPL_BENCH_PG) --rows $(BENCH_ROWS)
	@echo && $(BIN)/python bench/daily_bench.py --table $(BENCH_ROWS)

## The reliability tests at full size (CI runs them at a lighter default size inside `make test`).
reliability: $(TEST_STAMP)
	NPL_RELIABILITY_FULL=1 $(BIN)/python -m pytest -q tests/integration/test_daily_crash.py tests/integration/test_import_crash.py \
		tests/integration/test_concurrency.py tests/integration/test_bad_inputs.py tests/integration/test_history_append_only.py tests/integration/test_quarantine.py \
		tests/integration/test_validate_before_commit.py

serve: $(STAMP)
	$(BIN)/python -m deployments.serve

clean:
	rm -rf $(VENV) var build *.egg-info
