"""Static scan of a submission's own code for forbidden shortcuts (run by the grader, on text).

A NumPy exercise asks for an implementation; calling a library that already does the job
(SciPy's signal or ndimage, TensorFlow, the course's reference package ``solutions``,
``np.convolve`` where convolution is the task...) earns nothing for it. The scan parses the
student-editable cells of the submitted notebook, follows each graded function into the helpers
it calls, and resolves module aliases (``import scipy.signal as helpers``, ``fast = np.convolve``).
A finding holds that function's points for an instructor's review; it never decides them.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

#: Packages that already implement what the NumPy exercises ask for (or contain the answers).
FORBIDDEN_MODULES = ("scipy.signal", "scipy.ndimage", "tensorflow", "keras", "tf_keras", "torch",
                     "jax", "skimage", "cv2", "solutions", "autograder")
#: NumPy routines that *are* the convolution and windowing exercises.
CONV_NUMPY = ("convolve", "correlate", "sliding_window_view")


@dataclass(frozen=True)
class Policy:
    """What one graded function may not use."""

    modules: tuple[str, ...] = FORBIDDEN_MODULES
    numpy_names: tuple[str, ...] = ()
    advice: str = "implement it yourself with NumPy"


NUMPY_ONLY = Policy()
NO_CONV_SHORTCUTS = Policy(numpy_names=CONV_NUMPY,
                           advice="implement the sliding window yourself (loops or array slicing)")
#: Exercise 08 composes the reference layers of earlier exercises: what its set-up cell imports
#: (``scan``'s ``provided``) may be used, nothing else of ``solutions``.
COMPOSE_LAYERS = Policy(advice="compose the layer functions provided in the notebook")
#: Keras exercises may use Keras, just not the course's reference models.
KERAS = Policy(modules=("solutions", "autograder"), advice="build the model yourself with Keras")


def _forbidden(module: str, policy: Policy, provided: frozenset[str] = frozenset()) -> str | None:
    if any(module == name or module.startswith(name + ".") for name in provided):
        return None
    for banned in policy.modules:
        if module == banned or module.startswith(banned + "."):
            return banned
    return None


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _parse(source: str) -> ast.Module | None:
    lines = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


class _Program:
    """The student's cells as one program: definitions and what each top-level name stands for."""

    def __init__(self, sources: list[str]):
        self.defs: dict[str, ast.AST] = {}
        self.aliases: dict[str, str] = {}  # name -> dotted module or object path it is bound to
        self.top_level: list[ast.AST] = []
        for tree in filter(None, map(_parse, sources)):
            for node in tree.body:
                self._bind(node)

    def _bind(self, node) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.defs[node.name] = node
        elif isinstance(node, ast.Import):
            for a in node.names:
                self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            self.top_level.append(node)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            self.top_level.append(node)
        elif isinstance(node, ast.Assign) and isinstance(node.value, (ast.Attribute, ast.Name)):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.aliases[target.id] = self.resolve(_dotted(node.value))
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    self._bind(child)

    def resolve(self, dotted: str) -> str:
        """``helpers.convolve2d`` -> ``scipy.signal.convolve2d`` through the aliases."""
        head, _, rest = dotted.partition(".")
        if head in self.aliases and self.aliases[head] != dotted:
            return self.aliases[head] + (f".{rest}" if rest else "")
        return dotted


def _findings_in(node: ast.AST, program: _Program, policy: Policy,
                 provided: frozenset[str]) -> tuple[list[str], set[str]]:
    """Findings inside one definition, and the student definitions it calls."""
    findings, called = [], set()
    numpy_names = set(policy.numpy_names)
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            for a in sub.names:
                if (hit := _forbidden(a.name, policy, provided)):
                    findings.append(f"imports {a.name} ({hit} is not allowed here)")
        elif isinstance(sub, ast.ImportFrom) and sub.module:
            for a in sub.names:
                full = f"{sub.module}.{a.name}"
                if (hit := _forbidden(full, policy, provided)):
                    findings.append(f"imports {a.name} from {sub.module} ({hit} is not allowed here)")
                elif a.name in numpy_names:
                    findings.append(f"imports {full}")
        elif isinstance(sub, ast.Call):
            fn = sub.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
            if name in ("__import__", "import_module", "exec", "eval", "compile"):
                findings.append(f"calls {name}() (dynamic imports and exec are not allowed in graded functions)")
            if name == "getattr" and len(sub.args) >= 2 and isinstance(sub.args[1], ast.Constant) \
                    and sub.args[1].value in numpy_names:
                findings.append(f"looks up {sub.args[1].value!r} with getattr")
        elif isinstance(sub, (ast.Attribute, ast.Name)) and isinstance(sub.ctx, ast.Load):
            if isinstance(sub, ast.Name) and sub.id in program.defs:
                called.add(sub.id)
            dotted = _dotted(sub)
            if isinstance(sub, ast.Attribute) and sub.attr in numpy_names:
                findings.append(f"uses .{sub.attr}")
            elif dotted and dotted.split(".")[0] in program.aliases:  # only imported names resolve
                target = program.resolve(dotted)
                if (hit := _forbidden(target, policy, provided)):
                    findings.append(f"uses {target} ({hit} is not allowed here)")
                elif target.rsplit(".", 1)[-1] in numpy_names:
                    findings.append(f"uses {target} (through the name {dotted!r})")
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            if _forbidden(sub.value, policy) or sub.value in numpy_names:
                findings.append(f"refers to {sub.value!r} in a string")
    return findings, called


def scan(sources: list[str], function: str, policy: Policy, provided: tuple[str, ...] = ()) -> list[str]:
    """Why ``function`` (defined in the student's ``sources``) looks like a shortcut ([] if clean).

    ``provided``: dotted names the notebook's locked cells import (``solutions.conv2d``), which the
    student may use although their module is forbidden."""
    program = _Program(sources)
    allowed = frozenset(provided)
    if function not in program.defs:
        target = program.resolve(function)
        hit = _forbidden(target, policy, allowed)
        return [f"is {target} itself, not your own code ({hit} is not allowed here)"] if hit else []
    findings, seen, todo = [], set(), [function]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found, called = _findings_in(program.defs[name], program, policy, allowed)
        findings += [f if name == function else f"{f} (in its helper {name})" for f in found]
        todo += sorted(called - seen)
    return list(dict.fromkeys(findings))
