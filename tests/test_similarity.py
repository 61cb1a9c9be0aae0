"""Similar solution code (autograder.similarity): planted and disguised copies are found, independent
work is not, and copydetect touches no file."""

from __future__ import annotations

import inspect
import sys
import time

import nbformat
import pytest

from autograder.course import Course
from autograder.similarity import (Document, find_similar, reference_documents, similar_submissions,
                                   solution_code)

THRESHOLD = 0.5

ORIGINAL = '''\
def conv2d(image, kernel):
    kh, kw = kernel.shape
    h, w = image.shape
    out = np.zeros((h - kh + 1, w - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
    return out


def max_pool2d(x, size=2):
    h, w = x.shape
    oh, ow = h // size, w // size
    out = np.empty((oh, ow))
    for r in range(oh):
        for c in range(ow):
            out[r, c] = x[r * size:(r + 1) * size, c * size:(c + 1) * size].max()
    return out
'''

# The same code with every name changed, the functions swapped and comments added.
DISGUISED = '''\
def max_pool2d(arr, size=2):
    # pool each block
    rows, cols = arr.shape
    nr, nc = rows // size, cols // size
    res = np.empty((nr, nc))
    for a in range(nr):
        for b in range(nc):
            res[a, b] = arr[a * size:(a + 1) * size, b * size:(b + 1) * size].max()
    return res


def conv2d(img, k):
    """My own convolution."""
    fh, fw = k.shape
    H, W = img.shape
    result = np.zeros((H - fh + 1, W - fw + 1))
    for y in range(result.shape[0]):
        for x in range(result.shape[1]):  # slide
            result[y, x] = np.sum(img[y:y + fh, x:x + fw] * k)
    return result
'''

# Two correct solutions written independently of the original and of each other.
VECTORISED = '''\
def conv2d(image, kernel):
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
    return np.einsum("ijkl,kl->ij", windows, kernel)


def max_pool2d(x, size=2):
    h = x.shape[0] - x.shape[0] % size
    w = x.shape[1] - x.shape[1] % size
    blocks = x[:h, :w].reshape(h // size, size, w // size, size)
    return blocks.max(axis=(1, 3))
'''

LISTS = '''\
def conv2d(im, ker):
    n_rows = im.shape[0] - ker.shape[0] + 1
    n_cols = im.shape[1] - ker.shape[1] + 1
    output = []
    for row in range(n_rows):
        line = []
        for col in range(n_cols):
            patch = im[row:row + ker.shape[0], col:col + ker.shape[1]]
            line.append(float((patch * ker).sum()))
        output.append(line)
    return np.array(output)


def max_pool2d(x, size=2):
    out_h = x.shape[0] // size
    out_w = x.shape[1] // size
    pooled = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = x[i*size:i*size+size, j*size:j*size+size]
            pooled[i][j] = np.max(window)
    return pooled
'''

STARTER = '''\
def conv2d(image, kernel):
    """Valid cross-correlation of a 2-D image with a 2-D kernel.

    Returns an array of shape (H - KH + 1, W - KW + 1).
    """
    # YOUR CODE HERE
    raise NotImplementedError()


def max_pool2d(x, size=2):
    """Maximum of each size x size block (a partial block at the edge is dropped)."""
    # YOUR CODE HERE
    raise NotImplementedError()
'''


def _from_course_code() -> str:
    """Two functions of the course's own `solutions` package, in the other order."""
    from solutions import conv, pooling

    return inspect.getsource(pooling.max_pool2d) + "\n\n" + inspect.getsource(conv.correlate2d)


def pairs(matches) -> set[frozenset[str]]:
    return {frozenset((m.student.name, m.other.name)) for m in matches}


@pytest.fixture(scope="module")
def references():
    return reference_documents()


def test_copies_are_flagged_even_renamed_and_reordered_and_independent_work_is_not(references):
    students = [Document("alice", ORIGINAL), Document("bob", ORIGINAL), Document("carol", DISGUISED),
                Document("dave", VECTORISED), Document("erin", LISTS),
                Document("frank", _from_course_code())]
    matches = find_similar(students, references, THRESHOLD, STARTER)
    found = pairs(matches)
    assert {frozenset(p) for p in [("alice", "bob"), ("alice", "carol"), ("bob", "carol")]} <= found
    assert any(m.student.name == "frank" and m.other.name in ("solutions/conv.py", "solutions/pooling.py")
               for m in matches)
    flagged = {name for pair in found for name in pair}
    assert "dave" not in flagged and "erin" not in flagged, [(m.student.name, m.other.name, m.share)
                                                            for m in matches]
    disguised = next(m for m in matches if pairs([m]) == {frozenset(("alice", "carol"))})
    assert disguised.share > 0.9  # renaming and reordering hide nothing
    assert disguised.student_spans and disguised.other_spans
    assert [m.share for m in matches] == sorted((m.share for m in matches), reverse=True)


