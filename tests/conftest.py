"""Shared pytest configuration.

Hypothesis: the default profile ``ci`` is derandomised (the same examples on every run, so a CI
failure reproduces locally) with a modest number of examples and no per-example deadline (the
machines running CI are small and shared).  ``HYPOTHESIS_PROFILE=dev`` explores more, randomly.
"""
import os

from hypothesis import settings

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Session fixtures for the book build and browser tests (quick_book, built_html, book_toc).
from book_fixtures import book_toc, built_html, quick_book  # noqa: E402,F401
