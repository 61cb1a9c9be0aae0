"""Session fixtures for the book tests (imported by tests/conftest.py).

``quick_book`` builds the whole book once per test session, in quick mode, with the Makefile's own
build step (``make book-html``, what ``make book`` runs after its venv step; see
``bookcheck.build_book``), into ``_build/quick`` (its own jupyter-cache, so quick outputs never reach
the published full build in ``_build/html``). test_book_build.py and test_browser.py share it.

``BOOK_TOC=/path/to/toc.yml`` builds a subset instead of ``_toc.yml`` (for chapter authors checking
their pages before every chapter exists); CI never sets it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import bookcheck

QUICK_OUTPUT = bookcheck.ROOT / "_build" / "quick"
SCREENSHOTS = bookcheck.ROOT / "_build" / "screenshots"
BUILD_TIMEOUT_S = 45 * 60  # a cold quick build executes every chapter


@pytest.fixture(scope="session")
def book_toc() -> Path:
    return Path(os.environ.get("BOOK_TOC", bookcheck.ROOT / "_toc.yml")).resolve()


@pytest.fixture(scope="session")
def quick_book(book_toc) -> bookcheck.BookBuild:
    """The quick-mode build (``CNN_COURSE_QUICK=1``), whether or not it succeeded."""
    return bookcheck.build_book(QUICK_OUTPUT, book_toc, quick=True, timeout=BUILD_TIMEOUT_S)


@pytest.fixture(scope="session")
def built_html(quick_book) -> Path:
    """The built HTML directory; fails (with the log tail) if the build did not succeed."""
    if quick_book.returncode != 0:
        pytest.fail(f"quick-mode book build failed (exit {quick_book.returncode}):\n"
                    f"{quick_book.log_tail()}", pytrace=False)
    return quick_book.html_dir
