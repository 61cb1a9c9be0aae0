# Two entry points (see README): `make book` builds the published book, `make test` runs every test.
# Both create or update the virtual environment in .venv first; nothing is rebuilt when nothing changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book book-html test venv chromium bubblewrap clean

venv: $(STAMP)

# The oldest Python the course supports (pyproject.toml's requires-python): Debian 12's python3.11.
MIN_PYTHON := 3.11.2
comma := ,

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -c 'import sys; sys.version_info[:3] >= ($(subst .,$(comma),$(MIN_PYTHON)),) \
	  or sys.exit("$(PYTHON) is Python %s; the course needs Python $(MIN_PYTHON) or newer (make PYTHON=...)" \
	  % sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

# The published book: full training runs unless CNN_COURSE_QUICK=1 is set by the caller.
book: $(STAMP)
	@$(MAKE) --no-print-directory book-html

# The build step alone. The test suite's quick build runs this very target (tests/bookcheck.py,
# with BIN= its interpreter's, BOOK_OUTPUT=_build/quick), so it builds the way `make book` does.
BOOK_OUTPUT ?= .
BOOK_TOC ?= _toc.yml
book-html:
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter-book build . --toc $(BOOK_TOC) \
	  --path-output $(BOOK_OUTPUT) -W -n --keep-going

# Every test, including a quick-mode build of the book and the headless-browser check of it.
test: $(STAMP) chromium bubblewrap
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

# The browser test drives Debian's Chromium; install it where apt is available and it is missing.
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	  || { command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) ; } \
	  || echo "chromium/chromedriver not installed: the browser tests will be skipped"

# The grader runs each student's kernel under bubblewrap; install it where apt is available.
bubblewrap:
	@command -v bwrap >/dev/null \
	  || { command -v apt-get >/dev/null && (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null) ; } \
	  || echo "bubblewrap not installed: grading refuses without it (see the instructor guide)"

clean:
	rm -rf _build
