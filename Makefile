# isvc-kit: `make run` serves the example InferenceService locally, `make test` runs the tests.
# Everything lives in .venv at the repository root, created by uv from uv.lock.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
MODELS := models/iris/v1/model.joblib models/iris/v2/model.joblib

.DEFAULT_GOAL := help
.PHONY: help setup run pods test test-fast lint audit train bench loadtest profile clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.tools/bin/uv:
	@echo ">> bootstrapping uv from PyPI into .tools/"
	@$(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv

$(BIN)/isvc: pyproject.toml uv.lock | $(UV)
	@echo ">> creating $(VENV) from uv.lock"
	@$(UV) sync --frozen --all-extras --compile-bytecode --python $(PYTHON) --quiet
	@touch $@

setup: $(BIN)/isvc ## create .venv with the locked dependencies

$(MODELS):
	@echo ">> training the iris models (artifacts missing)"
	@$(BIN)/python models/train.py

run: setup $(MODELS) ## set up, then serve manifests/iris.yaml locally (Ray Serve) with the event sink
	@$(BIN)/isvc up --sink -f manifests/iris.yaml

pods: setup $(MODELS) ## serve predictor + transformer as pod-equivalent processes
	@$(BIN)/isvc pods

test: setup $(MODELS) ## set up, then run every test tier that can run here
	@$(BIN)/pytest

lint: setup audit ## ruff + mypy + pip-audit
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

# pip-audit over every locked package (all extras and groups, as uv.lock pins them) against PyPI's advisory
# data; --strict fails when a package could not be audited, so no answer never reads as "no vulnerability".
# Findings and what is done about them: docs/security.md. SKIP_AUDIT=1 skips it (and says so), for a
# machine whose package index has no per-release JSON API (pip-audit then audits nothing).
AUDIT_REQUIREMENTS := $(VENV)/audit-requirements.txt
audit: setup ## pip-audit of the locked dependencies (needs PyPI; docs/security.md)
	@if [ -n "$(SKIP_AUDIT)" ]; then echo ">> pip-audit skipped (SKIP_AUDIT is set)"; exit 0; fi; \
	$(UV) export --frozen --format requirements-txt --no-hashes --all-extras --all-groups --no-emit-project \
	  --quiet --output-file $(AUDIT_REQUIREMENTS) && \
	$(BIN)/pip-audit --strict --no-deps --disable-pip --progress-spinner off -r $(AUDIT_REQUIREMENTS)

train: setup ## retrain every small model: iris v1/v2, wine, xgboost-iris, lightgbm-iris (deterministic)
	@$(BIN)/python models/train.py
	@$(BIN)/python models/train_wine.py
	@$(BIN)/python models/train_boosters.py

clean: ## remove the environment and caches
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# ---- the cluster path (minikube + Knative + KServe); see docs/cluster.md. Needs docker/minikube/kubectl. ----
# `images` and `compose-up` need only a Docker engine (CI runs one); the cluster targets need minikube (a laptop).
.PHONY: cluster-up images compose-up compose-down deploy e2e-cluster cluster-down
MINIKUBE_PROFILE ?= isvc-kit
K8S_VERSION ?= v1.33.1
CERT_MANAGER_VERSION ?= v1.17.2
KNATIVE_VERSION ?= v1.18.0
KSERVE_VERSION ?= v0.21.0
IMAGE_TAG ?= 0.1.0
OVERLAY ?= local
GH := https://github.com
KUBECTL := kubectl --context $(MINIKUBE_PROFILE)

cluster-up: ## minikube + cert-manager + Knative (Kourier) + KServe, at pinned versions
	minikube start -p $(MINIKUBE_PROFILE) --kubernetes-version=$(K8S_VERSION) --cpus=4 --memory=8g
	$(KUBECTL) apply -f $(GH)/cert-manager/cert-manager/releases/download/$(CERT_MANAGER_VERSION)/cert-manager.yaml
	$(KUBECTL) -n cert-manager wait --for=condition=Available deployment --all --timeout=300s
	$(KUBECTL) apply -f $(GH)/knative/serving/releases/download/knative-$(KNATIVE_VERSION)/serving-crds.yaml
	$(KUBECTL) apply -f $(GH)/knative/serving/releases/download/knative-$(KNATIVE_VERSION)/serving-core.yaml
	$(KUBECTL) apply -f $(GH)/knative/net-kourier/releases/download/knative-$(KNATIVE_VERSION)/kourier.yaml
	$(KUBECTL) patch configmap/config-network -n knative-serving --type merge \
	  -p '{"data":{"ingress-class":"kourier.ingress.networking.knative.dev"}}'
	$(KUBECTL) patch configmap/config-domain -n knative-serving --type merge -p '{"data":{"example.com":""}}'
	$(KUBECTL) -n knative-serving wait --for=condition=Available deployment --all --timeout=300s
	$(KUBECTL) -n kourier-system wait --for=condition=Available deployment --all --timeout=300s
	$(KUBECTL) apply --server-side -f $(GH)/kserve/kserve/releases/download/$(KSERVE_VERSION)/kserve.yaml
	$(KUBECTL) -n kserve wait --for=condition=Available deployment --all --timeout=300s
	$(KUBECTL) apply --server-side -f $(GH)/kserve/kserve/releases/download/$(KSERVE_VERSION)/kserve-cluster-resources.yaml
	@echo ">> cluster ready: kubectl --context $(MINIKUBE_PROFILE) get pods -A"

images: ## build the four images (docker; the local base where no registry is reachable), print sizes, load into minikube
	@MINIKUBE_PROFILE=$(MINIKUBE_PROFILE) IMAGE_TAG=$(IMAGE_TAG) docker/images.sh

COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo docker compose || echo docker-compose)

