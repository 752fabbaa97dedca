# Each target creates its own virtual environment on first use (python3 -m venv).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
OUT    ?= results
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test test-fast bench docs docs-linkcheck clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# What the main job needs: the package with plotting and parallel workers.
$(VENV)/.stamp-reproduce: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[reproduce]"
	touch $@

# Everything the tests need (torch pinned to the CPU build in pyproject.toml).
$(VENV)/.stamp-dev: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

# What the documentation build needs (the gallery runs matplotlib and torch examples).
$(VENV)/.stamp-docs: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[docs]"
	touch $@

## demo: the main job, the MADness reproduction (figures and tables into $(OUT)/)
demo: $(VENV)/.stamp-reproduce
	$(VENV)/bin/ple-stats reproduce madness --out $(OUT)/madness --n-jobs 2 $(DEMO_ARGS)

## test: install what the tests need, then run the whole suite
test: $(VENV)/.stamp-dev
	$(PY) -m pytest $(PYTEST_ARGS)

## test-fast: the suite without the slow statistical tests
test-fast: $(VENV)/.stamp-dev
	$(PY) -m pytest -m "not slow"

## bench: the benchmarks as plain scripts printing tables
bench: $(VENV)/.stamp-dev
	$(PY) -m benchmarks

## docs: build the HTML documentation into docs/_build/html (warnings are errors; -E rereads
## every page so that a rebuild reports the warnings of unchanged pages too)
docs: $(VENV)/.stamp-docs
	$(VENV)/bin/sphinx-build -W --keep-going -E -b html docs docs/_build/html

## docs-linkcheck: check the external and internal links of the documentation (needs network)
docs-linkcheck: $(VENV)/.stamp-docs
	$(VENV)/bin/sphinx-build -b linkcheck docs docs/_build/linkcheck

clean:
	rm -rf $(VENV) .venv-demo docs/_build docs/generated docs/auto_examples docs/sg_execution_times.rst \
		.pytest_cache .hypothesis
