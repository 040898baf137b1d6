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

test: $(BIN)/ipoke
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(BIN)/ipoke
	$(BIN)/ipoke bench

clean-venv:
	rm -rf $(VENV)
