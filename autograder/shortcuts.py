"""Detect forbidden shortcuts in a student's function, and tampering in a submitted notebook.

A NumPy exercise asks students to *implement* convolution, pooling or a gradient; calling a library
that already does it earns nothing for that part.  Two independent layers look for it:

1. **Static** (:func:`static_findings`): the function's source is parsed with :mod:`ast` (imports,
   ``from``-imports, ``__import__``/``importlib``, ``getattr(obj, "convolve")``, attribute chains such
   as ``np.lib.stride_tricks.sliding_window_view``) and its compiled code is walked (every global
   and attribute name it uses, through nested functions, closures and the student's own helper
   functions), resolving each global to the object it is bound to -- so ``import scipy.signal as
   helpers`` or ``fast = np.convolve`` defined in another cell are caught too.
2. **Runtime** (:func:`call_guarded`): while the check calls the student's function a profile hook
   (``sys.setprofile`` for this thread, ``threading.setprofile`` for new threads) watches every
   Python and C function entered.  Entering code that lives in a forbidden package directory
   (``scipy/signal``, ``scipy/ndimage``, ``tensorflow``, ``keras``, ``torch``, the reference
   ``solutions``...) or a forbidden NumPy routine aborts the call.  This catches what static
   analysis cannot see (strings assembled at run time, helpers hidden in imported modules).  A
   function that removes the hook -- detected both by ``sys.getprofile()`` and by an audit hook that
   cannot itself be removed (:mod:`autograder._safe`) -- is treated as tampering.

The notebook-level scan (:func:`scan_source_for_tampering`, :func:`scan_notebook_for_tampering`)
looks for code that rebinds library functions, the ``check_*`` names or ``sys.modules`` -- the only
attacks that can subvert the in-process checks.  The grading CLI runs it on every submitted file.
"""
from __future__ import annotations

import ast
import builtins
import importlib.util
import inspect
import json
import sys
import textwrap
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _safe

#: Packages that already implement what the NumPy exercises ask for (or contain the answers).
FORBIDDEN_MODULES = ("scipy.signal", "scipy.ndimage", "tensorflow", "keras", "tf_keras", "torch",
                     "jax", "skimage", "cv2", "solutions", "autograder")

#: NumPy routines that *are* the convolution/windowing exercises.
CONV_NUMPY = ("convolve", "correlate", "sliding_window_view")


@dataclass(frozen=True)
class Policy:
    """What one graded function may not use."""

    modules: tuple[str, ...] = FORBIDDEN_MODULES
    numpy_names: tuple[str, ...] = ()
    #: message fragment naming the task, e.g. "implement the sliding window yourself"
    advice: str = "implement it yourself with NumPy"


NUMPY_ONLY = Policy()
NO_CONV_SHORTCUTS = Policy(numpy_names=CONV_NUMPY,
                           advice="implement the sliding window yourself (loops or array slicing)")
#: Keras exercises may use Keras, just not the course's reference models.
KERAS = Policy(modules=("solutions", "autograder"), advice="build the model yourself with Keras")


def _matches_module(name: str, policy: Policy) -> str | None:
    for forbidden in policy.modules:
        if name == forbidden or name.startswith(forbidden + "."):
            return forbidden
    return None


# ---------------------------------------------------------------------------------------------
# Forbidden NumPy callables (by identity) and their code objects
# ---------------------------------------------------------------------------------------------
def _numpy_targets(names):
    """name -> (objects to match by identity, code objects to match at run time)."""
    from numpy._core import multiarray
    from numpy.lib import stride_tricks

    table = {
        "convolve": [np.convolve],
        "correlate": [np.correlate, multiarray.correlate, multiarray.correlate2],
        "sliding_window_view": [stride_tricks.sliding_window_view],
    }
    objects, codes = {}, {}
    for name in names:
        for obj in table.get(name, []):
            objects[id(obj)] = f"numpy.{name}"
            impl = getattr(obj, "_implementation", obj)
            code = getattr(impl, "__code__", None)
            if code is not None:
                codes[code] = f"numpy.{name}"
    return objects, codes


