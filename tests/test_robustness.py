"""Hostile and broken submissions, graded in one parallel run next to a correct one.

Each case must get a clear per-student outcome while everyone else is graded normally.
"""

from __future__ import annotations

import copy
import json
import socket
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from corpus import ASSIGNMENT, GOOD_ADD, GOOD_MEAN, SOURCE, cell, dumps, source_nb, with_code  # noqa: E402

from autograder.cli import main  # noqa: E402
from autograder.sandbox import pids_hierarchy, probe  # noqa: E402

pytestmark = pytest.mark.skipif(bool(probe()), reason=f"no kernel sandbox here: {probe()}")

CONFIG_LIMITS = """
c.Autograder.cell_timeout = 8
c.Autograder.call_timeout = 5
c.Autograder.notebook_timeout = 60
c.Autograder.memory_mb = 2048
c.Autograder.cpu_seconds = 20
c.Autograder.output_bytes = 20000
c.Autograder.max_processes = 64
"""

# Forks sleeping children (which would outlive the kernel) until the process limit stops it, after
# trying to leave its pids cgroup. Capped at 1000 children so a missing limit fails the test
# instead of the machine.
FORK_BOMB = """import os, time
for procs in ("/sys/fs/cgroup/pids/cgroup.procs", "/sys/fs/cgroup/cgroup.procs"):
    try:
        open(procs, "w").write(str(os.getpid()))
    except OSError:
        pass
children = 0
try:
    while children < 1000:
        if os.fork() == 0:
            time.sleep(300)
            os._exit(0)
        children += 1
except OSError:
    pass
assert children < 1000, "no process limit"
"""


