"""Attacks on the grader from a real release notebook (05-channels), graded through the CLI in one run.

Each attack wraps the same honest but wrong ``conv2d`` (it forgets the bias) in a way that once got
full marks from an in-kernel grader: reading the check's frames or the garbage collector, IPython
hooks, a fake checks module, late-evaluated arrays, threads, signals, reading the reference. With the
verdicts computed outside the kernel, none may score more than the honest mistake scores alone,
and the correct submission graded beside them keeps full marks.
"""
from __future__ import annotations

import copy
import json

import pytest

from autograder.cli import main
from autograder.course import REPO
from autograder.sandbox import probe

pytestmark = pytest.mark.skipif(bool(probe()), reason=f"no kernel sandbox here: {probe()}")

ASSIGNMENT = "05-channels"
RELEASE = REPO / "exercises" / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SOURCE = REPO / "exercises" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
LIMITS = "\nc.Autograder.call_timeout = 10\nc.Autograder.cell_timeout = 20\nc.Autograder.notebook_timeout = 120\n"

NO_BIAS = '''def {name}(x, w, b=None, stride=1, padding="valid"):
    x, w = np.asarray(x, float), np.asarray(w, float)
    kh, kw = w.shape[:2]
    ph, pw = ((kh - 1) // 2, (kw - 1) // 2) if padding == "same" else (0, 0) if padding == "valid" \\
        else (int(padding), int(padding))
    x = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out  # the bias is forgotten
'''
HONEST = NO_BIAS.format(name="conv2d")
WRAPPED = NO_BIAS.format(name="honest")
SIGNATURE = 'def conv2d(x, w, b=None, stride=1, padding="valid"):\n'

ATTACKS = {
    "framewalk": WRAPPED + "import sys\n" + SIGNATURE + (
        "    f = sys._getframe()\n    while f is not None:\n"
        "        for name, value in f.f_locals.items():\n"
        "            if name in ('expected', 'want', 'reference') and hasattr(value, 'shape'):\n"
        "                return value\n"
        "        f = f.f_back\n    return honest(x, w, b, stride, padding)"),
    "gcscan": WRAPPED + "import gc\n" + SIGNATURE + (
        "    mine = honest(x, w, b, stride, padding)\n"
        "    for o in gc.get_objects():\n"
        "        if isinstance(o, np.ndarray) and o.shape == mine.shape and o is not mine \\\n"
        "                and not np.array_equal(o, mine) and o.ndim == 4:\n"
        "            return o\n    return mine"),
    "ipyhooks": WRAPPED + (
        "ip = get_ipython()\nip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
        "ip.input_transformers_cleanup.append(lambda lines: [l.replace('check_', 'print or ') for l in lines])\n"
        "ip.events.register('post_run_cell', lambda r: setattr(r, 'error_in_exec', None))\n"
        "conv2d = honest"),
    "fakechecks": WRAPPED + (
        "import sys, types\nfake = types.ModuleType('autograder.checks')\n"
        "fake.__getattr__ = lambda name: (lambda *a, **k: None)\nmods = sys.modules\n"
        "for name in ('autograder', 'autograder.checks', 'solutions'):\n    mods[name] = fake\n"
        "conv2d = honest"),
    "lazyarray": WRAPPED + (
        "class Later:\n    def __init__(self, *args):\n        self.args = args\n"
        "    def __array__(self, dtype=None, copy=None):\n        return honest(*self.args)\n"
        + SIGNATURE + "    return Later(x, w, b, stride, padding)"),
    "thread": WRAPPED + (
        "import threading, time\nconv2d = honest\n"
        "def swap():\n    while True:\n        globals()['conv2d'] = lambda *a, **k: np.zeros(3)\n        time.sleep(0.01)\n"
        "threading.Thread(target=swap, daemon=True).start()"),
    "killparent": WRAPPED + "import os, signal\n" + SIGNATURE + (
        "    for pid in (os.getppid(), 1):\n        try:\n            os.kill(pid, signal.SIGKILL)\n"
        "        except OSError:\n            pass\n    return honest(x, w, b, stride, padding)"),
    "stopgroup": WRAPPED + "import os, signal\n" + SIGNATURE + (
        "    try:\n        os.killpg(0, signal.SIGSTOP)\n    except OSError:\n        pass\n"
        "    return honest(x, w, b, stride, padding)"),
    "reference": WRAPPED + (
        "import glob\nconv2d = honest\ntry:\n    from solutions import conv2d\nexcept ImportError:\n"
        "    for path in glob.glob('/**/solutions/conv.py', recursive=True):\n"
        "        try:\n            space = {}\n            exec(compile(open(path).read(), path, 'exec'), space)\n"
        "            conv2d = space['conv2d']\n            break\n        except Exception:\n            pass"),
    "stub": SIGNATURE + (
        "    x, w = np.asarray(x), np.asarray(w)\n"
        "    s, k = stride, w.shape[0]\n    p = {'valid': 0, 'same': (k - 1) // 2}.get(padding, padding)\n"
        "    o = lambda n: (n + 2 * int(p) - k) // s + 1\n"
        "    return np.zeros((x.shape[0], o(x.shape[1]), o(x.shape[2]), w.shape[3]))"),
    "gradebook": WRAPPED + (
        "import os\nconv2d = honest\nfor root, dirs, files in os.walk('/'):\n    for f in files:\n"
        "        if f.endswith('.db'):\n            try:\n                open(os.path.join(root, f), 'w').write('x')\n"
        "            except OSError:\n                pass"),
}


def _with_conv2d(code: str) -> dict:
    nb = json.loads(RELEASE.read_text())
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "conv2d")
    cell["source"] = code
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-release")
    course, release = tmp / "course", tmp / "release"
    common = ["--course", str(course), "--release", str(release)]
    assert main([*common, "release", ASSIGNMENT]) == 0
    with (course / "nbgrader_config.py").open("a") as fh:
        fh.write(LIMITS)
    lms = tmp / "lms"
    lms.mkdir()
    notebooks = {"solution": json.loads(SOURCE.read_text()), "honest": _with_conv2d(HONEST),
                 **{name: _with_conv2d(code) for name, code in ATTACKS.items()}}
    for student, nb in notebooks.items():
        (lms / f"{student}_1.ipynb").write_text(json.dumps(copy.deepcopy(nb)))
    assert main([*common, "collect", ASSIGNMENT, str(lms)]) == 0
    assert main([*common, "grade", ASSIGNMENT, "--jobs", "2"]) == 0
    return json.loads((course / "reports" / f"{ASSIGNMENT}.json").read_text()), course


def test_the_honest_mistake_scores_in_between(graded):
    rep, _ = graded
    assert rep["solution"]["status"] == "graded" and rep["solution"]["score"] == rep["solution"]["max_score"] == 8
    assert rep["honest"]["status"] == "graded" and 0 < rep["honest"]["score"] < 8, rep["honest"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_no_attack_scores_above_the_honest_mistake(graded, attack):
    rep, _ = graded
    result = rep[attack]
    assert result["status"] in ("graded", "flagged"), result
    assert result["score"] <= rep["honest"]["score"], (attack, result["score"],
                                                      {k: c["message"][:200] for k, c in result["cells"].items()})


def test_the_gradebook_survives(graded):
    _, course = graded
    assert (course / "gradebook.db").read_bytes()[:15] == b"SQLite format 3"
    assert main(["--course", str(course), "export", ASSIGNMENT]) == 0