def _package_dirs(policy: Policy) -> dict[str, str]:
    """directory prefix -> module name, for forbidden packages that are installed (none imported)."""
    dirs = {}
    for name in policy.modules:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        for location in spec.submodule_search_locations or [spec.origin]:
            if location:
                path = str(Path(location).resolve())
                dirs[path if spec.submodule_search_locations is None else path + "/"] = name
    return dirs


_DIR_CACHE: dict[Policy, dict[str, str]] = {}


def _dirs_for(policy: Policy) -> dict[str, str]:
    if policy not in _DIR_CACHE:
        _DIR_CACHE[policy] = _package_dirs(policy)
    return _DIR_CACHE[policy]


# ---------------------------------------------------------------------------------------------
# Static analysis
# ---------------------------------------------------------------------------------------------
def _module_of(value) -> str:
    if isinstance(value, types.ModuleType):
        return value.__name__
    owner = getattr(value, "__self__", None)
    if isinstance(owner, types.ModuleType):
        return owner.__name__
    module = getattr(value, "__module__", None)
    if isinstance(module, str):
        return module
    cls_module = getattr(type(value), "__module__", "")
    return cls_module if isinstance(cls_module, str) else ""


def _code_names(code: types.CodeType):
    """All global/attribute names used by ``code`` and the code objects nested in it."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _source_findings(func, policy: Policy) -> list[str]:
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return []
    findings = []
    forbidden_attrs = set(policy.numpy_names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (hit := _matches_module(alias.name, policy)):
                    findings.append(f"imports {alias.name} ({hit} is not allowed here)")
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if (hit := _matches_module(node.module, policy) or _matches_module(full, policy)):
                    findings.append(f"imports {alias.name} from {node.module} ({hit} is not allowed here)")
                elif alias.name in forbidden_attrs:
                    findings.append(f"imports {node.module}.{alias.name}")
        elif isinstance(node, ast.Call):
            fn = node.func
            fname = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
            if fname == "import_module" or (isinstance(fn, ast.Name) and fname in ("__import__", "exec", "eval")):
                findings.append(f"calls {fname}() (dynamic imports and exec are not allowed in graded functions)")
            if fname == "getattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                attr = node.args[1].value
                if attr in forbidden_attrs:
                    findings.append(f"looks up {attr!r} with getattr")
        elif isinstance(node, ast.Attribute) and node.attr in forbidden_attrs:
            findings.append(f"uses .{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if (hit := _matches_module(node.value, policy)) or node.value in forbidden_attrs:
                findings.append(f"refers to {node.value!r} in a string")
    return findings


def _object_findings(func, policy: Policy, seen: set[int], depth: int = 0) -> list[str]:
    """Resolve the globals/closure values a function uses; recurse into the student's own helpers."""
    if id(func) in seen or depth > 6:
        return []
    seen.add(id(func))
    code = getattr(func, "__code__", None)
    if code is None:
        return []
    objects, _ = _numpy_targets(policy.numpy_names)
    env = dict(getattr(func, "__globals__", {}))
    values: list[tuple[str, object]] = []
    for name in sorted(_code_names(code)):
        if name in env:
            values.append((name, env[name]))
        elif name in policy.numpy_names and not hasattr(builtins, name):
            # attribute access such as ``xp.convolve`` where ``convolve`` is not one of their helpers
            values.append((name, None))
    for cell, name in zip(func.__closure__ or (), code.co_freevars):
        try:
            values.append((name, cell.cell_contents))
        except ValueError:  # empty cell
            pass
    for default in (func.__defaults__ or ()) + tuple((func.__kwdefaults__ or {}).values()):
        values.append(("a default argument", default))
    findings = []
    for name, value in values:
        if value is None and name in policy.numpy_names:
            findings.append(f"uses .{name}")
            continue
        if id(value) in objects:
            findings.append(f"uses {objects[id(value)]} (through the name {name!r})")
            continue
        module = _module_of(value)
        if (hit := _matches_module(module, policy)):
            what = "module" if isinstance(value, types.ModuleType) else "function"
            findings.append(f"uses the {what} {module} through the name {name!r} ({hit} is not allowed here)")
            continue
        if isinstance(value, types.FunctionType) and _is_student_code(value):
            findings += _object_findings(value, policy, seen, depth + 1)
        elif isinstance(value, type) and _is_student_code(value):
            for attr in vars(value).values():
                if isinstance(attr, types.FunctionType):
                    findings += _object_findings(attr, policy, seen, depth + 1)
    return findings


