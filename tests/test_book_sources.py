"""The book's sources follow the authoring conventions (README, "Writing a chapter"), checked without
building: build plumbing lives in hidden cells, and chapter numbers match the chapters' file names.

The built HTML is checked for the same things in tests/test_book_build.py.
"""

from __future__ import annotations

import posixpath

import pytest

import bookcheck

TOC = bookcheck.ROOT / "_toc.yml"
NOTEBOOKS = [doc for doc in bookcheck.toc_pages(TOC)
             if "kernelspec:" in bookcheck.page_source(doc).read_text()]
CHAPTERS = bookcheck.numbered_chapters(TOC)


def test_the_checks_see_the_chapters():
    assert len(CHAPTERS) >= 13 and set(CHAPTERS) <= set(NOTEBOOKS)


@pytest.mark.parametrize("doc", NOTEBOOKS)
def test_visible_cells_show_no_build_plumbing(doc):
    """glue calls, importing glue, the book's plot style and environment set-up sit in remove-cell cells."""
    shown = [(cell.source, bookcheck.plumbing_in(cell.source))
             for cell in bookcheck.code_cells(doc) if not cell.hidden]
    problems = [f"{', '.join(kinds)} in the cell starting {source.splitlines()[0]!r}"
                for source, kinds in shown if kinds]
    assert not problems, f"{doc}: tag these cells remove-cell, or split them:\n" + "\n".join(problems)


@pytest.mark.parametrize("doc", NOTEBOOKS)
def test_hidden_cells_show_nothing_a_reader_would_miss(doc):
    """A removed cell's output is removed too, so hidden cells must not print, display or plot."""
    hidden = [cell.source for cell in bookcheck.code_cells(doc) if cell.hidden]
    problems = [source.splitlines()[0] for source in hidden if bookcheck.SHOWS.search(source)]
    assert not problems, f"{doc}: hidden cells that show something: {problems}"


@pytest.mark.parametrize("doc", sorted(CHAPTERS))
def test_chapters_still_show_their_code(doc):
    cells = bookcheck.code_cells(doc)
    shown = [cell for cell in cells if not cell.hidden]
    assert len(shown) >= len(cells) / 2, f"{doc}: {len(cells) - len(shown)} of {len(cells)} cells hidden"


def test_the_checks_recognise_plumbing():
    """The patterns the tests above rely on find each kind of plumbing, and not teaching code."""
    assert bookcheck.plumbing_in('glue("x", x, display=False)') == ["glue(...)"]
    assert bookcheck.plumbing_in("from solutions.book import glue") == ["importing glue"]
    assert bookcheck.plumbing_in("plotting.use_book_style()") == ["plotting.use_book_style()"]
    assert bookcheck.plumbing_in('os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")') == \
        ["os.environ set-up"]
    assert bookcheck.plumbing_in("import solutions._tf") == ["import solutions._tf"]
    assert bookcheck.plumbing_in("QUICK = solutions.quick_mode()\nimport numpy as np") == []
    assert bookcheck.SHOWS.search("print(x)") and bookcheck.SHOWS.search("plotting.show_images(x)")
    assert not bookcheck.SHOWS.search("plotting.use_book_style()")


def test_chapter_numbers_match_file_names():
    """The numbered parts number chapters on across parts; file NN-*.md is chapter NN."""
    for doc, number in CHAPTERS.items():
        assert posixpath.basename(doc).startswith(f"{number:02d}-"), (doc, number)


def test_guides_and_reference_pages_are_unnumbered():
    unnumbered = set(bookcheck.toc_pages(TOC)) - set(CHAPTERS)
    assert {"book/intro", "book/guides/student", "book/guides/instructor", "book/glossary",
            "book/bibliography"} <= unnumbered
    assert not any(posixpath.basename(doc)[:2].isdigit() for doc in unnumbered), unnumbered
