"""The machinery every check shares: seeded cases, guarded calls, comparison, diagnosis, messages."""
from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import scan
from ..bridge import BridgeFailure, Unreadable
from . import compare as _safe
from ._errors import CheckFailed
from ..diagnose import Variant, match_variant
from ..results import LIKELY_CAUSE

SEED_ENV = "CNN_AUTOGRADER_SEED"
_DEFAULT_SEED = 20240917


_student_key = ""


def grade_as(key: str) -> None:
    """Seed the following checks for one submission: ``key`` joins a course secret with who and what."""
    global _student_key
    _student_key = key


def student_seed() -> int:
    """Seed for the randomised cases: reproducible for one submission, unpredictable to students.

    ``CNN_AUTOGRADER_SEED`` wins when set. While grading, the seed is a hash of the key that
    :func:`grade_as` was given (the course's secret, the student and the assignment), so each
    student gets their own cases and nobody can compute them in advance; elsewhere (the tests) it
    is fixed, so a failure can always be reproduced.
    """
    if os.environ.get(SEED_ENV, "").strip():
        return int(os.environ[SEED_ENV]) % 2**32
    if _student_key:
        return int.from_bytes(hashlib.sha256(_student_key.encode()).digest()[:4], "little")
    return _DEFAULT_SEED


