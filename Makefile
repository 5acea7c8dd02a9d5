# Two commands for a fresh machine: `make run` and `make test`. Each installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BRIDGE_VENV := .venvs/bridge
RASA_VENV   := .venvs/rasa
BRIDGE_PY   := $(BRIDGE_VENV)/bin/python
RASA        := $(RASA_VENV)/bin/rasa
MODEL       := models/current.tar.gz
TRAINING_INPUTS := config.yml bot/domain.yml $(shell find data -name '*.yml' 2>/dev/null) \
	$(wildcard bot/nlu/*.py)
SHARED_DATA := ../shared/datasets
DEV_SPLIT   := $(SHARED_DATA)/bitext_customer_support.csv
export RASA_TELEMETRY_ENABLED := false
export UV_PYTHON_DOWNLOADS := never

UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(HOME)/.local/bin/uv
endif

.PHONY: help setup run test lint model train validate evaluate evaluate-gate clean

help:
	@echo "make run       run the product (local Slack/Telegram stand-ins unless tokens are set)"
	@echo "make test      run every test (installs environments and trains a model if needed)"
	@echo "make model     train a model if the training data changed"
	@echo "make train     retrain the model now"
	@echo "make validate  check the training data (rasa data validate)"
	@echo "make evaluate  DATA=<csv> OUT=<json>: evaluate the trained assistant"
	@echo "make lint      ruff and mypy"
	@echo "make faults    fault-injection suite (writes faults/report.md)"
	@echo "make bench     measure every hop against its floor (writes bench/report/)"
	@echo "make review / candidate / compare / promote / forget: the retraining loop (docs/learning.md)"

$(UV):
	@echo "== installing uv (fast Python environments)"
	python3 -m pip install --user --quiet uv

setup: $(BRIDGE_VENV)/.installed $(RASA_VENV)/.installed

$(BRIDGE_VENV)/.installed: pyproject.toml | $(UV)
	@echo "== bridge environment (Python 3.11+) in $(BRIDGE_VENV)"
	$(UV) venv --allow-existing -p "$$(command -v python3)" $(BRIDGE_VENV)
	VIRTUAL_ENV=$(BRIDGE_VENV) $(UV) pip install -e ".[dev]"
	touch $@

$(RASA_VENV)/.installed: requirements/rasa.txt | $(UV)
	@echo "== Rasa environment (Python 3.10) in $(RASA_VENV); the first time takes a few minutes"
	$(UV) venv --allow-existing -p "$$(scripts/python310.sh)" $(RASA_VENV)
	VIRTUAL_ENV=$(RASA_VENV) $(UV) pip install -r requirements/rasa.txt
	touch $@

# Retrains only when the training data, domain or pipeline changed since the last model.
model: $(MODEL)

$(MODEL): $(TRAINING_INPUTS) | $(RASA_VENV)/.installed
	@echo "== training the assistant (progress below)"
	$(RASA) train --config config.yml --domain bot/domain.yml --data data --out models \
		--fixed-model-name current
	touch $@

train: $(RASA_VENV)/.installed
	$(RASA) train --config config.yml --domain bot/domain.yml --data data --out models \
		--fixed-model-name current --force

# Warnings are not fatal: responses are sent by action_route, which the validator cannot see.
validate: $(RASA_VENV)/.installed
	$(RASA) data validate --config config.yml --domain bot/domain.yml --data data

# make evaluate DATA=<csv with text,intent[,split]> OUT=<json> [SPLIT=dev] [GATE=1]
evaluate: setup $(MODEL)
	@test -n "$(DATA)" || { echo "usage: make evaluate DATA=<csv> OUT=<json> [SPLIT=dev] [GATE=1]"; exit 2; }
	$(RASA_VENV)/bin/python -m tools.evaluate --data "$(DATA)" --out "$(or $(OUT),.run/evaluation.json)" \
		--model $(MODEL) $(if $(SPLIT),--split $(SPLIT)) $(if $(GATE),--gate)

# The CI gate: issue 3's quality targets on data the model never trained on (the shared Bitext
# dev split and the CLINC out-of-scope validation rows). Timings are reported, not gated.
evaluate-gate: setup $(MODEL)
	$(RASA_VENV)/bin/python -m tools.evaluate --data $(DEV_SPLIT):dev \
		--data $(SHARED_DATA)/clinc150_out_of_scope_dev.csv:val \
		--out .run/evaluation-gate.json --model $(MODEL) --gate

run: setup $(MODEL)
	$(BRIDGE_PY) -m devstack

test: setup $(MODEL)
	$(BRIDGE_PY) -m pytest $(PYTEST_ARGS)

lint: $(BRIDGE_VENV)/.installed
	$(BRIDGE_VENV)/bin/ruff check .
	$(BRIDGE_VENV)/bin/ruff format --check .
	$(BRIDGE_VENV)/bin/mypy

clean:
	rm -rf .venvs models .run

# --- operations (docs/deployment.md, docs/configuration.md) ---
.PHONY: config-docs check-deployment

config-docs: $(BRIDGE_VENV)/.installed
	$(BRIDGE_PY) -m bridge.config_docs

# Checks the deployment configured in the environment / .env: Redis, Rasa, Slack, Telegram.
check-deployment: $(BRIDGE_VENV)/.installed
	$(BRIDGE_PY) -m bridge.deploy_check

# --- benchmarks (issue 6; docs/benchmarks.md) ---
.PHONY: bench

# Every measurement in one run (~12 min on 2 cores); writes bench/report/{report.json,chart.png,summary.md}.
bench: setup $(MODEL)
	$(BRIDGE_PY) -m bench

# --- learning from conversations (issue 7; docs/learning.md) ---
.PHONY: review candidate compare promote forget

# What the bot could not handle, from Redis, as Rasa NLU YAML for a maintainer to label.
review: $(BRIDGE_VENV)/.installed
	$(BRIDGE_PY) -m tools.review $(if $(OUT),--out "$(OUT)")

# Trains a candidate model from the current data, beside the current one (progress below).
candidate: $(RASA_VENV)/.installed
	$(RASA) train --config config.yml --domain bot/domain.yml --data data --out models \
		--fixed-model-name candidate --force

# The candidate against the current model: dev split and reviewed examples, better and worse.
compare: setup $(MODEL)
	@test -f models/candidate.tar.gz || $(MAKE) --no-print-directory candidate
	$(RASA_VENV)/bin/python -m tools.compare

# Makes the candidate current and loads it into the running Rasa; FORCE=1 below the targets.
promote: $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/python -m tools.promote $(if $(FORCE),--force)

# make forget CUSTOMER=<conversation id or Telegram chat id> [SLACK=1]
forget: $(BRIDGE_VENV)/.installed
	@test -n "$(CUSTOMER)" || { echo "usage: make forget CUSTOMER=<conversation id or telegram chat id> [SLACK=1]"; exit 2; }
	$(BRIDGE_PY) -m tools.forget "$(CUSTOMER)" $(if $(SLACK),--slack)

# Fault-injection suite (docs/faults.md): kills, restarts and platform errors on a live
# conversation; writes faults/report.json and faults/report.md and fails on any message lost,
# duplicated or out of order. About two minutes; CI runs it after `make test`.
.PHONY: faults
faults: setup $(MODEL)
	$(BRIDGE_PY) -m pytest -q faults -p no:cacheprovider $(PYTEST_ARGS)
