"""The stages of grading one submission, one per module, composed by :mod:`autograder.pipeline`.

``prepare`` -> ``execute`` -> ``check`` -> ``score`` run in a grading worker (trusted, outside the
sandbox; only the kernel runs student code); ``record`` runs in the instructor's process, which
alone writes the gradebook, the workspace and the report.
"""