def _is_student_code(func) -> bool:
    """Functions defined in the notebook (or a test file), not in an installed library."""
    code = getattr(func, "__code__", None)
    if code is None:
        return False
    filename = code.co_filename
    return not (filename.startswith(_LIBRARY_PREFIXES) or "site-packages" in filename
                or "dist-packages" in filename)


_LIBRARY_PREFIXES = tuple({str(Path(p).resolve()) for p in (sys.base_prefix, sys.prefix)} |
                          {str(Path(__file__).resolve().parent.parent / "solutions")})


def static_findings(func, policy: Policy) -> list[str]:
    """Plain-English reasons why ``func`` appears to use a forbidden shortcut (empty when clean)."""
    if not callable(func):
        return []
    own = _matches_module(_module_of(func), policy)
    if own:
        return [f"is {_module_of(func)}.{getattr(func, '__name__', '?')} itself, not your own code "
                f"({own} is not allowed here)"]
    target = func
    if not isinstance(func, types.FunctionType):
        target = getattr(func, "__func__", None) or getattr(type(func), "__call__", None)
        if not isinstance(target, types.FunctionType):
            # A builtin or a library callable handed in directly.
            module = _module_of(func)
            hit = _matches_module(module, policy) or (id(func) in _numpy_targets(policy.numpy_names)[0])
            return [f"is {module}.{getattr(func, '__name__', '?')} itself, not your own code"] if hit else []
    findings = _source_findings(target, policy) + _object_findings(target, policy, set())
    unique = []
    for f in findings:
        if f not in unique:
            unique.append(f)
    return unique


# ---------------------------------------------------------------------------------------------
# Runtime guard
# ---------------------------------------------------------------------------------------------
_TRUSTED_CODES: set = set()


def trust(func):
    """Let the guard enter ``func`` (a callback the checks themselves hand to the student's code)."""
    _TRUSTED_CODES.add(func.__code__)
    return func


class _ShortcutUsed(BaseException):
    """Raised inside the student's call to stop it as soon as a forbidden routine is entered."""


@dataclass
class GuardReport:
    shortcuts: list[str] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)


