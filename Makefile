# Two commands for a fresh machine: `make run` and `make test`. Each installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BRIDGE_VENV := .venvs/bridge
RASA_VENV   := .venvs/rasa
BRIDGE_PY   := $(BRIDGE_VENV)/bin/python
RASA        := $(RASA_VENV)/bin/rasa
MODEL       := models/current.tar.gz
# What Rasa trains on: data/, as plain `rasa train` does. review/ (written by `make review`)
# holds unchecked customer messages, outside data/ so that it is never trained on; a maintainer
# moves the checked ones into data/nlu/reviewed.yml.
TRAIN_DATA  := data
TRAINING_INPUTS := config.yml domain.yml $(shell find $(TRAIN_DATA) -name '*.yml' 2>/dev/null) \
	$(wildcard bot/nlu/*.py bot/nlu/*.yml)
SHARED_DATA := ../shared/datasets
DEV_SPLIT   := $(SHARED_DATA)/bitext_customer_support.csv
# The rows the CI gate and `make evaluate` measure on: data the model never trained on.
GATE_ROWS   := $(DEV_SPLIT):dev $(SHARED_DATA)/clinc150_out_of_scope_dev.csv:val
# The CI gate also measures the languages (a `lang` column) and whole conversations (issue 15).
GATE_LANGUAGES := tools/heldout_languages.csv
GATE_DIALOGUES := tools/heldout_dialogues.yml
# The retraining loop (docs/learning.md); each can be given on the command line.
CURRENT     := $(MODEL)
CANDIDATE   := models/candidate/candidate.tar.gz
TRAIN_CONFIG := config.yml
COMPARE_OUT := .run/compare
# `make report` (docs/report.md): how far back, and where the page goes.
SINCE       := 7d
REPORT_OUT  := .run/report
export RASA_TELEMETRY_ENABLED := false
export UV_PYTHON_DOWNLOADS := never

UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(HOME)/.local/bin/uv
endif

.PHONY: help setup run reset-shop test lint model first-model validate evaluate-gate clean

help:
	@echo "make run       run the product (local Slack/Telegram stand-ins unless tokens are set)"
	@echo "make reset-shop  put the demo shop's orders back to their seed data (stack running or not)"
	@echo "make test      run every test (installs environments and trains a model if needed)"
	@echo "make model     train the first model, or retrain the current one if the data changed"
	@echo "               (what make test uses; make run never retrains: see docs/learning.md)"
	@echo "make validate  check the training data (Rasa's validator, and an answer for every intent)"
	@echo "make lint      ruff and mypy"
	@echo "make faults    fault-injection suite (writes faults/report.md)"
	@echo "make bench     measure every hop against its floor (writes bench/report/)"
	@echo "make report    [SINCE=7d] how support is going -> $(REPORT_OUT)/index.html with charts"
	@echo "make digest    post the week's headline figures and a chart to DIGEST_CHANNEL in Slack"
	@echo ""
	@echo "Improving the bot from real conversations (docs/learning.md):"
	@echo "make review    what the bot could not handle, grouped by topic -> review/candidates.yml"
	@echo "make train     train the new model from data/ -> $(CANDIDATE) (progress shown)"
	@echo "make evaluate  new model vs current on the dev split and the reviewed examples:"
	@echo "               each metric before/after with its 95% CI, what got better and worse"
	@echo "make promote   make the new model current (refused below the targets or significantly"
	@echo "               worse than the current model, unless FORCE=1); keeps the replaced one"
	@echo "make rollback  make the model the last promote replaced current again, live"
	@echo "make status    which model the running Rasa serves, when it was trained and promoted"
	@echo "make forget    CUSTOMER=<id> [SLACK=1]: erase one customer"
	@echo "make evaluate DATA=<csv> OUT=<json>   evaluate the current model on any text,intent CSV"
	@echo "make evaluate-gate                    the CI gate: the current model against the targets"

$(UV):
	@echo "== installing uv (fast Python environments)"
	python3 -m pip install --user --quiet uv==0.13.9

setup: $(BRIDGE_VENV)/.installed $(RASA_VENV)/.installed

# Both environments are installed from their locks, every file checked against its hash
# (`make lock` writes them from pyproject.toml and requirements/rasa.txt). The bridge's own code
# goes in editable, without dependencies of its own beyond the lock.
$(BRIDGE_VENV)/.installed: requirements/bridge-dev.lock pyproject.toml | $(UV)
	@echo "== bridge environment (Python 3.11+) in $(BRIDGE_VENV)"
	$(UV) venv --allow-existing -p "$$(command -v python3)" $(BRIDGE_VENV)
	VIRTUAL_ENV=$(BRIDGE_VENV) $(UV) pip sync --require-hashes requirements/bridge-dev.lock
	VIRTUAL_ENV=$(BRIDGE_VENV) $(UV) pip install --no-deps -e .
	touch $@

$(RASA_VENV)/.installed: requirements/rasa.lock | $(UV)
	@echo "== Rasa environment (Python 3.10) in $(RASA_VENV); the first time takes a few minutes"
	$(UV) venv --allow-existing -p "$$(scripts/python310.sh)" $(RASA_VENV)
	VIRTUAL_ENV=$(RASA_VENV) $(UV) pip sync --require-hashes requirements/rasa.lock
	touch $@

# Re-resolves the locks (needs PyPI): the runtime-only one is what a deployment installs.
.PHONY: lock
lock: | $(UV)
	$(UV) pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements/bridge.lock
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		-o requirements/bridge-dev.lock
	$(UV) pip compile requirements/rasa.txt --generate-hashes --python-version 3.10 \
		-o requirements/rasa.lock

# Retrains only when the training data, domain or pipeline changed since the last model.
model: $(MODEL)

# The list of training files, rewritten only when it changes: a file removed from data/nlu/
# retrains the model too (a file's absence has no timestamp to compare).
TRAINING_LIST := .run/training-inputs.txt
$(shell mkdir -p .run && echo '$(TRAINING_INPUTS)' | cmp -s - $(TRAINING_LIST) || \
	echo '$(TRAINING_INPUTS)' > $(TRAINING_LIST))

# Used by `make test` (and evaluate-gate, bench, faults): the tests check the committed data, so
# the model is retrained in place when it changed. `make run` uses first-model instead.
$(MODEL): $(TRAINING_INPUTS) $(TRAINING_LIST) | $(RASA_VENV)/.installed
	@echo "== training the assistant (progress below)"
	$(RASA_VENV)/bin/python -m tools.train --out $(MODEL) --data $(TRAIN_DATA) --config config.yml
	touch $@

# `make run` never replaces the model in service (it may be a promoted one): it trains a model
# only when there is none; a newer one goes through make train, make evaluate, make promote.
first-model: | $(RASA_VENV)/.installed
	@if [ ! -f "$(MODEL)" ]; then \
		echo "== no model yet: training the first one (progress below)"; \
		$(RASA_VENV)/bin/python -m tools.train --out $(MODEL) --data $(TRAIN_DATA) \
			--config config.yml || exit 1; \
	elif [ -n "$$(find $(TRAINING_INPUTS) -newer "$(MODEL)" 2>/dev/null | head -1)" ]; then \
		echo "note: the training data changed since $(MODEL), which stays in service;" \
			"make train, make evaluate, make promote to use the change"; \
	fi

# Rasa's validator in-process (tools/validate.py): progress and real problems; library warnings
# and the expected notices (responses sent by action_route) go to .run/logs/validate.log.
validate: $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/python -m tools.validate --data $(TRAIN_DATA) --domain domain.yml \
		--config config.yml

# The CI gate: the quality targets (issues 3 and 15) on data the model never trained on: the
# shared Bitext dev split, the CLINC out-of-scope validation rows, requests and questions in 21
# languages, and short conversations turn by turn; rows found word for word in data/nlu/ are
# left out. Timings are reported, not gated.
evaluate-gate: setup $(MODEL)
	$(RASA_VENV)/bin/python -m tools.evaluate $(foreach rows,$(GATE_ROWS),--data $(rows)) \
		--data $(GATE_LANGUAGES) --dialogues $(GATE_DIALOGUES) --unseen-only \
		--out .run/evaluation-gate.json --model $(MODEL) --gate

run: setup first-model
	$(BRIDGE_PY) -m devstack

# The demo shop's database (COMMERCE_DB, default .run/commerce.sqlite3: the one `make run` uses),
# reset in place, so a running stack sees the seed data at once.
reset-shop: $(BRIDGE_VENV)/.installed
	$(BRIDGE_PY) -m actions.backend.reset

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

# --- how support is going (issue 19; docs/report.md) ---
.PHONY: report digest

# A self-contained HTML page with charts, from what Redis holds (REDIS_URL, .env, or make run's).
report: $(BRIDGE_VENV)/.installed
	$(BRIDGE_PY) -m tools.report --since $(SINCE) --out $(REPORT_OUT)

# The week's headline figures and one chart, posted to DIGEST_CHANNEL (run weekly by cron).
digest: $(BRIDGE_VENV)/.installed
	$(BRIDGE_PY) -m tools.report.digest --since 7d

# --- benchmarks (issue 6; docs/benchmarks.md) ---
.PHONY: bench

# Every measurement in one run (~24 min on 2 cores); writes bench/report/{report.json,chart.png,summary.md}.
bench: setup $(MODEL)
	$(BRIDGE_PY) -m bench

# --- learning from conversations (issue 7; docs/learning.md) ---
# make review -> (move checked examples into data/nlu/) -> make train -> make evaluate -> make promote
.PHONY: review train evaluate promote rollback status forget candidate compare

# What the bot could not handle, from Redis, as Rasa NLU YAML for a maintainer to label.
# Grouped by meaning with the assistant's own sentence embedding (run in the Rasa environment);
# LEXICAL=1 groups by words instead, in a couple of seconds.
review: $(BRIDGE_VENV)/.installed $(RASA_VENV)/.installed
	$(BRIDGE_PY) -m tools.review $(if $(OUT),--out "$(OUT)") $(if $(LEXICAL),--lexical)

# Trains the new model: the candidate beside the current one, which stays in service until
# `make promote` (the very first model becomes the current one). Rasa's progress is shown.
train: $(RASA_VENV)/.installed
	@if [ -f "$(CURRENT)" ]; then out="$(CANDIDATE)"; next="make evaluate"; \
	else out="$(CURRENT)"; next="make run"; fi; \
	$(RASA_VENV)/bin/python -m tools.train --out "$$out" --data $(TRAIN_DATA) \
		--config "$(TRAIN_CONFIG)" && echo "next: $$next"

# `make evaluate`: the new model against the current one on the dev split (the CI gate's rows)
# and the reviewed examples; each metric before/after, what got better and worse, the targets.
# `make evaluate DATA=<csv with text,intent[,split]> OUT=<json> [SPLIT=dev] [GATE=1]` evaluates
# the current model alone on any CSV instead (docs/evaluation.md).
ifeq ($(origin DATA),command line)
evaluate: setup $(MODEL)
	$(RASA_VENV)/bin/python -m tools.evaluate --data "$(DATA)" --out "$(or $(OUT),.run/evaluation.json)" \
		--model $(MODEL) $(if $(SPLIT),--split $(SPLIT)) $(if $(GATE),--gate)
else
evaluate: $(RASA_VENV)/.installed
	@if [ -f "$(CANDIDATE)" ] && [ -n "$$(find $(TRAINING_INPUTS) -newer "$(CANDIDATE)" 2>/dev/null | head -1)" ]; then \
		echo "note: the training data changed after $(CANDIDATE) was trained; \`make train\` again to include it"; fi
	$(RASA_VENV)/bin/python -m tools.compare --candidate "$(CANDIDATE)" --current "$(CURRENT)" \
		$(foreach rows,$(GATE_ROWS),--data $(rows)) $(foreach f,$(REVIEWED),--reviewed $(f)) \
		--out "$(COMPARE_OUT)"
endif

# Makes the candidate current and loads it into the running Rasa (RASA_URL); refused, unless
# FORCE=1, when the last `make evaluate` was about another candidate file, found it below the
# targets, or significantly worse than the current model on a target metric. The replaced model
# is kept as models/previous/previous.tar.gz; models/current.json records what is current.
promote: $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/python -m tools.promote --candidate "$(CANDIDATE)" --current "$(CURRENT)" \
		--report "$(COMPARE_OUT)/report.json" $(if $(filter 1 yes true,$(FORCE)),--force)

# The model the last promote replaced becomes current again and is loaded into the running Rasa.
rollback: $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/python -m tools.rollback --current "$(CURRENT)"

# Which model the running Rasa serves (GET /status), with its training date and promotion.
status: $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/python -m tools.status --current "$(CURRENT)"

# Earlier names of `make train` and `make evaluate`.
candidate: train
compare: evaluate

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