@dataclass
class Case:
    """One call of the student's function: ``func(*args, **kwargs)``."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    raises: type | None = None  # the reference raises this: the student's function should too

    def describe(self, name: str) -> str:
        if self.label:
            return f"{name} with {self.label}"
        shown = [_short(a) for a in self.args] + [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        return f"{name}({', '.join(shown)})"


def _short(value) -> str:
    if isinstance(value, np.ndarray):
        return f"<array of shape {value.shape}>"
    if callable(value):
        return getattr(value, "__name__", "<function>")
    return repr(value)


@dataclass
class Spec:
    """Everything needed to grade one student function."""

    name: str
    reference: Callable
    cases: Callable[[np.random.Generator], list[Case]]
    edge_cases: Callable[[np.random.Generator], list[Case]] = lambda rng: []
    variants: list[Variant] = field(default_factory=list)
    policy: scan.Policy = scan.NUMPY_ONLY  # what the shortcut scan forbids in the student's code
    outputs: tuple[str, ...] | None = None  # names of the items of a tuple result
    rtol: float = 1e-6
    atol: float = 1e-8
    #: part -> what it checks: "shape", "values", "edge_cases", or an output name (e.g. "dx")
    parts: tuple[str, ...] = ("shape", "values", "edge_cases")
    hint: str = ""  # appended to a failure no variant explains


def with_parts(*parts: str):
    """Declare a property check's parts (``check.parts``: what an exercise may grade); refuse others.

    Spec checks get theirs from :attr:`Spec.parts`. Exercise declarations grade exactly these
    (``tests/test_exercise_sources.py``), so the list lives here only.
    """
    def declare(check):
        @functools.wraps(check)
        def checked(func, part=None):
            if part is not None and part not in parts:
                raise ValueError(f"{check.__name__} parts are {parts}, not {part!r}")
            return check(func, part)
        checked.parts = parts
        return checked
    return declare


def _fail(message: str):
    raise CheckFailed(message)


def call_student(name: str, func, case: Case):
    """Call the student's function on private copies of the inputs; return (result, exception).

    A call that never came back (time limit, dead kernel) is not the function's answer: it
    propagates to the grader as :class:`~autograder.bridge.BridgeFailure`.
    """
    args = copy.deepcopy(case.args)
    kwargs = copy.deepcopy(case.kwargs)
    try:
        result, exc = func(*args, **kwargs), None
    except BridgeFailure:
        raise
    except Exception as error:  # the student's exception is evidence for the check
        result, exc = None, error
    if exc is None:
        for before, after in zip(case.args, args):
            if isinstance(before, np.ndarray) and isinstance(after, np.ndarray) \
                    and after.shape == before.shape and not _safe.arrays_equal(after, before, rtol=0, atol=0):
                _fail(f"{case.describe(name)} changed its input array in place; work on a copy "
                      "(e.g. with np.pad or arr.copy()) so the caller's data stays intact.")
    return result, exc


def reference_output(spec: Spec, case: Case):
    return spec.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))


def _components(spec: Spec, value, what: str) -> list[tuple[str, Any]]:
    """Split a result into named components (a single array is one component)."""
    if spec.outputs is None:
        return [(what, value)]
    if not isinstance(value, (tuple, list)) or len(value) != len(spec.outputs):
        got = type(value).__name__ + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else "")
        if isinstance(value, Unreadable):  # an object the kernel could not send: name its own type
            got = f"a {value.what} object, which cannot leave your notebook (return plain numbers and arrays)"
        _fail(f"{what} should be a tuple ({', '.join(spec.outputs)}) of {len(spec.outputs)} items, got {got}")
    return [(f"{n}", v) for n, v in zip(spec.outputs, value)]


def _mismatch(spec: Spec, part: str, got, expected, label: str) -> str | None:
    """First difference between student and reference output for this part, or None."""
    got_items = _components(spec, got, f"the result of {label}")
    exp_items = _components(spec, expected, "reference")
    for (gname, g), (_, e) in zip(got_items, exp_items):
        if spec.outputs is not None and part in spec.outputs and gname != part:
            continue
        what = gname if spec.outputs is not None else "output"
        ga = _safe.as_float_array(g, f"{what} of {label}")
        ea = _safe.as_float_array(e, "reference")
        if not _safe.shapes_equal(ga, ea):
            return f"{what} of {label} has shape {tuple(ga.shape)}, expected {tuple(ea.shape)}"
        if part == "shape":
            continue
        problem = _safe.compare(ga, ea, rtol=spec.rtol, atol=spec.atol, what=f"{what} of {label}")
        if problem:
            return problem
    return None


def run_check(spec: Spec, func, part: str | None = None, *, quiet: bool = False) -> int:
    """Grade ``func`` against ``spec`` for one part (or all when ``part`` is None).

    Raises :class:`CheckFailed` (an AssertionError) with a student-facing message on the first
    problem; prints a one-line summary and returns the number of cases checked on success.
    """
    parts = spec.parts if part is None else (part,)
    for p in parts:
        if p not in spec.parts:
            raise ValueError(f"check for {spec.name} has parts {spec.parts}, not {p!r}")
    if not callable(func):
        _fail(f"expected your function {spec.name}, got {type(func).__name__} -- pass the function "
              f"itself, e.g. check_{spec.name}({spec.name})")
    seed = student_seed()
    total = 0
    for p in parts:
        rng = np.random.default_rng([seed, sum(map(ord, spec.name)), sum(map(ord, p))])
        cases = spec.edge_cases(rng) if p == "edge_cases" else spec.cases(rng)
        total += _run_part(spec, func, p, cases)
    if not quiet:
        which = "all parts" if part is None else f"part {part!r}"
        print(f"\u2714 {spec.name}, {which}: {total} test cases match the reference")
    return total


@contextlib.contextmanager
def _prefetched(func, cases: list[Case]):
    """A student function behind the bridge computes every case in one request up front (the
    calls below then read their replies); the replies no call asked for are dropped after."""
    prefetch = getattr(func, "prefetch", None)
    if prefetch is None:
        yield
        return
    prefetch([(case.args, case.kwargs) for case in cases])
    try:
        yield
    finally:
        prefetch([])


def _run_part(spec: Spec, func, part: str, cases: list[Case]) -> int:
    with _prefetched(func, cases):
        return _check_cases(spec, func, part, cases)


def _check_cases(spec: Spec, func, part: str, cases: list[Case]) -> int:
    results = []
    for case in cases:
        label = case.describe(spec.name)
        if case.raises is not None:
            got, exc = call_student(spec.name, func, case)
            if exc is None or not isinstance(exc, case.raises):
                what = "returned " + _short(got) if exc is None else f"raised {type(exc).__name__}: {exc}"
                _fail(f"{label} should raise {case.raises.__name__} (the input is invalid) but it {what}.")
            continue
        expected = reference_output(spec, case)
        got, exc = call_student(spec.name, func, case)
        if exc is not None:
            # A wrong layout or broadcast often crashes on some inputs only; the others may still
            # reveal which mistake it is.
            explanation = _diagnose(spec, func, part, results, cases)
            _fail(f"{label} raised {type(exc).__name__}: {exc}" + (f"\n{explanation}" if explanation else ""))
        results.append((case, got, expected))
        problem = _mismatch(spec, part, got, expected, label)
        if problem:
            explanation = _diagnose(spec, func, part, results, cases)
            advice = explanation or spec.hint
            _fail(f"{problem}." + (f"\n{advice}" if advice else ""))
    return len(cases)


def _diagnose(spec: Spec, func, part: str, results, cases) -> str | None:
    """Compare the student's outputs with each known-wrong variant; describe the one that fits."""
    if not spec.variants:
        return None
    observations = list(results)
    done = {id(case) for case, _, _ in results}
    for case in cases:  # more evidence than the one failing case makes a diagnosis trustworthy
        if id(case) in done or case.raises is not None:
            continue
        got, exc = call_student(spec.name, func, case)
        if exc is None:
            observations.append((case, got, reference_output(spec, case)))

    def same(a, b) -> bool:
        try:
            return _mismatch(spec, part, a, b, "x") is None
        except AssertionError:
            return False

    variant = match_variant(spec.variants, observations, same)
    if variant is None and part != "shape":
        # Right values but maybe the shape story tells more; fall back to a shape-only match.
        def same_shape(a, b) -> bool:
            try:
                return _mismatch(spec, "shape", a, b, "x") is None
            except AssertionError:
                return False
        variant = match_variant([v for v in spec.variants if v.shape_only_ok], observations, same_shape)
    return None if variant is None else LIKELY_CAUSE + variant.message


def run_property(name: str, func, body: Callable[[np.random.Generator], int], part: str,
                 quiet: bool = False) -> int:
    """Shared frame for checks that test properties rather than compare with a reference output."""
    if not callable(func):
        _fail(f"expected your function {name}, got {type(func).__name__}")
    rng = np.random.default_rng([student_seed(), sum(map(ord, name)), sum(map(ord, part))])
    n = body(rng)
    if not quiet:
        print(f"\u2714 {name}, part {part!r}: {n} checks passed")
    return n
