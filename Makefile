# The two commands a newcomer needs:
#   make demo   the daemon watching two simulated pipelines on a local Slurm cluster
#               (installs what it needs first; `make review-example` is the offline review)
#   make test   install everything, then ruff, mypy --strict and the whole test suite
#   (make check: the tests that need no Slurm cluster, about a minute, with coverage)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE ?= examples/experiments/cicd_1764115200

.PHONY: demo review-example test check lint typecheck unit bench accuracy adversarial config-docs clean

$(STAMP): pyproject.toml
	scripts/ensure-python $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@BIN=$(abspath $(BIN)) scripts/demo

review-example: $(STAMP)
	@echo "== eagle3-monitor review $(EXAMPLE)"
	@$(BIN)/eagle3-monitor review --color $(EXAMPLE); status=$$?; \
	  echo "(exit status $$status: 0 pass, 1 failure found, 2 unusable input, 3 incomplete)"; \
	  test $$status -le 1

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	scripts/ensure-ripgrep
	scripts/ensure-promtool
	$(BIN)/pytest -q

test: lint typecheck unit

# The inner loop: everything that needs no Slurm cluster (about a minute), with coverage.
check: $(STAMP)
	$(BIN)/pytest -q -m "not slurm" -n auto -p no:cacheprovider --cov=eagle3_monitor \
	  --cov-report=term-missing:skip-covered --cov-report=html:.coverage-html

# Heavy hostile inputs (gigabyte files, alias bombs, 16 MB lines), each under a memory bound.
adversarial: $(STAMP)
	E3_ADVERSARIAL=1 $(BIN)/pytest -q -m adversarial -p no:cacheprovider

accuracy: $(STAMP)
	$(BIN)/python bench/accuracy.py --verbose

# The example config and docs/config.md, generated from the config schema (a test keeps them so).
config-docs: $(STAMP)
	$(BIN)/eagle3-monitor config example --output config/eagle3-monitor.example.yaml
	$(BIN)/eagle3-monitor config example --format markdown --output docs/config.md

# Every benchmark (~20 min: the daemon and alert benches run the real service, the latter on
# the local cluster); each writes bench/results/<name>.json and exits 1 on a missed target;
# then the README's performance table is written from the results.
bench: $(STAMP)
	scripts/ensure-ripgrep
	@status=0; for bench in review_bench poll_bench fault_bench daemon_bench alert_latency; do \
	  echo "== bench/$$bench.py"; $(BIN)/python bench/$$bench.py || status=1; done; \
	  $(BIN)/python bench/table.py; exit $$status

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage .coverage-html
