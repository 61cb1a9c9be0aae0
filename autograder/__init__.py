"""Autograding for the CNN course: checks, mistake diagnosis, shortcut and tampering detection, CLI.

Importing the package captures the NumPy functions and reference implementations the checks use
(see :mod:`autograder._safe` and :mod:`autograder._reference`); the first, locked cell of every
exercise notebook imports it so that this happens before any student code runs.  The checks
themselves live in :mod:`autograder.checks`; the instructor CLI is ``python -m autograder``.
"""
from . import _safe, _reference  # noqa: F401  (import order matters: capture before student code)