def _cases(gradebook: Path, port: int, outside: Path) -> dict:
    src = source_nb()
    dup = copy.deepcopy(src)
    dup["cells"].insert(3, copy.deepcopy(cell(dup, "add")))  # copy-pasted cell: same id, same grade_id
    deleted = copy.deepcopy(src)
    deleted["cells"] = [c for c in deleted["cells"]
                        if c["metadata"]["nbgrader"].get("grade_id") != "test_mean"]
    edited = with_code(add="def add(a, b):\n    return 7", mean="def mean_of(x):\n    return 0")
    cell(edited, "test_add")["source"] = "pass  # tests removed"
    cell(edited, "test_mean")["source"] = "pass"
    retyped = copy.deepcopy(src)
    cell(retyped, "test_add")["cell_type"] = "markdown"
    cell(retyped, "test_add").pop("outputs", None)
    cell(retyped, "test_add").pop("execution_count", None)
    return {
        "ok": (dumps(src), 5.0, "graded"),
        "duplicates": (dumps(dup), 5.0, "graded"),
        "deletedtest": (dumps(deleted), 5.0, "graded"),
        "editedtests": (dumps(edited), 0.0, "graded"),
        "celltype": (dumps(retyped), 5.0, "graded"),
        # neither the grader nor the reference package exists in the kernel
        "nograder": (dumps(with_code(mean="import importlib.util\nassert importlib.util.find_spec('autograder') "
                                          "is None and importlib.util.find_spec('solutions') is None\n"
                                          + GOOD_MEAN)), 5.0, "graded"),
        "badjson": ('{"cells": [', 0.0, "invalid"),
        "empty": ("", 0.0, "invalid"),
        "loop": (dumps(with_code(add="def add(a, b):\n    while True:\n        pass")), 3.0, "graded"),
        # tries to ignore the interrupt sent at the cell timeout: grading goes on regardless
        "deafloop": (dumps(with_code(add=(
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "def add(a, b):\n    while True:\n        pass"))), 3.0, "graded"),
        "membomb": (dumps(with_code(mean="x = bytearray(8 * 1024**3)\n" + GOOD_MEAN)), 2.0, "graded"),
        "sysexit": (dumps(with_code(add="import sys\nsys.exit(3)\n" + GOOD_ADD)), 3.0, "graded"),
        "osexit": (dumps(with_code(mean="import os\nos._exit(1)\n" + GOOD_MEAN)), 2.0, "graded"),
        "bigoutput": (dumps(with_code(add=GOOD_ADD + "\nfor _ in range(200):\n    print('x' * 100_000)")),
                      5.0, "graded"),
        # succeeds (and keeps full marks) only if it could NOT see or touch outside files
        "snoop": (dumps(with_code(mean=(
            "import os\n"
            f"assert not os.path.exists({str(gradebook)!r}), 'gradebook visible'\n"
            "try:\n"
            f"    open({str(outside)!r}, 'w').write('pwned')\n"
            "except OSError:\n    pass\n" + GOOD_MEAN))), 5.0, "graded"),
        "network": (dumps(with_code(add=(
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
            "    reached = True\n"
            "except OSError:\n    reached = False\n"
            "assert not reached, 'network reachable'\n" + GOOD_ADD))), 5.0, "graded"),
        # the bomb's own later cells may find no process left for a thread: it loses only those
        **({"forkbomb": (dumps(with_code(add=FORK_BOMB + GOOD_ADD)), (2.0, 5.0), "graded")}
           if pids_hierarchy() else {}),
        # Attacks on the grader from inside the kernel: each gets what its own functions earn.
        "killall": (dumps(with_code(add="import os, signal\ndef add(a, b):\n    try:\n"
                                        "        os.kill(-1, signal.SIGKILL)\n    except OSError:\n        pass\n"
                                        "    os.kill(os.getpid(), signal.SIGKILL)")),
                    3.0, "graded"),
        "killparent": (dumps(with_code(add="import os, signal\nfor sig in (signal.SIGSTOP, signal.SIGKILL):\n"
                                           "    try:\n        os.kill(os.getppid(), sig)\n"
                                           "    except OSError:\n        pass\n" + GOOD_ADD)), 5.0, "graded"),
        "framewalk": (dumps(with_code(add="import sys\ndef add(a, b):\n    f = sys._getframe()\n"
                                          "    while f is not None:\n        if 'expected' in f.f_locals:\n"
                                          "            return f.f_locals['expected']\n"
                                          "        f = f.f_back\n    return 42")), 3.0, "graded"),
        "gcscan": (dumps(with_code(add="import gc\nfound = [o for o in gc.get_objects() if isinstance(o, dict) "
                                       "and 'hidden' in o]\ndef add(a, b):\n    return 42")), 3.0, "graded"),
        "ipyhooks": (dumps(with_code(add=(
            "ip = get_ipython()\nip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
            "ip.input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
            "ip.events.register('post_run_cell', lambda r: setattr(r, 'error_in_exec', None))\n"
            "def add(a, b):\n    return 42"))), 0.0, "graded"),  # sabotages only its own kernel
        "fakechecks": (dumps(with_code(add=(
            "import sys, types\nmods = sys.modules\nmods['autograder.checks'] = types.ModuleType('fake')\n"
            "def add(a, b):\n    return 42"))), 3.0, "graded"),
        "hugereturn": (dumps(with_code(add="def add(a, b):\n    return np.zeros(10**8)")), 3.0, "graded"),
        "script": (dumps(_with_script(src)), 5.0, "graded"),
        "kernelspec": (dumps(_with_kernel(src, "julia-1.9")), 5.0, "graded"),
        "gradebook": (dumps(with_code(mean=(
            "import os\nfor root, dirs, files in os.walk('/'):\n    for f in files:\n"
            "        if f.endswith('.db'):\n            try:\n"
            "                open(os.path.join(root, f), 'w').write('x')\n            except OSError:\n"
            "                pass\n" + GOOD_MEAN))), 5.0, "graded"),
    }


SCRIPT = "<script>window.PWNED=1</script>"


def _with_script(src: dict) -> dict:
    nb = with_code(add=GOOD_ADD + f"\nfrom IPython.display import HTML, display\ndisplay(HTML({SCRIPT!r}))",
                   base=src)
    nb["cells"].append({"cell_type": "markdown", "id": "mine", "metadata": {},
                        "source": "<img src=x onerror=alert(1)> [me](javascript:alert(2))"})
    return nb


