# Dataset labeling service: the commands a person types. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Test processes (pytest-xdist): one per core, at most 4 (each runs its own SeaweedFS and databases).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 4 ? 4 : n )))
PYTEST := $(PY) -m pytest -p no:cacheprovider -q -n $(TEST_WORKERS) --dist loadscope
# `make images`: the base image (a debootstrapped Debian, made here when missing: no registry needed)
# and which images.
IMAGE_BASE ?= localhost/bookworm-base:1
IMAGES ?= api worker
ROLE ?= labeler

.DEFAULT_GOAL := help
.PHONY: help venv system-deps run test test-fast lint screenshots bench-filters bench-team bench-sync bench-publish bench-inference drill train evaluate lint-chart images user clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[api,worker,dev]'
	touch $(STAMP)

venv: $(STAMP) ## Create the virtual environment and install the project

system-deps: ## Install system packages the browser tests need (apt-get, when root)
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium'"; fi; \
	fi

run: venv ## Start the whole stack in the foreground (S3, database, api, worker); Ctrl+C stops it
	$(PY) -m dataset_service.devstack --stop-with-parent

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

bench-team: venv ## Benchmark assignment, the labeler's next image and the team filters on 1,000,000 samples in PostgreSQL
	$(PY) -m benchmarks.team $(ARGS)

bench-sync: venv ## Benchmark Synchronize Data Source on 100,000 objects in SeaweedFS
	$(PY) -m benchmarks.sync

bench-publish: venv ## Benchmark publish, diff and the COCO and VOC exports on 100,000 samples (ARGS="--samples 20000")
	$(PY) -m benchmarks.publish $(ARGS)

bench-inference: venv ## Benchmark the inference worker's HTTP latency and throughput
	$(PY) -m benchmarks.inference

drill: venv ## 20 labelers for 2 minutes while syncs are killed, the store stalls and bad files arrive (ARGS="--seconds 60 --database sqlite")
	$(PY) -m benchmarks.drill $(ARGS)

train: venv ## Train the extreme-points model (hours on CPU; resumes from checkpoints; options in ARGS="...")
	$(PY) -m pip install --quiet -e '.[train]'
	$(PY) -m inference_worker.train $(ARGS)

evaluate: venv ## Score the model against GrabCut on davis345 (ARGS="--flip-tta --refine --instances", --set DIR, --url URL)
	$(PY) -m inference_worker.evaluate $(ARGS)

lint-chart: venv ## Lint, render and validate the Helm chart
	$(PY) -m pytest -p no:cacheprovider -q tests/helm

images: ## Build the API and worker images with buildah (IMAGE_BASE=python:3.11-slim where a registry answers, TORCH=cuda, IMAGES=api)
	BASE='$(IMAGE_BASE)' deploy/build-images.sh $(IMAGES)

user: venv ## Create a user in the configured database: make user NAME=alice ROLE=admin|labeler (asks for the password)
	@test -n '$(NAME)' || { echo "usage: make user NAME=alice [ROLE=labeler|admin]"; exit 2; }
	@$(VENV)/bin/flask --app dataset_service db upgrade >/dev/null
	$(VENV)/bin/flask --app dataset_service users create '$(NAME)' --role '$(ROLE)'

clean: ## Remove the virtual environment (keeps ./var data)
	rm -rf $(VENV)
