# The two quick-start commands: `make lab` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# uv installs the same packages several times faster than pip; if it is not on PATH, pip puts
# it into the venv first. `make lab` installs only the `lab` extra, quietly. The venv is seeded
# with pip, which `pip wheel` (a test builds the wheel with it) and learners expect to find.
UV = $(shell command -v uv 2>/dev/null || echo $(BIN)/uv)

.PHONY: lab test lint bench lite fidelity pictures
$(BIN)/python:
	@if command -v uv >/dev/null 2>&1; then uv venv -q --seed $(VENV) --python $(PYTHON); \
	else $(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q --disable-pip-version-check uv; fi

$(BIN)/.lab-installed: pyproject.toml | $(BIN)/python
	@test -x "$(UV)" || $(BIN)/python -m pip install -q --disable-pip-version-check uv
	@$(UV) pip install -q --python $(BIN)/python -e '.[lab]'
	@touch $@

$(BIN)/.installed: pyproject.toml | $(BIN)/python
	@test -x "$(UV)" || $(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(UV) pip install -q --python $(BIN)/python -e '.[dev]'
	touch $@ $(BIN)/.lab-installed

lab: $(BIN)/.lab-installed
	@$(BIN)/melange-lab $(ARGS)

test: $(BIN)/.installed
	scripts/ensure-chromium
	$(BIN)/ruff check melange_lab tests benchmarks lite
	$(BIN)/mypy
	$(BIN)/pytest $(ARGS)

# Other projects' suites against the lab, moto's server and LocalStack, and docs/fidelity.md:
# LOCALSTACK_TESTS=/path/to/a/localstack/checkout (the pinned commit: tests/suites/localstack_suite.py)
FIDELITY_TESTS = tests/test_fidelity.py tests/test_fidelity_recorded.py tests/test_real_broker.py
fidelity: $(BIN)/.installed
	$(BIN)/python -m tests.suites $(ARGS)
	$(BIN)/pytest $(FIDELITY_TESTS) --fidelity-table docs/fidelity.md

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks

# docs/images/tutorial-*.png (the README's pictures): each tutorial's view after Run All, taken
# by the browser test that checks it; optipng, where installed, makes them smaller.
pictures: $(BIN)/.installed
	scripts/ensure-chromium
	MELANGE_LAB_DOCS_IMAGES=1 $(BIN)/pytest tests/browser/test_tutorial_views.py -k after_run_all $(ARGS)

# The JupyterLite site in lite/_build/site: every file it needs is in it (docs/lite.md).
# The build tools live in .cache/lite-venv (lite/tools_venv.py), apart from the lab's venv.
lite: $(BIN)/.lab-installed
	@$(BIN)/python -m lite.tools_venv >/dev/null
	.cache/lite-venv/bin/python -m lite $(ARGS)