def call_guarded(func, args=(), kwargs=None, policy: Policy = NUMPY_ONLY):
    """Call ``func(*args, **kwargs)`` while watching for forbidden routines.

    Returns ``(result, exception, report)``; ``exception`` is whatever the student's code raised
    (``None`` on success) and ``report`` lists forbidden routines entered and tampering seen.
    """
    kwargs = kwargs or {}
    _, forbidden_codes = _numpy_targets(policy.numpy_names)
    forbidden_objects = _numpy_targets(policy.numpy_names)[0]
    dirs = tuple(_dirs_for(policy).items())
    prefixes = tuple(d for d, _ in dirs)
    report = GuardReport()

    def hook(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code in _TRUSTED_CODES:
                return
            if code in forbidden_codes:
                report.shortcuts.append(f"called {forbidden_codes[code]}")
                raise _ShortcutUsed
            filename = code.co_filename
            if filename.startswith(prefixes):
                for prefix, name in dirs:
                    if filename.startswith(prefix):
                        report.shortcuts.append(f"called into {name} ({code.co_name} in {Path(filename).name})")
                        raise _ShortcutUsed
        elif event == "c_call":
            if id(arg) in forbidden_objects:
                report.shortcuts.append(f"called {forbidden_objects[id(arg)]}")
                raise _ShortcutUsed
            module = getattr(arg, "__module__", None)
            if isinstance(module, str) and _matches_module(module, policy):
                report.shortcuts.append(f"called {module}.{getattr(arg, '__name__', '?')}")
                raise _ShortcutUsed

    result = exception = None
    state = _safe._AUDIT_STATE
    state["events"] = []
    old_thread_profile = threading.getprofile() if hasattr(threading, "getprofile") else None
    old_profile = sys.getprofile()  # e.g. a %prun in progress; put back afterwards
    threading.setprofile(hook)
    sys.setprofile(hook)
    state["guard_depth"] += 1
    try:
        result = func(*args, **kwargs)
    except _ShortcutUsed:
        pass
    except Exception as exc:  # the student's error is reported by the caller
        exception = exc
    finally:
        still_ours = sys.getprofile() is hook
        state["guard_depth"] -= 1
        sys.setprofile(old_profile)
        threading.setprofile(old_thread_profile)
    # When the hook aborts the call, CPython removes it (raising the same audit event), so a missing
    # hook only counts as tampering when no shortcut was recorded.
    if not report.shortcuts and (not still_ours or state["events"]):
        report.tampering.append("the function switched off or replaced the autograder's call monitor "
                                f"({', '.join(state['events']) or 'sys.setprofile'})")
    if report.shortcuts:
        result, exception = None, None
    return result, exception, report


# ---------------------------------------------------------------------------------------------
# Tampering in a notebook
# ---------------------------------------------------------------------------------------------
_ALWAYS_MODULES = {"np", "numpy", "math", "builtins", "sys", "autograder", "solutions", "checks",
                   "scipy", "tf", "keras", "tensorflow", "__builtins__", "__main__", "inspect"}
_DUNDER_STORES = {"__code__", "__globals__", "__defaults__", "__kwdefaults__", "__closure__",
                  "__builtins__", "__dict__", "__class__", "__call__", "__module__"}
_SUSPICIOUS_CALLS = {
    "setprofile": "switches the profiler (the autograder's call monitor)",
    "settrace": "installs a tracer",
    "addaudithook": "installs an audit hook",
    "_getframe": "reaches into other stack frames",
    "currentframe": "reaches into other stack frames",
    "get_referrers": "digs through the garbage collector",
    "get_objects": "digs through the garbage collector",
    "reload": "reloads a module",
    "__import__": "imports dynamically",
    "exec": "executes code from a string",
    "eval": "evaluates code from a string",
    "compile": "compiles code from a string",
}


_BUILTIN_CALLS = {"__import__", "exec", "eval", "compile"}


def _root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def _strip_magics(source: str) -> str:
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("" if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def _is_check_name(name: str) -> bool:
    """True for the names of the autograder's checks (a student's own ``check_shapes`` is fine)."""
    from . import checks  # imported lazily: checks itself imports this module

    return name in checks.__all__ and name.startswith("check_")


def scan_source_for_tampering(source: str, imported: set[str] | None = None) -> list[str]:
    """Reasons why this code looks like it tampers with libraries or the autograder ([] if clean).

    ``imported`` collects the names bound by imports across cells (pass the same set for every cell
    of a notebook, in order).  Plain use -- calling ``np.testing.assert_allclose``, setting
    ``plt.rcParams[...]`` -- is not flagged; *assigning* to an attribute of an imported module,
    rebinding a ``check_*`` name, touching ``sys.modules``, swapping function code, installing
    profilers/tracers, and ``exec``/``eval`` are.
    """
    imported = imported if imported is not None else set()
    try:
        tree = ast.parse(_strip_magics(source))
    except SyntaxError:
        return []
    findings = []
    modules = imported | _ALWAYS_MODULES

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported.add(alias.asname or alias.name.split(".")[0])
                if alias.name.split(".")[0] in ("ctypes", "gc"):
                    findings.append(f"imports {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                bound = alias.asname or alias.name
                imported.add(bound)
                from_checks = (node.module or "").startswith("autograder")
                if _is_check_name(bound) and not (from_checks and bound == alias.name):
                    findings.append(f"binds the name {bound!r} to something other than the autograder's check")
            if (node.module or "").split(".")[0] in ("ctypes", "gc", "unittest"):
                findings.append(f"imports from {node.module}")
    modules = imported | _ALWAYS_MODULES

    def store_target(target, verb="assigns to"):
        if isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                store_target(elt, verb)
            return
        if isinstance(target, ast.Starred):
            store_target(target.value, verb)
            return
        if isinstance(target, ast.Name):
            if _is_check_name(target.id):
                findings.append(f"{verb} {target.id!r}, a name the autograder's checks use")
            return
        if isinstance(target, ast.Attribute):
            root = _root_name(target)
            if target.attr in _DUNDER_STORES:
                findings.append(f"{verb} {_dotted(target)}")
            elif root in modules:
                findings.append(f"{verb} {_dotted(target)} (changes a library or the autograder)")
            return
        if isinstance(target, ast.Subscript):
            holder = target.value
            text = _dotted(holder) if isinstance(holder, (ast.Attribute, ast.Name, ast.Call)) else ""
            key = target.slice.value if isinstance(target.slice, ast.Constant) else None
            if text.endswith(("modules", "__dict__")) or text in ("globals()", "locals()") \
                    or (text.startswith("vars(") if text else False) or text == "vars()" \
                    or (isinstance(key, str) and _is_check_name(key)):
                findings.append(f"{verb} an entry of {text or 'a namespace'}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                store_target(target)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.target is not None:
            store_target(node.target)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                store_target(target, "deletes")
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
            targets = [node.target] if isinstance(node, (ast.For, ast.AsyncFor)) else \
                [item.optional_vars for item in node.items if item.optional_vars is not None]
            for target in targets:
                store_target(target)
        elif isinstance(node, ast.NamedExpr):
            store_target(node.target)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if _is_check_name(node.name):
                findings.append(f"defines {node.name!r}, shadowing the autograder's check")
        elif isinstance(node, ast.Global):
            for name in node.names:
                if _is_check_name(name):
                    findings.append(f"declares global {name!r}")
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
            if name in ("setattr", "delattr", "__setattr__", "__delattr__") and node.args:
                root = _root_name(node.args[0])
                if name.startswith("__") or root in modules or root in ("globals", "vars"):
                    findings.append(f"calls {name}() on {_dotted(node.args[0]) or 'an object'}")
            elif name in _SUSPICIOUS_CALLS and (isinstance(fn, ast.Attribute) or name in _BUILTIN_CALLS):
                # exec/eval/compile only as the builtins: model.compile(...) is ordinary Keras
                if not (isinstance(fn, ast.Attribute) and name in _BUILTIN_CALLS):
                    findings.append(f"calls {name}() ({_SUSPICIOUS_CALLS[name]})")
            elif name in ("patch", "object") and "mock" in _dotted(fn):
                findings.append("uses unittest.mock to patch objects")
            elif name in ("update", "pop", "setdefault", "__setitem__", "clear") and \
                    _dotted(fn).split(".")[-2:-1] in (["modules"], ["__dict__"]):
                findings.append(f"modifies {_dotted(fn.value)}")
            elif name in ("update", "__setitem__", "setdefault") and isinstance(fn, ast.Attribute) \
                    and isinstance(fn.value, ast.Call) and _dotted(fn.value.func) in ("globals", "vars", "locals"):
                findings.append(f"modifies {_dotted(fn.value)}")
        elif isinstance(node, ast.Attribute) and node.attr in ("f_globals", "f_locals", "f_back",
                                                               "f_builtins", "__globals__"):
            findings.append(f"reads {_dotted(node)}")
    unique = []
    for f in findings:
        if f not in unique:
            unique.append(f)
    return unique


def scan_notebook_for_tampering(notebook) -> list[str]:
    """Scan every code cell of a notebook (path, JSON text or nbformat dict) for tampering.

    Returns messages such as ``"cell 7 (grade_id conv2d_solution): assigns to np.allclose ..."``.
    The grader should give 0 (or flag for review) to a notebook with any finding.
    """
    if isinstance(notebook, (str, Path)) and Path(notebook).exists():
        notebook = json.loads(Path(notebook).read_text(encoding="utf-8"))
    elif isinstance(notebook, str):
        notebook = json.loads(notebook)
    imported: set[str] = set()
    findings = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        where = f"cell {index}" + (f" ({grade_id})" if grade_id else "")
        findings += [f"{where}: {f}" for f in scan_source_for_tampering(source, imported)]
    return findings


def scan_kernel_history() -> list[str]:
    """Scan the cells executed so far in this IPython kernel (empty outside IPython)."""
    ipython = getattr(builtins, "get_ipython", None)
    shell = ipython() if callable(ipython) else None
    if shell is None:
        return []
    history = shell.user_ns.get("_ih") or shell.user_ns.get("In") or []
    imported: set[str] = set()
    findings = []
    for source in list(history):
        if isinstance(source, str):
            findings += scan_source_for_tampering(source, imported)
    return findings


_safe.protect_module(sys.modules[__name__])