def test_untouched_starter_code_is_not_shared_code(references):
    untouched = [Document("gus", STARTER), Document("hal", STARTER)]
    assert find_similar(untouched, references, THRESHOLD, STARTER) == []
    # ...whereas without the starter code as boilerplate the two look identical.
    assert pairs(find_similar(untouched, [], THRESHOLD)) == {frozenset(("gus", "hal"))}


def test_threshold_decides():
    students = [Document("alice", ORIGINAL), Document("erin", LISTS)]
    share = find_similar(students, [], 0.0, min_shared=0)[0].share
    assert 0 < share < THRESHOLD
    assert find_similar(students, [], share, min_shared=0) and not find_similar(students, [], share + 1e-6, min_shared=0)


def test_a_short_generic_answer_is_not_flagged_against_long_code():
    """Two lines that any answer could hold match the reference's shape at a high share, but too little
    code is shared to mean anything; the same lines inside a real copy still count."""
    short = "def add(a, b):\n    return np.add(a, b)\n\n\ndef mean_of(x):\n    return float(np.mean(x))\n"
    reference = Document("book/chapter.md", "y = solutions.block(g, cache)\n\ndef loss(v):\n"
                         "    return float(np.sum(solutions.forward(v)))\n", reference=True)
    assert find_similar([Document("s", short)], [reference], 0.5, min_shared=0)  # the shape matches
    assert not find_similar([Document("s", short)], [reference], 0.5)
    copied = Document("t", ORIGINAL)
    assert find_similar([copied, Document("u", ORIGINAL + short)], [], THRESHOLD)


def test_copydetect_opens_no_file_and_is_quick(references):
    students = [Document(f"s{i}", [ORIGINAL, DISGUISED, VECTORISED, LISTS][i % 4] + f"\nx{i} = {i}\n")
                for i in range(40)]
    find_similar(students[:2], references[:1], THRESHOLD, STARTER)  # lazy imports happen here
    opened: list[str] = []
    recording = [True]

    def hook(event, args):
        if recording[0] and event == "open":
            opened.append(str(args[0]))

    sys.addaudithook(hook)  # cannot be removed: `recording` switches it off
    try:
        start = time.monotonic()
        matches = find_similar(students, references, THRESHOLD, STARTER)
        seconds = time.monotonic() - start
    finally:
        recording[0] = False
    assert opened == []
    assert len(matches) >= 3 * 10 * 9 // 2  # at least the copies of ORIGINAL among themselves
    assert seconds < 60, f"{len(students)} students took {seconds:.1f} s"


def _notebook(code_by_cell: dict[str, str], extra: str | None = None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import numpy as np", metadata={"nbgrader": {"grade_id": "imports", "locked": True, "solution": False}}))
    for grade_id, code in code_by_cell.items():
        nb.cells.append(nbformat.v4.new_code_cell(
            code, metadata={"nbgrader": {"grade_id": grade_id, "locked": False, "solution": True}}))
        nb.cells.append(nbformat.v4.new_code_cell(
            f"assert {grade_id}  # the instructor's test", metadata={"nbgrader": {
                "grade_id": f"test_{grade_id}", "grade": True, "locked": True, "solution": False}}))
    if extra is not None:  # a cell the student added
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    return nb


def _split(code: str) -> dict[str, str]:
    functions = ["def " + part.strip() + "\n" for part in code.split("\ndef ") if part.strip()]
    return {f.split("(")[0].removeprefix("def "): f for f in functions}


def test_submitted_notebooks_end_to_end(tmp_path):
    course = Course(tmp_path / "course", release=tmp_path / "release")
    assignment = "hw-conv"
    release = tmp_path / "release" / assignment
    release.mkdir(parents=True)
    nbformat.write(_notebook(_split(STARTER)), release / f"{assignment}.ipynb")
    submissions = {"alice": _notebook(_split(ORIGINAL)),
                   # carol moved her copy into a cell of her own
                   "carol": _notebook(_split(STARTER), extra=DISGUISED),
                   "dave": _notebook(_split(VECTORISED)), "gus": _notebook(_split(STARTER))}
    for student, nb in submissions.items():
        folder = course.submitted(student, assignment)
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")
    broken = course.submitted("zed", assignment)
    broken.mkdir(parents=True)
    (broken / f"{assignment}.ipynb").write_text("{not json")

    code = solution_code(course.submitted("alice", assignment) / f"{assignment}.ipynb")
    assert "def conv2d" in code and "import numpy" not in code and "instructor's test" not in code
    assert solution_code(broken / f"{assignment}.ipynb") is None

    assert pairs(similar_submissions(course, assignment)) == {frozenset(("alice", "carol"))}
    (course.root / "nbgrader_config.py").write_text(
        (course.root / "nbgrader_config.py").read_text().replace(
            "similarity_threshold = 0.5", "similarity_threshold = 1.01"))
    assert Course(course.root).similarity_threshold == 1.01
    assert similar_submissions(Course(course.root), assignment) == []
