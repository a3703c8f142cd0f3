# Every target sets up .venv from nothing first (torch's CPU build is pinned only when torch
# is missing; pyproject keeps an open range for GPU users).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.automl-installed

.PHONY: install demo test test-fast wheel-smoke bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install torch==2.13.0
	# The distribution's old name (now automl-torch): its metadata would register every built-in twice.
	$(BIN)/python -m pip uninstall -y -q automl 2>/dev/null || true
	rm -rf automl.egg-info
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/automl search digits --space quick --num-trials 8 --time-budget 120 --output runs/demo --overwrite

# What CI runs: the whole suite, slow end-to-end tests included (two workers, each running whole
# test files, the longest first: see tests/conftest.py), then the wheel as users install it.
test: install
	$(BIN)/python -m pytest -n 2 --durations=25
	$(MAKE) wheel-smoke

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

# The non-editable install of this tree (beside the dev venv's dependencies), a short search and a prediction.
wheel-smoke: install
	PYTHON=$(PYTHON) DEPS_VENV=$(abspath $(VENV)) bash .ci/wheel_smoke

# The bench extra: aeon (its bundled time-series sets and MiniRocket) and FLAML (the peer AutoML).
$(VENV)/.automl-bench-installed: $(STAMP)
	$(BIN)/python -m pip install -e '.[bench]'
	touch $@

bench: install $(VENV)/.automl-bench-installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) runs .pytest_cache