compose-up: images ## the local stack (compose.yaml): transformer, predictor, sink and PostgreSQL, on 127.0.0.1
	IMAGE_TAG=$(IMAGE_TAG) $(COMPOSE) up --detach --no-build
	@echo ">> http://127.0.0.1:$${ISVC_HTTP_PORT:-8080}/v1/models/iris:predict (sink: 127.0.0.1:$${ISVC_SINK_PORT:-8099})"

compose-down: ## stop the local stack (the database volume is kept; add -v by hand to drop it)
	$(COMPOSE) down

deploy: setup ## validate manifests/ against the cluster's own CRD, then apply the $(OVERLAY) overlay
	$(KUBECTL) get crd inferenceservices.serving.kserve.io -o yaml > /tmp/isvc-kit-crd.yaml
	$(BIN)/isvc validate --crd /tmp/isvc-kit-crd.yaml manifests
	$(KUBECTL) apply -k manifests/overlays/$(OVERLAY)
	$(KUBECTL) -n isvc-kit wait --for=condition=Ready ksvc/isvc-sink --timeout=300s
	$(KUBECTL) -n isvc-kit wait --for=condition=Ready inferenceservice/iris --timeout=600s
	$(KUBECTL) -n isvc-kit get inferenceservice iris

e2e-cluster: setup ## V2 conformance tests against the cluster (through a port-forward to Kourier)
	@$(KUBECTL) -n kourier-system port-forward service/kourier 18080:80 >/tmp/isvc-kit-port-forward.log 2>&1 & \
	  pf=$$!; trap 'kill $$pf' EXIT; sleep 3; \
	  ISVC_CLUSTER_URL=http://127.0.0.1:18080 \
	  ISVC_CLUSTER_HOST=$$($(KUBECTL) -n isvc-kit get inferenceservice iris -o jsonpath='{.status.url}' | sed 's|^https\?://||') \
	  $(BIN)/pytest -m cluster tests/cluster

cluster-down: ## delete the minikube profile (and everything in it)
	minikube delete -p $(MINIKUBE_PROFILE)

loadtest: setup $(MODELS) ## 10,000 requests, 16 clients, logger mode all: errors, p50/p99, events stored (bench/README.md)
	@$(BIN)/python bench/loadtest.py $(LOADTEST_ARGS)

profile: setup $(MODELS) ## py-spy under load: ms of Python per request by process (predictor-only, logger)
	@$(BIN)/python -m bench.profile $(PROFILE_ARGS)

bench: setup $(MODELS) ## Ray runtime vs pod processes, like with like: verdicts, results.json, plot (bench/README.md)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }; } \
	  || echo ">> wrk not available: using the httpx load generator"
	@$(UV) sync --frozen --inexact --group bench --quiet
	@$(BIN)/python bench/run.py $(BENCH_ARGS)
