# allegro-feed developer entry points. Everything runs inside a local virtualenv (.venv) that
# the first target to need it creates, so a fresh checkout needs only Python 3.11+.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8765
PYTEST_ARGS ?=

.PHONY: help install run test lint schemas schemas-check sandbox worker bench clean

help:
	@echo "make run           the main job on embedded defaults: sample catalogue -> RabbitMQ -> workers -> local sandbox"
	@echo "make worker        the ingest bridge and actor pools (ALLEGRO_FEED_* settings)"
	@echo "make test          install into $(VENV) and run the whole test suite"
	@echo "make lint          ruff + mypy"
	@echo "make schemas       regenerate schemas/json from the pydantic models"
	@echo "make sandbox       serve the local Allegro simulator on PORT=$(PORT)"
	@echo "make bench         the benchmark harness (bench/)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m workers.runjob

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check workers schemas sandbox tests bench
	$(BIN)/ruff format --check workers schemas sandbox tests bench
	$(BIN)/mypy workers schemas sandbox

schemas: $(STAMP)
	$(BIN)/python -m schemas.generate

schemas-check: $(STAMP)
	$(BIN)/python -m schemas.generate --check

sandbox: $(STAMP)
	$(BIN)/allegro-feed sandbox --port $(PORT)

worker: $(STAMP)
	$(BIN)/allegro-feed worker

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var *.egg-info
