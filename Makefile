# leadflow — the targets the README names. `run` and `test` set up the virtualenv when needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup tools run stop status test test-unit test-fast bench bench-ingest bench-dedup bench-scoring bench-router bench-nurture lint schemas clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# promtool (the monitoring tests: deploy/prometheus) from Debian's prometheus package, only when it is missing.
# The package also ships the prometheus server; nothing here starts its service.
APT_QUIET := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1

tools:  ## promtool for the monitoring tests, installed with apt when missing
	@command -v promtool >/dev/null 2>&1 || { \
	  sudo=; [ "$$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && sudo=sudo; }; \
	  echo "installing promtool (Debian package prometheus)"; \
	  $$sudo env $(APT_QUIET) || { $$sudo apt-get update -qq >/dev/null 2>&1 && $$sudo env $(APT_QUIET); }; \
	  command -v promtool >/dev/null 2>&1 || { \
	    echo "make tools: could not install promtool. Install Debian's prometheus package (apt-get install prometheus)," >&2; \
	    echo "or put promtool 2.42+ on PATH, then run make test again." >&2; exit 1; }; }

run: setup  ## start the whole pipeline on the embedded stack (Ctrl-C stops everything)
	$(VENV)/bin/leadflow stack up

stop: setup
	$(VENV)/bin/leadflow stack down

status: setup
	$(VENV)/bin/leadflow stack status

test: setup tools  ## every test: unit, component, integration, e2e, faults (real broker + Postgres)
	$(PY) -m pytest -q

test-fast: setup tools  ## no processes: unit + component
	$(PY) -m pytest -q -m "unit or component"

bench: setup  ## throughput and latency, with the same run's passthrough baseline
	$(PY) -m bench.pipeline
	$(PY) -m bench.ingest
	$(PY) -m bench.dedup
	$(PY) -m bench.scoring
	$(PY) -m bench.router
	$(PY) -m bench.nurture

bench-ingest: setup  ## ingest alone: via Kafka and via the HTTP batch endpoint
	$(PY) -m bench.ingest

bench-dedup: setup  ## dedup with 1,000,000 leads in its index: decision time per lead, service throughput
	$(PY) -m bench.dedup

bench-router: setup  ## router: routing decisions/s (1 and 2 workers) and the decision time per lead
	$(PY) -m bench.router

bench-nurture: setup  ## nurture: timer firings/s (1 and 2 workers), lateness, memory with 1,000,000 pending timers
	$(PY) -m bench.nurture

bench-scoring: setup  ## scoring throughput (1 and 2 workers); consumer lag while it retrains on 100,000 outcomes
	$(PY) -m bench.scoring

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared services cli

schemas: setup  ## re-export the JSON Schemas after an additive change
	$(PY) -m shared.schemas.export

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
