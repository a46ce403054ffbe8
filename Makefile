# The README's two commands: `make reproduce` (install + the main job) and `make test` (install + the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= runs/reproduce

.PHONY: install browser lint reproduce test test-all clean

install: $(VENV)/.installed

# torch==2.13.0 first: it is the CPU build on disk here; a bare `torch` would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The browser test (tests/test_report_browser.py) drives Debian's Chromium through Playwright (never a browser
# Playwright downloads), under `unshare -n` with loopback brought up by `ip`. As root on a fresh machine (CI) we
# install them, fonts-liberation for stable text metrics, and `apt-get update` only if a stale or empty package
# list makes the install fail; otherwise a hint, and the test skips (fails under CI=true) with the same hint.
CHROMIUM ?= /usr/bin/chromium
BROWSER_PACKAGES := chromium fonts-liberation iproute2
browser:
	@if [ -x $(CHROMIUM) ] && { command -v ip || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ]; } >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y --no-install-recommends $(BROWSER_PACKAGES) \
		|| { apt-get update && apt-get install -y --no-install-recommends $(BROWSER_PACKAGES); }; \
	else \
		echo "make browser: the browser test needs Debian's Chromium: sudo apt-get install chromium iproute2" >&2; \
	fi

reproduce: install
	$(BIN)/neuralinv reproduce --budget quick --out $(OUT)

# The tree's rules first (seconds): ruff lint and format, and the layers contract (an import up a layer fails).
lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

test: install browser lint
	$(BIN)/pytest

test-all: install browser
	$(BIN)/pytest -m ''

clean:
	rm -rf $(VENV) runs
