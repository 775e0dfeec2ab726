# regrain: two commands set everything up on a fresh machine:
#   make demo   create .venv, install, restore the bundled sample pair, say where the results are
#   make test   create or reuse .venv, install the test extras, lint, run the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install bench-quality bench-speed bench-batch clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m regrain.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

$(VENV)/.bench-installed: pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@

bench-quality: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/bench_quality.py --jobs 2

bench-speed: $(STAMP)
	$(BIN)/python benchmarks/bench_speed.py

bench-batch: $(STAMP)
	$(BIN)/python benchmarks/bench_batch.py

clean:
	rm -rf demo-output bench-output .pytest_cache .ruff_cache
