"""Every exercise function's signature in its source notebook equals the reference's in `solutions`.

Students read the signature in the notebook, the hidden tests call it as `solutions` defines it: a
default that drifts (say padding=0 against padding="valid") is a bug in one of the two. The
generator copies each ``def`` line from `solutions` (autograder/exercises/), so for a generated
notebook this holds by construction; this test checks the notebooks themselves, parsed, against
``inspect.signature`` of the reference, independently of the generator.
"""
from __future__ import annotations

import ast
import inspect

import pytest

import solutions
from autograder.exercises import declared
from exercise_ns import ASSIGNMENTS, _code, cells

#: Exercise functions that have no counterpart in `solutions` (the exercise is the only definition),
#: as the declarations say.
NOT_IN_SOLUTIONS = {aid: {s.name for s in ex.functions if s.reference is None} for aid, ex in declared().items()}

_KINDS = {"posonlyargs": inspect.Parameter.POSITIONAL_ONLY, "args": inspect.Parameter.POSITIONAL_OR_KEYWORD,
          "kwonlyargs": inspect.Parameter.KEYWORD_ONLY}


def notebook_signature(func: ast.FunctionDef) -> list[tuple]:
    """(name, kind, default) of each parameter, defaults evaluated as literals."""
    args = func.args
    positional = args.posonlyargs + args.args
    defaults = [inspect.Parameter.empty] * (len(positional) - len(args.defaults)) + list(args.defaults)
    out = [(a.arg, _KINDS["posonlyargs"] if a in args.posonlyargs else _KINDS["args"], d)
           for a, d in zip(positional, defaults)]
    out += [(a.arg, _KINDS["kwonlyargs"], inspect.Parameter.empty if d is None else d)
            for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    return [(name, kind, d if d is inspect.Parameter.empty else ast.literal_eval(d)) for name, kind, d in out]


def reference_signature(func) -> list[tuple]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(func).parameters.values()]


def solution_functions(assignment: str) -> dict[str, ast.FunctionDef]:
    out = {}
    for cell in cells(assignment):
        if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution"):
            out.update({node.name: node for node in ast.parse(_code(cell)).body
                        if isinstance(node, ast.FunctionDef)})
    return out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_signatures_equal_the_reference(assignment):
    functions = solution_functions(assignment)
    assert functions, f"{assignment}: no function in a solution cell"
    own = NOT_IN_SOLUTIONS.get(assignment, set())
    assert own <= set(functions), f"{assignment}: its declaration names {sorted(own - set(functions))}, " \
                                  "which the notebook does not define"
    for name, node in functions.items():
        if name in own:
            assert not hasattr(solutions, name), f"solutions.{name} exists now: declare it with that reference"
            continue
        assert hasattr(solutions, name), (f"{assignment} defines {name}, which is not in `solutions`: add "
                                          "it there or declare it with Solution(name=..., code=...)")
        assert notebook_signature(node) == reference_signature(getattr(solutions, name)), (
            f"{assignment}: {name}{inspect.signature(getattr(solutions, name))} in solutions, but the "
            f"notebook defines {name}({ast.unparse(node.args)})")


def test_a_drifted_default_is_caught():
    drifted = ast.parse("def conv2d_backward(dout, x, w, stride=1, padding=0): pass").body[0]
    assert notebook_signature(drifted) != reference_signature(solutions.conv2d_backward)
