# Dataset labeling service: the commands a person types. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Test processes (pytest-xdist): one per core, at most 4 (each runs its own SeaweedFS and databases).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 4 ? 4 : n )))
PYTEST := $(PY) -m pytest -p no:cacheprovider -q -n $(TEST_WORKERS) --dist loadscope

.DEFAULT_GOAL := help
.PHONY: help venv system-deps run test test-fast lint screenshots bench-filters bench-sync bench-inference train evaluate lint-chart clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP) ## Create the virtual environment and install the project

system-deps: ## Install system packages the browser tests need (apt-get, when root)
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium'"; fi; \
	fi

run: venv ## Start the whole stack in the foreground (S3, database, api, worker); Ctrl+C stops it
	$(PY) -m dataset_service.devstack

test: venv system-deps lint ## Install everything needed, lint, and run the whole test suite (in parallel)
	$(PYTEST)

test-fast: venv ## Run the suite without browser tests
	$(PYTEST) -m "not e2e"

lint: venv ## Check the code with ruff (rules in pyproject.toml)
	$(PY) -m ruff check .

screenshots: venv system-deps ## Run the browser tests and update docs/screenshots/ with what they show
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest -p no:cacheprovider -q tests/e2e

bench-filters: venv ## Benchmark the sample filters on 1,000,000 samples in PostgreSQL
	$(PY) -m benchmarks.filters

bench-sync: venv ## Benchmark Synchronize Data Source on 100,000 objects in SeaweedFS
	$(PY) -m benchmarks.sync

bench-inference: venv ## Benchmark the inference worker's HTTP latency and throughput
	$(PY) -m benchmarks.inference

train: venv ## Train the extreme-points model (hours on CPU; resumes from checkpoints; options in ARGS="...")
	$(PY) -m pip install --quiet -e '.[train]'
	$(PY) -m inference_worker.train $(ARGS)

evaluate: venv ## Score the model against GrabCut on davis345 (ARGS="--flip-tta --refine --instances", --set DIR, --url URL)
	$(PY) -m inference_worker.evaluate $(ARGS)

lint-chart: venv ## Lint, render and validate the Helm chart
	$(PY) -m pytest -p no:cacheprovider -q tests/helm

clean: ## Remove the virtual environment (keeps ./var data)
	rm -rf $(VENV)
