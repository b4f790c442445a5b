# braking-distance: `make run` runs the main job, `make test` the tests. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
# The suffix names the install recipe: a venv made by an older recipe is brought up to date.
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)-pyc
NB_STAMP := $(subst .installed-,.notebooks-,$(STAMP))
UV_VERSION := 0.13.9
OUT    ?= outputs
RUN_ROWS ?= 100000

.PHONY: help venv run test test-fast lint format bench notebooks lock clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Bytecode is compiled once here, as pip does in the image: uv installs none, and where
# PYTHONDONTWRITEBYTECODE is set (CI runners, containers) every new process, each kfp.local
# step and each test subprocess, would compile pandas, scikit-learn and scipy again (seconds).
$(STAMP): pyproject.toml requirements.lock | $(BIN)/uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -c requirements.lock -e ".[dev]"
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP) ## create .venv and install the project with its test tools

run: $(STAMP) ## run the pipeline on kfp.local with the embedded registry + server, then ask the deployed model
	$(BIN)/braking pipeline run --require-release --rows $(RUN_ROWS) --output-dir $(OUT)/pipeline-root
	@echo "The deployed model, asked about a car 30 m ahead at 50 km/h while we drive 80 km/h on a dry road:"
	$(BIN)/braking predict --features 294 302 338 324 50 80 0.85
	@echo "The embedded stack keeps serving; stop it with: $(BIN)/braking stack down"

test: lint ## run the lint checks, then every test, end-to-end ones included
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## run the unit tests only (skips tests marked slow)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP) ## ruff check, ruff format check and mypy on the library packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## run the benchmarks; JSON results land in benchmarks/results/
	@mkdir -p benchmarks/results
	@set -e; for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f --output-dir benchmarks/results; done

$(NB_STAMP): $(STAMP)
	$(BIN)/uv pip install --python $(BIN)/python --quiet -c requirements.lock -e ".[dev,notebooks]"
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null
	rm -f $(VENV)/.notebooks-* && touch $(NB_STAMP)

notebooks: $(NB_STAMP) ## start the embedded stack and JupyterLab on 127.0.0.1 (Ctrl-C stops JupyterLab)
	$(BIN)/braking stack up
	@echo "The embedded stack keeps running after JupyterLab stops: '$(BIN)/braking stack down' stops it."
	$(BIN)/jupyter lab --ip 127.0.0.1 --no-browser --ServerApp.root_dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

lock: | $(BIN)/uv ## re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra notebooks --python-version 3.11 --quiet -o requirements.lock

clean: ## remove outputs and caches (keeps .venv)
	rm -rf $(OUT) .pytest_cache .ruff_cache
