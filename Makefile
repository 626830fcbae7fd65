# The two quick-start commands: `make lab` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: lab test lint bench lite
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

lab: $(BIN)/.installed
	$(BIN)/melange-lab $(ARGS)

test: $(BIN)/.installed
	scripts/ensure-chromium
	$(BIN)/ruff check melange_lab tests benchmarks lite
	$(BIN)/mypy
	$(BIN)/pytest $(ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks

# The JupyterLite site in lite/_build/site (OFFLINE=1: nothing from Pyodide's CDN; needs
# --extra-wheel for cryptography, see docs/lite.md).
lite: $(BIN)/.installed
	$(BIN)/python -m lite $(if $(OFFLINE),--offline) $(ARGS)
