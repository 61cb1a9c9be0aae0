"""Autograding for the CNN course: trusted checks, mistake diagnosis, a sandboxed pool, the CLI.

Student code runs only in a sandboxed kernel (:mod:`autograder.sandbox`, :mod:`autograder.kernel`);
the checks (:mod:`autograder.checks`), the reference package and the gradebook stay in the
grader's processes, which talk to the kernel in plain data (:mod:`autograder.bridge`). Grading one
submission is the list of stages in :mod:`autograder.pipeline`; the instructor CLI is
``python -m autograder``.
"""

import sys as _sys

# nbformat imports jsonschema, which imports rfc3987_syntax where it is installed; that builds a
# parser at import time, ~1.4 s of CPU in every process that reads a notebook (the grader and each
# grading worker). It only backs jsonschema's "iri" format checks, which nbformat never runs.
_sys.modules.setdefault("rfc3987_syntax", None)