def _with_kernel(src: dict, name: str) -> dict:
    nb = copy.deepcopy(src)
    nb["metadata"]["kernelspec"] = {"name": name, "display_name": name, "language": "julia"}
    return nb


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    course, release = tmp / "course", tmp / "release"
    common = ["--course", str(course), "--source", str(SOURCE), "--release", str(release)]
    assert main([*common, "release"]) == 0
    with (course / "nbgrader_config.py").open("a") as fh:
        fh.write(CONFIG_LIMITS)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    connections = []

    def accept():
        while listener.fileno() != -1:
            try:
                connections.append(listener.accept())
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    outside = Path("/tmp") / f"autograder-outside-{tmp.name}"
    cases = _cases(course / "gradebook.db", listener.getsockname()[1], outside)
    lms = tmp / "lms"
    lms.mkdir()
    for student, (text, _, _) in cases.items():
        (lms / f"{student}_submission.ipynb").write_text(text)
    (lms / "Untitled.ipynb").write_text(dumps(source_nb()))  # no student id: reported, not graded
    assert main([*common, "collect", ASSIGNMENT, str(lms)]) == 0
    (course / "submitted" / "nofile" / ASSIGNMENT).mkdir(parents=True)  # folder without notebook
    assert main([*common, "grade", ASSIGNMENT, "--jobs", "2"]) == 0
    listener.close()
    rep = json.loads((course / "reports" / f"{ASSIGNMENT}.json").read_text())
    return rep, cases, connections, outside, course


def test_every_case_has_its_outcome(hostile):
    rep, cases, *_ = hostile
    for student, (_, score, status) in cases.items():
        scores = score if isinstance(score, tuple) else (score,)
        assert rep[student]["status"] == status and rep[student]["score"] in scores, (student, rep[student])
    assert rep["nofile"]["status"] == "missing" and rep["nofile"]["reason"] == "no notebook was submitted"


def test_reasons_name_the_problem(hostile):
    rep, *_ = hostile
    assert "not valid notebook JSON" in rep["badjson"]["reason"]
    assert "empty" in rep["empty"]["reason"]
    for loop in ("loop", "deafloop"):
        assert rep[loop]["cells"]["test_add"]["verdict"] == "timeout"
        assert "did not return within 5 s" in rep[loop]["cells"]["test_add"]["message"]
    assert rep["membomb"]["cells"]["test_mean"]["error"] == "NameError"
    assert any("kernel restarted" in n for n in rep["osexit"]["notes"])
    assert "kernel died" in rep["killall"]["cells"]["test_add"]["message"]
    assert rep["hugereturn"]["cells"]["test_add"]["verdict"] == "failed"
    assert any("was missing" in n for n in rep["deletedtest"]["notes"])
    assert any("read-only" in n for n in rep["celltype"]["notes"])
    assert any("julia-1.9" in n for n in rep["kernelspec"]["notes"])


def test_huge_output_is_cut(hostile):
    rep, *_ = hostile
    nb = Path(rep["bigoutput"]["autograded"])
    assert nb.stat().st_size < 200_000
    assert "output cut by the autograder" in nb.read_text()


def test_no_network(hostile):
    _, _, connections, *_ = hostile
    assert connections == []


@pytest.mark.skipif(pids_hierarchy() is None, reason="no writable pids cgroup (needs root)")
def test_fork_bomb_is_contained_and_cleaned_up(hostile):
    rep, *_ = hostile
    assert rep["forkbomb"]["cells"]["test_add"]["verdict"] == "passed"  # the bomb hit the limit
    leftovers = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if f"-{ASSIGNMENT}-".encode() in cmdline and b"autograder-" in cmdline:
            leftovers.append(proc.name)
    assert leftovers == [], "kernel processes outlived the grading run"
    assert not list(pids_hierarchy().glob(f"autograder-*-{ASSIGNMENT}-*")), "cgroups left behind"


def test_no_writes_outside_and_the_gradebook_is_intact(hostile):
    *_, outside, course = hostile
    assert not outside.exists()
    assert not (course / "pwned").exists()
    assert (course / "gradebook.db").read_bytes()[:15] == b"SQLite format 3"


def test_student_html_never_reaches_a_browser(hostile):
    rep, _, _, _, course = hostile
    nb = Path(rep["script"]["autograded"]).read_text()
    assert "window.PWNED" not in nb.replace("window.PWNED=1</script>')", "")  # only in the code's text
    assert "text/html" not in nb and '"```text\\n",\n    "<img src=x onerror' in nb  # shown as literal text
    assert main(["--course", str(course), "feedback", ASSIGNMENT]) == 0
    html = (course / "feedback" / "script" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert SCRIPT not in html and "<img src=x" not in html and 'href="javascript:' not in html
