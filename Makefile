# `make run` opens the desktop app on the bundled checkpoint; `make test` runs the test suite.
# Both create the virtual environment on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench clean-venv

$(BIN)/ipoke: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/ipoke

run: $(BIN)/ipoke
	$(BIN)/python -m app.main

# The suite runs as on a CPU without bf16 units (tests/conftest.py pins it), then the tests that run
# the real model run again as on a CPU with them: the same result whatever CPU CI is given.
test: $(BIN)/ipoke
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest
	IPOKE_CPU_BF16_UNITS=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m model

bench: $(BIN)/ipoke
	$(BIN)/ipoke bench

clean-venv:
	rm -rf $(VENV)
