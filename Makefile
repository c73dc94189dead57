# One entry point for users and CI. Everything is idempotent: run any target twice.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The Numba kernels compiled once (hazleads/precompile.py), again when a module of features/ changes
KERNELS := $(VENV)/.kernels

.PHONY: demo test install browser lint bench clean

demo: $(KERNELS)                    ## simulate a city, train, score and serve the API and web page
	$(BIN)/hazleads demo

test: $(KERNELS) browser            ## lint and the full test suite
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2

install: $(KERNELS)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "hazleads needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(KERNELS): $(STAMP) $(wildcard features/*.py) hazleads/precompile.py
	$(BIN)/hazleads precompile
	touch $(KERNELS)

# Browser tests drive Debian's Chromium (no browser download by Playwright); a CJK font makes the
# screenshots the tests save readable.
APT := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo apt-get)
browser:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(APT) install -y -q chromium >/dev/null || { $(APT) update -q && $(APT) install -y -q chromium >/dev/null; }; }
	@fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || { \
	  echo "installing a Chinese font for readable screenshots"; \
	  $(APT) install -y -q fonts-wqy-microhei >/dev/null 2>&1 || echo "(no CJK font installed: screenshots show boxes, tests unaffected)"; }

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .hazleads .pytest_cache
