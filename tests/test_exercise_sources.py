"""Every source notebook is what its declaration (autograder/exercises/) generates, and every
declaration grades exactly the parts its checks have: one place for each fact, so nothing drifts."""
from __future__ import annotations

import copy
import dataclasses
import json

import nbformat
import pytest

import solutions
from autograder import checks, exercises
from autograder.assignment import load
from autograder.course import REPO
from autograder.exercises import Code, DeclarationError, Exercise, Markdown, Mistake, Part, Solution
from autograder.exercises._adopt import declaration_source

SOURCE = REPO / "exercises" / "source"
RELEASE = REPO / "exercises" / "release"
DECLARED = exercises.declared()
NOTEBOOKS = sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").exists())


def test_every_source_notebook_has_a_declaration():
    missing = sorted(set(NOTEBOOKS) - set(DECLARED))
    assert not missing, (f"{missing} have no declaration: run `python -m autograder.exercises --adopt ID` once "
                         "and edit the declaration from then on")
    assert sorted(DECLARED) == NOTEBOOKS, f"declared without a notebook: {sorted(set(DECLARED) - set(NOTEBOOKS))}"


@pytest.mark.parametrize("assignment", sorted(DECLARED))
def test_committed_source_notebook_is_generated(assignment):
    committed = (SOURCE / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")
    assert committed == exercises.text(DECLARED[assignment]), (
        f"exercises/source/{assignment} differs from its declaration: edit the declaration, then run "
        f"`python -m autograder.exercises {assignment}` and `python -m autograder release {assignment}`")


@pytest.mark.parametrize("assignment", sorted(DECLARED))
def test_each_check_is_graded_on_exactly_its_parts(assignment):
    for name, graded in DECLARED[assignment].graded_parts().items():
        assert len(graded) == len(set(graded)), f"{assignment} grades a part of {name} twice: {graded}"
        assert set(graded) == set(getattr(checks, name).parts), (
            f"{assignment} grades {graded} of {name}, which has {getattr(checks, name).parts}")


@pytest.mark.parametrize("assignment", sorted(DECLARED))
def test_the_grader_reads_back_the_declared_parts(assignment):
    """What autograder.assignment parses from the generated hidden blocks is the declaration."""
    read = load(SOURCE, RELEASE, assignment)
    declared = DECLARED[assignment].parts
    assert [(c.grade_id, c.points, c.checks) for c in read.cells] == [
        (p.grade_id, float(p.points), ((p.check.__name__, p.target.removesuffix("()")),)) for p in declared]


def test_spec_checks_take_their_parts_from_the_spec():
    assert checks.check_conv2d_backward.parts == checks.SPECS["conv2d_backward"].parts
    assert checks.check_dropout.parts == ("mask", "statistics", "inference")
    with pytest.raises(ValueError, match="check_dropout parts are"):
        checks.check_dropout(lambda *a: None, part="values")


def _tiny(**changes) -> Exercise:
    cells = [Markdown("intro", "# Tiny\n\n**Points**: 1."), Code("setup", "import numpy as np"),
             Solution(solutions.dropout_backward, doc='    """dout * mask"""\n', body="    return dout * mask\n"),
             Part("test_db", 1, checks.check_dropout_backward, "values", "dropout_backward", "\n")]
    return Exercise("tiny", tuple(changes.get("cells", cells)))


def test_generated_cells_carry_the_reference_signature_and_the_declared_check():
    nb = exercises.notebook(_tiny())
    solution = nb.cells[2]
    assert solution.source.startswith("def dropout_backward(dout, mask):\n")
    assert solution.metadata.nbgrader == {"grade": False, "grade_id": "dropout_backward", "locked": False,
                                          "schema_version": 3, "solution": True}
    graded = nb.cells[3]
    assert graded.id == "test-db" and graded.metadata.nbgrader["points"] == 1 and graded.metadata.nbgrader["locked"]
    assert 'check_dropout_backward(dropout_backward, part="values")' in graded.source
    namespace = {}
    exec(solution.source, namespace)  # the solution cell is a working function
    assert namespace["dropout_backward"](2.0, 3.0) == 6.0


def test_declarations_that_cannot_grade_are_refused():
    good = list(_tiny().cells)
    wrong_part = good[:3] + [dataclasses.replace(good[3], part="shape")]
    with pytest.raises(DeclarationError, match="part 'shape' of check_dropout_backward"):
        exercises.notebook(_tiny(cells=wrong_part))
    with pytest.raises(DeclarationError, match=r"must state \*\*Points\*\*: 3 once"):
        exercises.notebook(_tiny(cells=good + [dataclasses.replace(good[3], grade_id="test_db2", points=2)]))
    with pytest.raises(DeclarationError, match="grade ids repeat"):
        exercises.notebook(_tiny(cells=good + [Code("setup", "")]))
    with pytest.raises(DeclarationError, match="is not once in dropout_backward"):
        exercises.notebook(dataclasses.replace(_tiny(), mistakes=(
            Mistake("no scaling", "dropout_backward", (("dout / mask", "dout"),), "test_db", "scaling"),)))
    with pytest.raises(DeclarationError, match="names a function or test cell"):
        exercises.notebook(dataclasses.replace(_tiny(), mistakes=(
            Mistake("elsewhere", "dropout_backward", (("dout * mask", "dout"),), "test_dx", "scaling"),)))
    with pytest.raises(DeclarationError, match="declares no parts"):
        exercises.notebook(_tiny(cells=good[:3] + [dataclasses.replace(good[3], check=lambda f, part=None: None)]))


def test_generated_notebook_is_valid_nbformat_json():
    text = exercises.text(DECLARED["07-backprop"])
    nb = json.loads(text)
    assert nb["nbformat"] == 4 and nb["metadata"]["kernelspec"]["name"] == "python3"
    assert [c["id"] for c in nb["cells"]] == [c["metadata"]["nbgrader"]["grade_id"].replace("_", "-")
                                              for c in nb["cells"]]


def _run_declaration(source: str) -> Exercise:
    namespace = {"__name__": "autograder.exercises._adopted", "__package__": "autograder.exercises"}
    exec(compile(source, "<adopted>", "exec"), namespace)
    return namespace["EXERCISE"]


@pytest.mark.parametrize("assignment", ["03-conv2d", "07-backprop", "09-keras-mnist"])
def test_adopting_a_notebook_gives_a_declaration_that_generates_it(assignment):
    nb = nbformat.read(SOURCE / assignment / f"{assignment}.ipynb", as_version=4)
    adopted = _run_declaration(declaration_source(assignment, nb))
    assert exercises.text(adopted) == (SOURCE / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")


def test_adopting_refuses_a_drifted_signature_or_a_hand_made_hidden_block():
    nb = nbformat.read(SOURCE / "07-backprop" / "07-backprop.ipynb", as_version=4)
    drifted = copy.deepcopy(nb)
    cell = next(c for c in drifted.cells if c.metadata.nbgrader["grade_id"] == "conv2d_backward")
    cell.source = cell.source.replace('padding="valid"):', "padding=0):", 1)
    with pytest.raises(DeclarationError, match="conv2d_backward defines"):
        declaration_source("07-backprop", drifted)
    extra = copy.deepcopy(nb)
    cell = next(c for c in extra.cells if c.metadata.nbgrader["grade_id"] == "test_conv_backward_dx")
    cell.source = cell.source.replace("### END HIDDEN TESTS", "assert True\n### END HIDDEN TESTS")
    with pytest.raises(DeclarationError, match="hidden block"):
        declaration_source("07-backprop", extra)
