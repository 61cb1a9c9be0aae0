"""Parts I-II in JupyterLite (book/_ext/course_lite.py): the pieces, a built Lite site, and that site
in headless Chromium, offline.

Offline, a browser can do everything but fetch NumPy and the other Pyodide packages from Pyodide's
CDN, so Chromium checks: the Lite app loads from the local server, the exercise notebook opens,
the kernel starts and runs Python (Pyodide's), and the self-check runner (autograder.inkernel, from
the course's wheel) reads the saved notebook from the browser's drive and reports its test cells.
The self-check's NumPy path is tested in CPython (tests/test_inkernel.py). The build needs npm,
PyPI and jupyterlite-core + jupyterlite-pyodide-kernel; those tests skip without them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

import bookcheck
from autograder.check_report import CheckStatus
from autograder.inkernel import LITE_CHECK_ID, LITE_SETUP_ID
from autograder.student_check import run_checks
from test_exercise_trials import solutions

sys.path.insert(0, str(bookcheck.ROOT / "book" / "_ext"))
import course_lite  # noqa: E402

ROOT = bookcheck.ROOT
CHAPTER = "book/02-conv1d"
EXERCISE = "02-conv1d"


# ------------------------------------------------------------------------------ the pieces
LOCK = {"info": {"python": "3.14.2"}, "packages": {
    "micropip": {"name": "micropip", "version": "1", "file_name": "micropip-1-py3-none-any.whl",
                 "sha256": "old", "depends": ["packaging"]},
    "packaging": {"name": "packaging", "version": "2", "file_name": "packaging-2-py3-none-any.whl",
                  "sha256": "old", "depends": []},
    "ipython": {"name": "ipython", "version": "3", "file_name": "ipython-3-py3-none-any.whl",
                "sha256": "old", "depends": ["Prompt_Toolkit"]},
    "prompt-toolkit": {"name": "prompt_toolkit", "version": "4", "file_name": "prompt_toolkit-4-py3-none-any.whl",
                       "sha256": "old", "depends": []},
    "jedi": {"name": "jedi", "version": "5", "file_name": "jedi-5-py3-none-any.whl", "sha256": "old", "depends": []},
    "numpy": {"name": "numpy", "version": "6", "file_name": "numpy-6-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
              "sha256": "kept", "depends": []},
}}


def test_startup_closure_follows_dependencies_with_normalised_names():
    assert course_lite.startup_closure(LOCK["packages"]) == ["ipython", "jedi", "micropip", "packaging",
                                                             "prompt-toolkit"]


def test_offline_lock_serves_startup_wheels_here_and_the_rest_from_the_cdn(tmp_path):
    wheel = tmp_path / "micropip-1-py3-none-any.whl"
    wheel.write_bytes(b"a wheel")
    lock = course_lite.offline_lock(LOCK, {"micropip": wheel})
    assert lock["packages"]["micropip"]["file_name"] == wheel.name
    assert lock["packages"]["micropip"]["sha256"] == hashlib.sha256(b"a wheel").hexdigest()
    numpy = lock["packages"]["numpy"]
    assert numpy["file_name"] == f"https://cdn.jsdelivr.net/pyodide/v{course_lite.PYODIDE_VERSION}/full/" \
                                 "numpy-6-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    assert numpy["sha256"] == "kept" and LOCK["packages"]["numpy"]["file_name"].startswith("numpy")


def test_pyodide_version_is_the_kernels():
    constants = pytest.importorskip("jupyterlite_pyodide_kernel.constants")
    assert course_lite.PYODIDE_VERSION == constants.PYODIDE_VERSION
    assert course_lite.PYODIDE_PYTHON == constants.PYODIDE_PYTHON_VERSION


def test_course_wheel_installs_and_imports_the_self_check(tmp_path):
    wheel = course_lite.course_wheel(ROOT, tmp_path / "dist")
    assert wheel.name == "cnn_course-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read("cnn_course-0.1.0.dist-info/METADATA").decode()
        record = zf.read("cnn_course-0.1.0.dist-info/RECORD").decode()
        zf.extractall(tmp_path / "site")
    assert {"autograder/inkernel.py", "autograder/check_report.py", "solutions/__init__.py"} <= names
    assert {n.split("/")[0] for n in names} == {"autograder", "solutions", "cnn_course-0.1.0.dist-info"}
    assert not [n for n in names if n.startswith(("autograder/checks", "autograder/exercises", "autograder/cli"))]
    assert "solutions/conv.py" in names
    assert "Requires-Dist: numpy>=1.26" in metadata
    assert all(f"{n}," in record for n in names)
    done = subprocess.run([sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                           "import autograder.inkernel as m; print(m.__file__)", str(tmp_path / "site")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith(str(tmp_path / "site")), done.stderr


def test_lite_exercise_adds_setup_first_and_self_check_last():
    release = ROOT / "exercises" / "release" / EXERCISE / f"{EXERCISE}.ipynb"
    original = json.loads(release.read_text())
    nb = course_lite.lite_exercise(release)
    assert nb["cells"][0] == original["cells"][0] and nb["cells"][1]["id"] == LITE_SETUP_ID
    assert nb["cells"][-1]["id"] == LITE_CHECK_ID and f"autograder.inkernel.check('{EXERCISE}.ipynb')" in nb["cells"][-1]["source"]
    assert nb["cells"][2:-1] == original["cells"][1:]


@pytest.mark.slow
def test_a_finished_lite_notebook_checks_as_the_release_does(tmp_path):
    """What a student downloads from the Lite app runs in CPython as the release notebook does: the
    two Lite cells do nothing outside a browser."""
    nb = course_lite.lite_exercise(ROOT / "exercises" / "release" / EXERCISE / f"{EXERCISE}.ipynb")
    code = solutions(EXERCISE)
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in code and cell["metadata"]["nbgrader"].get("solution"):
            cell["source"] = code[grade_id]
    path = tmp_path / f"{EXERCISE}.ipynb"
    path.write_text(json.dumps(nb))
    results = run_checks(path)
    assert results and all(r.status is CheckStatus.PASS for r in results), results


@pytest.mark.parametrize("number", range(1, 9))
def test_lite_cells_change_nothing_the_grader_sees(number, tmp_path):
    """Downloaded from the browser, a solved exercise merges with the release as the original does
    (the Lite cells are extra unlocked cells) and the shortcut scan finds nothing in them."""
    import nbformat

    from autograder import scan
    from autograder.repair import load_submission
    from autograder.stages.prepare import merge_with_release

    release_path = course_lite.exercise_for(ROOT, f"book/{number:02d}-x")
    nb = course_lite.lite_exercise(release_path)
    code = solutions(release_path.stem)
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = code[cell["metadata"]["nbgrader"]["grade_id"]]
    (tmp_path / release_path.name).write_text(json.dumps(nb))
    submitted, repairs = load_submission(tmp_path / release_path.name)
    merged, notes = merge_with_release(submitted, nbformat.read(release_path, as_version=4))
    assert not repairs and not notes, (repairs, notes)
    assert [c.id for c in merged.cells if c.id in (LITE_SETUP_ID, LITE_CHECK_ID)] == [LITE_SETUP_ID, LITE_CHECK_ID]
    sources = [c.source for c in merged.cells if c.cell_type == "code"
               and not c.metadata.get("nbgrader", {}).get("locked")]
    for function in code:
        assert not scan.scan(sources, function, scan.NO_CONV_SHORTCUTS), function


def test_chapter_notebook_drops_build_plumbing_and_gets_the_setup():
    nb = course_lite.lite_chapter(ROOT / f"{CHAPTER}.md")
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert sources[0] == course_lite.LITE_SETUP
    assert not any(bookcheck.plumbing_in(s) for s in sources[1:]), [s for s in sources if bookcheck.plumbing_in(s)]
    assert len(sources) > 3


def test_chapter_cells_needing_tensorflow_are_flagged():
    nb = course_lite.lite_chapter(ROOT / "book" / "05-channels.md")
    cells = nb["cells"]
    flagged = [i for i, c in enumerate(cells) if "".join(c["source"]) == course_lite.NO_TENSORFLOW_NOTE]
    uses_tf = [i for i, c in enumerate(cells) if c["cell_type"] == "code"
               and course_lite._USES_TENSORFLOW.search("".join(c["source"]))]
    assert uses_tf and [i + 1 for i in flagged] == uses_tf


def test_exercise_imports_need_no_tensorflow():
    """What the Lite exercises import (the course's wheel) works with TensorFlow and Keras absent."""
    imports = {line.strip() for aid in course_lite_exercises() for cell in json.loads(aid.read_text())["cells"]
               if cell["cell_type"] == "code"
               for line in "".join(cell["source"]).splitlines() if line.startswith(("import ", "from "))}
    code = "import sys\nfor m in ('tensorflow', 'keras'):\n    sys.modules[m] = None\n" + "\n".join(sorted(imports))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (sorted(imports), done.stderr[-2000:])


def course_lite_exercises() -> list[Path]:
    found = [course_lite.exercise_for(ROOT, f"book/{n:02d}-x") for n in range(1, 9)]
    assert all(found), found
    return found


class _FakeApp:
    def __init__(self, chapters):
        self.srcdir = str(ROOT)
        self.config = type("Config", (), {"lite_chapters": chapters})()
        self.env = type("Env", (), {"all_docs": {CHAPTER: 0, course_lite.STUDENT_GUIDE: 0}})()


def _page_context():
    return {"header_buttons": [], "body": "<section><h1>2. Title</h1><p>Text</p></section>",
            "pathto": lambda name, resource=0: f"../{name}" if resource else f"../{name}.html"}


def test_launch_line_and_menu_only_with_the_switch_and_on_lite_chapters(monkeypatch):
    app = _FakeApp([CHAPTER])
    monkeypatch.delenv(course_lite.SWITCH, raising=False)
    context = _page_context()
    course_lite._add_launch_buttons(app, CHAPTER, "page.html", context, None)
    assert context == _page_context() | {"pathto": context["pathto"]}  # the default build: nothing
    monkeypatch.setenv(course_lite.SWITCH, "1")
    course_lite._add_launch_buttons(app, "book/09-keras-mnist", "page.html", context, None)
    assert not context["header_buttons"]
    course_lite._add_launch_buttons(app, CHAPTER, "page.html", context, None)
    [menu] = context["header_buttons"]
    assert [b["url"] for b in menu["buttons"]] == [
        "../lite/lab/index.html?path=chapters/02-conv1d.ipynb", "../lite/lab/index.html?path=exercises/02-conv1d.ipynb"]
    title, rest = context["body"].split("</h1>")
    assert rest.startswith('<p class="lite-launch"><strong>Launch in browser</strong>')
    assert 'href="../book/guides/student.html#lite"' in rest and rest.endswith("<p>Text</p></section>")


def test_launch_buttons_open_the_chapter_and_its_exercise():
    buttons = course_lite.launch_buttons(ROOT, CHAPTER, "../lite/")
    assert [b["url"] for b in buttons] == ["../lite/lab/index.html?path=chapters/02-conv1d.ipynb",
                                           "../lite/lab/index.html?path=exercises/02-conv1d.ipynb"]
    assert course_lite.exercise_for(ROOT, "book/08-weight-sharing-dropout").name == \
        "08-dropout-weight-sharing.ipynb"
    assert course_lite.exercise_for(ROOT, "book/intro") is None


# --------------------------------------------------------------------------- a built site
def _can_build() -> str | None:
    for module in ("jupyterlite_core", "jupyterlite_pyodide_kernel"):
        if importlib.util.find_spec(module) is None:
            return f"{module} not installed (requirements.txt)"
    return None if shutil.which("npm") else "npm not installed"


@pytest.fixture(scope="module")
def lite_site(tmp_path_factory) -> Path:
    """A Lite site for one chapter and its exercise, at ``site/lite`` (downloads cached in _build)."""
    missing = _can_build()
    if missing:
        pytest.skip(missing)
    site = tmp_path_factory.mktemp("lite-site")
    course_lite.build_lite(ROOT, ROOT / "_build" / "vendor" / "lite", site / "lite", [CHAPTER])
    shutil.copy(ROOT / "book" / "_static" / "favicon.svg", site / "favicon.ico")  # as the book's root has
    return site


@pytest.mark.slow
def test_lite_site_has_pyodide_the_wheels_and_the_notebooks(lite_site):
    lite = lite_site / "lite"
    config = json.loads((lite / "jupyter-lite.json").read_text())["jupyter-config-data"]
    settings = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert settings["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert sorted(e["name"] for e in config["federated_extensions"]) == sorted(
        n for n in course_lite.LAB_EXTENSIONS if any(lite.glob(f"extensions/{n}/package.json")))
    lock = json.loads((lite / "static" / "pyodide" / "pyodide-lock.json").read_text())
    for name in course_lite.startup_closure(lock["packages"]):
        entry = lock["packages"][name]
        assert course_lite.sha256(lite / "static" / "pyodide" / entry["file_name"]) == entry["sha256"]
    assert lock["packages"]["numpy"]["file_name"].startswith(course_lite.PYODIDE_CDN)
    served = {p.name for p in (lite / "static" / "pyodide").iterdir()}
    assert served == set(course_lite.PYODIDE_FILES) | {
        lock["packages"][n]["file_name"] for n in course_lite.startup_closure(lock["packages"])}
    wheels = json.loads(next((lite / "pypi").glob("all.json")).read_text())
    assert {"cnn-course", "comm"} <= set(wheels)
    assert (lite / "files" / "exercises" / f"{EXERCISE}.ipynb").exists()
    assert (lite / "files" / "chapters" / "02-conv1d.ipynb").exists()
    size_mb = sum(p.stat().st_size for p in lite.rglob("*") if p.is_file()) / 1e6
    print(f"Lite site: {size_mb:.0f} MB")
    assert size_mb < 60


# ---------------------------------------------------------------------- in headless Chromium
_JS_EXECUTE = r"""
const [code, done] = [arguments[0], arguments[arguments.length - 1]];
(async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  await panel.sessionContext.ready;
  const future = panel.sessionContext.session.kernel.requestExecute({code: code});
  const out = [];
  future.onIOPub = (msg) => {
    const c = msg.content;
    if (c.text) { out.push(c.text); }
    if (c.data && c.data['text/plain']) { out.push(c.data['text/plain']); }
    if (c.ename) { out.push('ERROR ' + c.ename + ': ' + c.evalue); }
  };
  await future.done;
  return out.join('');
})().then(done, (e) => done('JS error: ' + e));
"""
_JS_OPEN_PATH = """
const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
return w && w.context ? w.context.path : null;
"""

# The self-check's runner in the kernel, on a pure-Python notebook written to the browser's drive.
SELF_CHECK_IN_KERNEL = r"""
import json
from autograder.inkernel import check
cells = [{"cell_type": "code", "id": i, "source": s, "metadata": m, "outputs": [], "execution_count": None}
         for i, s, m in [("work", "def double(x):\n    return x + x", {}),
                         ("test_ok", "assert double(2) == 4, 'double(2) should be 4'",
                          {"nbgrader": {"grade": True, "grade_id": "test_ok", "points": 1}}),
                         ("test_bad", "assert double(3) == 7, 'double(3) should be 7'",
                          {"nbgrader": {"grade": True, "grade_id": "test_bad", "points": 2}})]]
with open("pure.ipynb", "w") as f:
    json.dump({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, f)
check("pure.ipynb")
"""


@pytest.mark.slow
@pytest.mark.browser
def test_lite_app_opens_the_exercise_and_runs_the_self_check_offline(lite_site):
    if bookcheck.chromium_paths() is None:
        pytest.skip("chromium/chromedriver not installed (make chromium installs them)")
    with tempfile.TemporaryDirectory(prefix="lite-chromium-") as profile, \
            bookcheck.StaticServer(lite_site) as server:
        driver = bookcheck.start_chromium(Path(profile))
        driver.set_script_timeout(240)  # the kernel's first start unpacks Pyodide
        try:
            driver.get(f"{server.url}lite/lab/index.html?path=exercises/{EXERCISE}.ipynb")
            deadline = time.monotonic() + 120
            while driver.execute_script(_JS_OPEN_PATH) is None and time.monotonic() < deadline:
                time.sleep(0.5)
            opened = driver.execute_script(_JS_OPEN_PATH)
            platform = driver.execute_async_script(_JS_EXECUTE, "import sys; print(sys.platform, sys.version_info[:2])")
            # Offline: the course's wheel alone, without NumPy & co. from the CDN.
            installed = driver.execute_async_script(
                _JS_EXECUTE, "import piplite\nawait piplite.install('cnn-course', deps=False)\nimport os\nprint(os.getcwd())")
            pure = driver.execute_async_script(_JS_EXECUTE, SELF_CHECK_IN_KERNEL)
            exercise = driver.execute_async_script(
                _JS_EXECUTE, f"from autograder.inkernel import check\ncheck({EXERCISE + '.ipynb'!r})")
            log = driver.get_log("browser")
        finally:
            driver.quit()
    failed = [r for r in server.requests if r[1] >= 400]
    served = {path for path, status in server.requests if status == 200}
    print(f"first visit: {len(served)} files, "
          f"{sum(bookcheck.local_file_for(lite_site, p).stat().st_size for p in served) / 1e6:.1f} MB from the site")
    severe = [e["message"] for e in log if e.get("level") == "SEVERE"]
    assert opened == f"exercises/{EXERCISE}.ipynb", (opened, severe, failed)
    assert platform.strip() == "emscripten (3, 14)", (platform, severe)
    assert installed.strip() == "/drive/exercises", installed
    assert "[PASS] test_ok (1 pt)" in pure and "[FAIL] test_bad (2 pt): AssertionError: double(3) should be 7" in pure
    assert "1/2 visible test cells pass" in pure, pure
    # The opened exercise, read from the drive: every test cell reported (failing here: no NumPy offline).
    release = json.loads((ROOT / "exercises" / "release" / EXERCISE / f"{EXERCISE}.ipynb").read_text())
    test_cells = [c["metadata"]["nbgrader"]["grade_id"] for c in release["cells"]
                  if c["metadata"].get("nbgrader", {}).get("grade")]
    assert test_cells and all(f"] {cell} (" in exercise for cell in test_cells), exercise
    assert "[ERROR] cell 'setup': ModuleNotFoundError: No module named 'numpy'" in exercise, exercise
    lock = json.loads((lite_site / "lite" / "static" / "pyodide" / "pyodide-lock.json").read_text())
    from_site = {f"/lite/static/pyodide/{lock['packages'][n]['file_name']}"
                 for n in course_lite.startup_closure(lock["packages"])}
    from_site |= {f"/lite/pypi/{p.name}" for p in (lite_site / "lite" / "pypi").glob("*.whl")}
    assert from_site <= served, sorted(from_site - served)  # the kernel started on the site's wheels
    assert not failed and not severe, (failed, severe)
