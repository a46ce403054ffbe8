# The README's two commands: `make reproduce` (install + the main job) and `make test` (install + the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= runs/reproduce

.PHONY: install reproduce test test-all clean

install: $(VENV)/.installed

# torch==2.13.0 first: it is the CPU build on disk here; a bare `torch` would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

reproduce: install
	$(BIN)/neuralinv reproduce --budget quick --out $(OUT)

test: install
	$(BIN)/pytest

test-all: install
	$(BIN)/pytest -m ''

clean:
	rm -rf $(VENV) runs
