"""Stage 3: run each graded cell's hidden block in the grader, the student's functions as proxies.

The hidden block (the instructor's declaration, e.g. ``check_conv2d(conv2d, part="values")``)
executes here, outside the sandbox, with each student function bound to a
:class:`~autograder.bridge.RemoteFunction`: the inputs go to the kernel as data, the outputs come
back as data, and the reference, the cases and the comparison never leave this process.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np

from ..bridge import BridgeFailure, CallTimeout, RemoteFunction, StudentException
from ..results import Verdict
from .context import Context
from .execute import restart

MAX_MESSAGE = 2000


def _message(exc: BaseException) -> tuple[str, str]:
    name = exc.type_name if isinstance(exc, StudentException) else type(exc).__name__
    text = str(exc.args[0]) if isinstance(exc, StudentException) and exc.args else str(exc)
    return name, (f"{name}: {text}" if text else name)[:MAX_MESSAGE]


def check(ctx: Context) -> None:
    for cell in ctx.assignment.cells:
        entry = ctx.result.cells[cell.grade_id]
        if ctx.session is None:
            entry.verdict, entry.message = Verdict.NOT_RUN, "not run: the kernel could not be restarted"
            continue
        namespace = {"__name__": "__grader__", "np": np}
        namespace.update({name: RemoteFunction(ctx.session, name) for name in cell.student_names})
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                exec(compile(cell.hidden, f"<hidden tests {cell.grade_id}>", "exec"), namespace)
        except BridgeFailure as exc:
            entry.verdict = Verdict.TIMEOUT if isinstance(exc, CallTimeout) else Verdict.FAILED
            entry.error, entry.message = type(exc).__name__, str(exc)[:MAX_MESSAGE]
            if restart(ctx, str(exc)):
                ctx.session = None
        except Exception as exc:  # the check's verdict (AssertionError) or the student's exception
            entry.verdict = Verdict.FAILED
            entry.error, entry.message = _message(exc)
        else:
            entry.verdict = Verdict.PASSED
            entry.message = printed.getvalue().strip()[:MAX_MESSAGE]
        used = [f for f in cell.student_names if f in ctx.findings]
        if used and entry.verdict is Verdict.PASSED:
            entry.verdict = Verdict.HELD
            entry.message = ("points held for the instructor's review: " + "; ".join(
                ctx.findings[f][0] for f in used) + ". Using a library that already does the job is not "
                "allowed in this exercise.")[:MAX_MESSAGE]
