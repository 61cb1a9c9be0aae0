"""Similar solution code: pairs of students, and students against the course's own published code.

A student's *document* is the code of their solution cells (nbgrader ``solution: true``) and of the
code cells they added themselves (no nbgrader metadata), in notebook order. copydetect tokenises
each document (every variable, function and attribute name becomes one letter; comments and
whitespace go), fingerprints its runs of tokens and compares the fingerprints as sets, so renaming
variables and reordering functions change nothing. The release's starter code (signatures,
docstrings, ``raise NotImplementedError()``) is boilerplate: it is taken out of every document, so
what everyone was given never counts as shared.

copydetect is handed strings, never paths: it reads and writes no file.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .course import REPO, Course

#: copydetect's k (its default): a shared run of fewer filtered characters is coincidence.
NOISE_THRESHOLD = 25
#: Less shared code than this (characters, on the student's side) is what any two short answers
#: have in common once names are normalised, e.g. ``return float(np.mean(x))``: never flagged.
MIN_SHARED_CHARS = 120
#: A document is cut here, so the time a comparison takes is bounded whatever was submitted.
MAX_CODE_CHARS = 100_000


@dataclass(frozen=True)
class Document:
    name: str  # the student id, or the reference file relative to the repository
    code: str
    reference: bool = False  # the course's own code (solutions package, book chapters)


@dataclass(frozen=True)
class Match:
    """A student's document and another one with a share of its code in common."""

    student: Document
    other: Document
    student_share: float  # of the student's code, the share also found in the other document
    other_share: float
    student_spans: tuple[tuple[int, int], ...]  # [start, end) characters of the shared code
    other_spans: tuple[tuple[int, int], ...]

    @property
    def share(self) -> float:
        """The largest share of a *student's* code found in the other document: against the
        course's code only the student's side counts (a reference file is long, copied in part)."""
        return self.student_share if self.other.reference else max(self.student_share, self.other_share)


def _code_cells(nb, *, solutions_only: bool) -> list[str]:
    cells = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        nbgrader = cell.get("metadata", {}).get("nbgrader")
        if (nbgrader or {}).get("solution") is True or (nbgrader is None and not solutions_only):
            cells.append(str(cell.get("source", "")))
    return cells


def solution_code(notebook: Path) -> str | None:
    """The student's own code in ``notebook``; None when it is not a readable notebook."""
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception:  # any unreadable submission: the grading report already says why
        return None
    return "\n\n".join(_code_cells(nb, solutions_only=False))[:MAX_CODE_CHARS]


def student_documents(course: Course, assignment: str) -> list[Document]:
    from .runner import submitted_students

    docs = []
    for student in submitted_students(course, assignment):
        code = solution_code(course.submitted(student, assignment) / f"{assignment}.ipynb")
        if code is not None:
            docs.append(Document(student, code))
    return docs


def starter_code(course: Course, assignment: str) -> str:
    """The release's solution cells as students receive them (empty when there is no release)."""
    path = course.release_of(assignment) / assignment / f"{assignment}.ipynb"
    if not path.exists():
        return ""
    return "\n\n".join(_code_cells(nbformat.read(path, as_version=4), solutions_only=True))


def reference_documents(repo: Path = REPO) -> list[Document]:
    """The course's published code: each module of the ``solutions`` package and the code cells of
    each book chapter."""
    import jupytext

    docs = [Document(str(p.relative_to(repo)), p.read_text(), reference=True)
            for p in sorted((repo / "solutions").glob("*.py"))]
    for chapter in sorted((repo / "book").glob("*.md")):
        cells = [c.source for c in jupytext.read(chapter).cells if c.cell_type == "code"]
        if cells:
            docs.append(Document(str(chapter.relative_to(repo)), "\n\n".join(cells), reference=True))
    return docs


def _spans(slices) -> tuple[tuple[int, int], ...]:
    return tuple((int(start), int(end)) for start, end in zip(*slices))


def find_similar(students: list[Document], references: list[Document], threshold: float,
                 boilerplate: str = "", min_shared: int = MIN_SHARED_CHARS) -> list[Match]:
    """Every student pair, and every student and reference, whose :attr:`Match.share` reaches
    ``threshold`` over at least ``min_shared`` characters of the student's code; most similar first."""
    from copydetect.detector import CodeFingerprint, compare_files

    def fingerprint(doc: Document, ignore=()) -> CodeFingerprint:
        return CodeFingerprint(doc.name, NOISE_THRESHOLD, 1, boilerplate=ignore, language="python",
                               fp=io.StringIO(doc.code))

    ignore = list(fingerprint(Document("starter code", boilerplate)).hashes) if boilerplate else []
    prints = {id(doc): fingerprint(doc, ignore) for doc in [*students, *references]}
    # A document made only of boilerplate (an untouched notebook) shares nothing of its own.
    students = [d for d in students if prints[id(d)].hashes]
    references = [d for d in references if prints[id(d)].hashes]
    candidates = [(a, b) for i, a in enumerate(students) for b in students[i + 1:]]
    candidates += [(s, r) for s in students for r in references]
    matches = []
    for student, other in candidates:
        overlap, (student_share, other_share), (student_slices, other_slices) = compare_files(
            prints[id(student)], prints[id(other)])
        if not overlap:
            continue
        match = Match(student, other, float(student_share), float(other_share),
                      _spans(student_slices), _spans(other_slices))
        if match.share >= threshold and sum(b - a for a, b in match.student_spans) >= min_shared:
            matches.append(match)
    return sorted(matches, key=lambda m: (-m.share, m.student.name, m.other.name))


def similar_submissions(course: Course, assignment: str, threshold: float | None = None,
                        repo: Path = REPO) -> list[Match]:
    """:func:`find_similar` on the submissions of ``assignment`` with the course's settings."""
    return find_similar(student_documents(course, assignment), reference_documents(repo),
                        course.similarity_threshold if threshold is None else threshold,
                        starter_code(course, assignment))
