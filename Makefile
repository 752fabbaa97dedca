# Each target creates its own virtual environment on first use (python3 -m venv).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
OUT    ?= results
DEMO_ARGS ?=

.PHONY: demo test test-fast bench docs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# What the main job needs: the package with plotting.
$(VENV)/.stamp-plot: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[plot]"
	touch $@

# Everything the tests need (torch pinned to the CPU build in pyproject.toml).
$(VENV)/.stamp-dev: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

$(VENV)/.stamp-docs: pyproject.toml $(VENV)/.stamp-dev
	$(PY) -m pip install -q -e ".[dev,docs]"
	touch $@

## demo: the main job, the MADness reproduction (figures and tables into $(OUT)/)
demo: $(VENV)/.stamp-plot
	$(VENV)/bin/ple-stats reproduce madness --out $(OUT)/madness --n-jobs 2 $(DEMO_ARGS)

## test: install what the tests need, then run the whole suite
test: $(VENV)/.stamp-dev
	$(PY) -m pytest

## test-fast: the suite without the slow statistical tests
test-fast: $(VENV)/.stamp-dev
	$(PY) -m pytest -m "not slow"

## bench: the benchmarks as plain scripts printing tables
bench: $(VENV)/.stamp-dev
	$(PY) -m benchmarks

docs: $(VENV)/.stamp-docs
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) docs/_build .pytest_cache .hypothesis
