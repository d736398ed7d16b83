# The README's two commands. Each sets up what it needs, once, and is quick when all is in place.
#
#   make book   the book in _build/html (every notebook executed once, two at a time, into the cache),
#               and its Chinese edition in _build/html/zh from the same execution
#   make test   the tests: the package, its doctests, every notebook in two numerical environments,
#               every page in a headless browser
#   make book-zh  the Chinese edition alone (after `make book`, to look at a translation)
#   make translations  after editing a page: its messages into locales/zh_CN (sphinx-intl update), checked
#
# Set-up (both): a virtual environment in .venv; a CPU build of torch where no NVIDIA driver is
# present (unless torch is already installed there); the package with its extras; the book's
# front-end files from npm. Variables: PYTHON (the interpreter for the venv), JOBS (notebooks and
# test workers side by side, default 2), TORCH_INDEX (where a CPU torch comes from).

PYTHON ?= python3
JOBS ?= 2
VENV := .venv
BIN := $(VENV)/bin
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
SETUP := $(VENV)/.lrcourse-setup

.PHONY: book book-zh translations test setup notebooks report clean

# Both editions. The Chinese one (book/_ext/editions.py) takes the notebooks' outputs from the
# execution cache that the English build used: no notebook runs again (about 70 s here).
book: notebooks
	$(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python book/_ext/editions.py build

book-zh: notebooks
	$(BIN)/python book/_ext/editions.py build

# Every page's messages into locales/zh_CN/LC_MESSAGES/<page>.po (new ones empty, changed ones
# fuzzy), then the checker's list of what is left to translate (book/CONTRIBUTING.md).
translations: setup
	$(BIN)/python book/_ext/editions.py extract
	-$(BIN)/python book/_ext/translation_check.py

test: book
	$(BIN)/pytest -n $(JOBS) --dist loadgroup
	@$(BIN)/python book/_ext/execution_cache.py report

setup: $(SETUP) node_modules/.package-lock.json

notebooks: setup
	$(BIN)/python book/_ext/execution_cache.py execute --workers $(JOBS)

report: setup
	@$(BIN)/python book/_ext/execution_cache.py report

$(SETUP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { \
	    echo "lrcourse needs Python 3.10 or newer ('$(PYTHON)' is $$($(PYTHON) --version 2>&1)): install one, then make PYTHON=python3.12"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if ! $(BIN)/python -c 'import torch' 2>/dev/null; then \
	    if command -v nvidia-smi >/dev/null; then $(BIN)/pip install torch; \
	    else echo "no NVIDIA driver: a CPU-only torch from $(TORCH_INDEX)"; $(BIN)/pip install torch --index-url $(TORCH_INDEX); fi; \
	fi
	$(BIN)/pip install -e ".[dev]"
	@touch $@

node_modules/.package-lock.json: package-lock.json
	@command -v npm >/dev/null || { echo "the book's front-end files come from npm: install Node.js with npm (Debian: apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

clean:
	rm -rf _build
