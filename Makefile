# isvc-kit: `make run` serves the example InferenceService locally, `make test` runs the tests.
# Everything lives in .venv at the repository root, created by uv from uv.lock.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
MODELS := models/iris/v1/model.joblib models/iris/v2/model.joblib

.DEFAULT_GOAL := help
.PHONY: help setup run pods test test-fast lint train bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.tools/bin/uv:
	@echo ">> bootstrapping uv from PyPI into .tools/"
	@$(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv

$(BIN)/isvc: pyproject.toml uv.lock | $(UV)
	@echo ">> creating $(VENV) from uv.lock"
	@$(UV) sync --frozen --python $(PYTHON) --quiet
	@touch $@

setup: $(BIN)/isvc ## create .venv with the locked dependencies

$(MODELS):
	@echo ">> training the iris models (artifacts missing)"
	@$(BIN)/python models/train.py

run: setup $(MODELS) ## set up, then serve the example InferenceService locally
	@$(BIN)/isvc pods

pods: setup $(MODELS) ## serve predictor + transformer as pod-equivalent processes
	@$(BIN)/isvc pods

test: setup $(MODELS) ## set up, then run every test tier that can run here
	@$(BIN)/pytest

lint: setup ## ruff + mypy
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

train: setup ## retrain models/iris/v1 and v2 (deterministic)
	@$(BIN)/python models/train.py

clean: ## remove the environment and caches
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
