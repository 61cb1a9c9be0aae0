"""Autograding for the CNN course: trusted checks, mistake diagnosis, a sandboxed pool, the CLI.

Student code runs only in a sandboxed kernel (:mod:`autograder.sandbox`, :mod:`autograder.kernel`);
the checks (:mod:`autograder.checks`), the reference package and the gradebook stay in the
grader's processes, which talk to the kernel in plain data (:mod:`autograder.bridge`). Grading one
submission is the list of stages in :mod:`autograder.pipeline`; the instructor CLI is
``python -m autograder``.
"""
