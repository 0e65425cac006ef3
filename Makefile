# Two commands do all the set-up on a fresh machine:
#   make demo   -- create the environment and run prune -> restore -> evaluate on the embedded default
#   make test   -- create the environment if needed and run the whole test suite
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Where the Alpaca files live (restorelcc reads $$RESTORELCC_DATA/alpaca/{train,valid}.jsonl).
# In this workplace they sit in ../shared/data; elsewhere export RESTORELCC_DATA yourself.
export RESTORELCC_DATA ?= $(abspath ../shared/data)
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
PYTEST_ARGS ?=

.PHONY: env demo test test-fast export check-sync

$(STAMP): settings.ini setup.py requirements-packaged.txt
	@echo "installing the environment into $(VENV) (a few minutes; pip's output goes to $(VENV)/install.log)"
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@# torch first, on its own: the pinned CPU build (an open range pulls a multi-GB CUDA build)
	@{ $(BIN)/pip install -q --upgrade pip && \
	   $(BIN)/pip install -q torch==2.13.0 && \
	   $(BIN)/pip install -q -e ".[dev]" && \
	   $(BIN)/pip install -q --no-deps -r requirements-packaged.txt; } > $(VENV)/install.log 2>&1 || \
	 { tail -n 30 $(VENV)/install.log; echo "installing failed; pip's whole output is in $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)
	@echo "environment ready: $(VENV)"

env: $(STAMP)

demo: $(STAMP)
	$(BIN)/restorelcc demo

# notebooks' own tests (cells flagged `slow` run too), one process per notebook so memory is returned between
# notebooks; then the pytest suite
test: $(STAMP) check-sync
	@fail=""; for nb in nbs/[0-9]*.ipynb; do echo "nbdev_test $$nb"; \
	  $(BIN)/nbdev_test --flags slow --path $$nb || fail="$$fail $$nb"; done; \
	  test -z "$$fail" || { echo "notebook tests failed:$$fail"; exit 1; }
	$(BIN)/pytest tests $(PYTEST_ARGS)

# fast loop: notebook tests without the slow cells, pytest without the slow marker
test-fast: $(STAMP)
	$(BIN)/nbdev_test --n_workers 2
	$(BIN)/pytest tests -m "not slow" $(PYTEST_ARGS)

# the notebooks are the source of truth: exporting them must not change the library
check-sync: $(STAMP)
	$(BIN)/nbdev_export
	@test -z "$$(git status --porcelain -- restorelcc)" || { echo "nbdev_export changed restorelcc/: notebooks and library disagree"; git status --short -- restorelcc; exit 1; }

# clean first: nbdev_clean gives id-less cells their ids, and the export names each cell by its id
export: $(STAMP)
	$(BIN)/nbdev_clean
	$(BIN)/nbdev_export
