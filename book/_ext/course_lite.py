"""Parts I-II in the browser: a JupyterLite site inside the built book, and its launch buttons.

Switched on by ``CNN_COURSE_LITE=1`` (off by default: the build then needs npm and PyPI, and
``jupyterlite-core`` and ``jupyterlite-pyodide-kernel`` from requirements.txt). At the end of an
HTML build it runs ``jupyter lite build`` into ``lite/`` of the output with

* the exercise notebooks of ``lite_chapters`` (``exercises/NN-*.ipynb``: the release notebook with a
  first cell that installs the course in the tab and a last cell running the self-check,
  :mod:`autograder.inkernel`) and the chapters themselves (``chapters/NN-*.ipynb``, without their
  build-plumbing ``remove-cell`` cells);
* Pyodide's core from the npm package ``pyodide`` (runtime, wasm, standard library, lock file),
  the pure-Python wheels the kernel needs to start (micropip, IPython and their dependencies, taken
  from PyPI at the versions of Pyodide's lock file, which is re-pointed at them) and the course's own
  wheel (``solutions`` and ``autograder``, made here from the checkout). Every other package in the
  lock file (NumPy, SciPy, Matplotlib, ...) points at Pyodide's CDN, where readers' browsers fetch
  it on first use.

Chapter pages of ``lite_chapters`` get a "Launch in browser" button group opening the chapter and
its exercise there. Downloads are cached in ``_build/vendor/lite/`` and checked against the
registries' hashes (npm's integrity, the lock file's sha256 where PyPI's wheel is the same file).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

from course_book import copy_from_npm_tarball  # book/_ext is on sys.path, as for every local extension

SWITCH = "CNN_COURSE_LITE"

#: The Pyodide that jupyterlite-pyodide-kernel 0.8.6 is built for (its constants.PYODIDE_VERSION).
PYODIDE_VERSION = "314.0.6"
PYODIDE_PYTHON = "3.14"  # the Python inside that Pyodide: wheels are chosen for it, not for the build's
PYODIDE_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
#: What the kernel loads from the lock file as it starts (micropip), or installs through piplite
#: (ipython, jedi); their dependencies in the lock file come too.
STARTUP_PACKAGES = ("micropip", "ipython", "jedi")
#: Kernel start-up packages missing from Pyodide's lock file: served through piplite from PyPI wheels.
PIPLITE_EXTRAS = ("comm==0.2.3",)
#: What the kernel loads of the npm package (not its consoles, typings and source maps).
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
LITE_DIR = "lite"
#: The only JupyterLab extensions of the Lite app (``--ignore-sys-prefix`` leaves out the others
#: installed beside the book's tooling, nbgrader's instructor tools among them): the kernel, and
#: the widget manager for the chapters' ipywidgets.
LAB_EXTENSIONS = ("@jupyterlite/pyodide-kernel-extension", "@jupyter-widgets/jupyterlab-manager")
#: The course's code in the kernel: the reference package the chapters import, and of the grader
#: only the self-check (grading code and hidden-test logic stay out of students' browsers).
COURSE_WHEEL_FILES = ("solutions/**/*.py", "autograder/__init__.py", "autograder/check_report.py",
                      "autograder/inkernel.py")


def lite_enabled() -> bool:
    return os.environ.get(SWITCH, "") == "1"


# ------------------------------------------------------------------------------ downloads
def vendor_dir(app: Sphinx) -> Path:
    return Path(app.srcdir) / "_build" / "vendor" / "lite"


def fetch_pyodide(cache: Path) -> Path:
    """Pyodide's core from npm, unpacked into ``cache/pyodide-VERSION`` (once); that folder."""
    dest = cache / f"pyodide-{PYODIDE_VERSION}"
    if all((dest / name).exists() for name in PYODIDE_FILES):
        return dest
    npm = shutil.which("npm")
    if npm is None:
        raise ExtensionError(f"{SWITCH}=1 needs npm, to fetch the npm package pyodide@{PYODIDE_VERSION}")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", "--silent", f"pyodide@{PYODIDE_VERSION}"], cwd=tmp,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise ExtensionError(f"npm pack pyodide@{PYODIDE_VERSION} failed: {done.stderr[-500:]}")
        unpacked = Path(tmp) / "out"
        written = copy_from_npm_tarball(Path(tmp) / done.stdout.split()[0], PYODIDE_FILES, unpacked)
        if sorted(p.name for p in written) != sorted(PYODIDE_FILES):
            raise ExtensionError(f"pyodide@{PYODIDE_VERSION} from npm lacks some of {PYODIDE_FILES}")
        shutil.rmtree(dest, ignore_errors=True)  # a partial earlier copy
        shutil.move(unpacked, dest)
    return dest


def startup_closure(packages: dict) -> list[str]:
    """Names (lock-file keys) of STARTUP_PACKAGES and everything they depend on in the lock file."""
    def key(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    todo, seen = [key(n) for n in STARTUP_PACKAGES], set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(key(d) for d in packages[name]["depends"])
    return sorted(seen)


def pip_download(specs: list[str], dest: Path) -> None:
    """Pure-Python wheels of exactly ``specs`` from PyPI (no dependencies: the lists are complete)."""
    dest.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                           "--only-binary=:all:", "--python-version", PYODIDE_PYTHON, "--dest", str(dest), *specs],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise ExtensionError(f"pip download {' '.join(specs)} failed: {done.stderr[-800:]}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def offline_lock(lock: dict, local: dict[str, Path]) -> dict:
    """Pyodide's lock file with the packages in ``local`` (lock key -> wheel beside the lock file)
    served from the site, and every other package's ``file_name`` an absolute URL on Pyodide's CDN."""
    out = json.loads(json.dumps(lock))
    for name, entry in out["packages"].items():
        if name in local:
            entry["file_name"], entry["sha256"] = local[name].name, sha256(local[name])
        elif "://" not in entry["file_name"]:
            entry["file_name"] = PYODIDE_CDN + entry["file_name"]
    return out


def startup_wheels(lock: dict, cache: Path) -> dict[str, Path]:
    """The kernel's start-up wheels from PyPI, at the lock file's versions: lock key -> wheel."""
    packages = lock["packages"]
    names = startup_closure(packages)
    wanted = {packages[n]["file_name"]: n for n in names}
    if not all((cache / f).exists() for f in wanted):
        pip_download([f"{packages[n]['name']}=={packages[n]['version']}" for n in names], cache)
    missing = [f for f in wanted if not (cache / f).exists()]
    if missing:
        raise ExtensionError(f"PyPI has no wheel named as Pyodide's lock file says: {missing}")
    return {name: cache / file for file, name in wanted.items()}


# ----------------------------------------------------------------------- the course's wheel
def course_wheel(root: Path, dest: Path) -> Path:
    """A pure-Python wheel of COURSE_WHEEL_FILES from the checkout (no build tools: the wheel
    format is a zip with metadata), with pyproject.toml's name, version and dependencies."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    name, version = project["name"].replace("-", "_"), project["version"]
    dist_info = f"{name}-{version}.dist-info"
    metadata = "\n".join(["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {version}",
                          *(f"Requires-Dist: {d}" for d in project.get("dependencies", []))]) + "\n"
    files = {f"{dist_info}/METADATA": metadata.encode(),
             f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: course_lite\nRoot-Is-Purelib: true\n"
                                   b"Tag: py3-none-any\n"}
    for pattern in COURSE_WHEEL_FILES:
        for path in sorted(root.glob(pattern)):
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    record = [f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}"
              for n, d in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in files.items():
            zf.writestr(zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0)), d)
    return wheel


# ------------------------------------------------------------------------------ notebooks
LITE_SETUP = """\
# In the browser (JupyterLite) only: install the course's code in this tab. The first run also
# downloads NumPy and friends from the Pyodide CDN, so it needs a connection. Run this cell first.
import sys
if sys.platform == "emscripten":
    %pip install -q cnn-course
"""
LITE_CHECK = """\
# Self-check in the browser: save the notebook first (Ctrl-S); this runs the saved file's visible
# tests, as `python -m autograder check` does. Then File > Download to get the .ipynb to submit.
# (No name is defined here that your functions could pick up by mistake.)
import sys
if sys.platform == "emscripten":
    import autograder.inkernel
    autograder.inkernel.check({name!r})
"""


def lite_exercise(release_nb: Path) -> dict:
    """The release notebook (JSON) with the Lite set-up cell after its title and the self-check last."""
    from autograder.inkernel import LITE_CHECK_ID, LITE_SETUP_ID

    nb = json.loads(release_nb.read_text(encoding="utf-8"))

    def cell(cell_id: str, source: str) -> dict:
        return {"cell_type": "code", "id": cell_id, "metadata": {}, "execution_count": None,
                "outputs": [], "source": source}

    after_title = 1 if nb["cells"] and nb["cells"][0]["cell_type"] == "markdown" else 0
    nb["cells"].insert(after_title, cell(LITE_SETUP_ID, LITE_SETUP))
    nb["cells"].append(cell(LITE_CHECK_ID, LITE_CHECK.format(name=release_nb.name)))
    return nb


_USES_TENSORFLOW = re.compile(r"^\s*(import|from)\s+(tensorflow|keras)\b", re.MULTILINE)
NO_TENSORFLOW_NOTE = ("**In the browser** the next cell fails: it compares with TensorFlow/Keras, which do "
                      "not run in Pyodide. The book's page shows its output; the cells after it do not need it.")


def lite_chapter(chapter_md: Path) -> dict:
    """A chapter as a notebook (JSON) without its build-plumbing cells, with the Lite set-up cell
    and a note before each cell that needs TensorFlow."""
    import jupytext
    import nbformat

    nb = jupytext.read(chapter_md)
    cells = []
    for cell in nb.cells:
        if "remove-cell" in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code" and _USES_TENSORFLOW.search(cell.source):
            cells.append(nbformat.v4.new_markdown_cell(NO_TENSORFLOW_NOTE))
        cells.append(cell)
    nb.cells = cells
    setup = nbformat.v4.new_code_cell(LITE_SETUP)
    setup.id = "lite-setup"
    nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0, setup)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
    return json.loads(nbformat.writes(nb))


def exercise_for(root: Path, docname: str) -> Path | None:
    """The release notebook of a chapter (the same number: book/02-conv1d -> exercises 02-*), or None."""
    number = PurePosixPath(docname).name.split("-")[0]
    found = sorted((root / "exercises" / "release").glob(f"{number}-*/{number}-*.ipynb"))
    return found[0] if found else None


def lite_contents(root: Path, chapters: list[str], dest: Path) -> dict[str, dict[str, str]]:
    """Write the notebooks under ``dest``; docname -> {"chapter"|"exercise": path in the Lite site}."""
    paths = {}
    for docname in chapters:
        chapter = PurePosixPath(docname).name + ".ipynb"
        (dest / "chapters").mkdir(parents=True, exist_ok=True)
        (dest / "chapters" / chapter).write_text(json.dumps(lite_chapter(root / f"{docname}.md"), indent=1))
        paths[docname] = {"chapter": f"chapters/{chapter}"}
        release = exercise_for(root, docname)
        if release is not None:
            (dest / "exercises").mkdir(parents=True, exist_ok=True)
            (dest / "exercises" / release.name).write_text(json.dumps(lite_exercise(release), indent=1))
            paths[docname]["exercise"] = f"exercises/{release.name}"
    return paths


# ---------------------------------------------------------------------------------- build
def prepare_lite_dir(root: Path, cache: Path, lite_dir: Path, chapters: list[str]) -> None:
    """Everything ``jupyter lite build`` takes: Pyodide at static/pyodide/, wheels in pypi/, files/."""
    core = fetch_pyodide(cache)
    pyodide = lite_dir / "static" / "pyodide"
    shutil.copytree(core, pyodide)
    lock = json.loads((core / "pyodide-lock.json").read_text())
    local = startup_wheels(lock, cache / "startup-wheels")
    for wheel in local.values():
        shutil.copy2(wheel, pyodide / wheel.name)
    (pyodide / "pyodide-lock.json").write_text(json.dumps(offline_lock(lock, local)))
    extras = cache / "piplite-wheels"
    if not extras.is_dir() or len(list(extras.glob("*.whl"))) < len(PIPLITE_EXTRAS):
        pip_download(list(PIPLITE_EXTRAS), extras)
    pypi = lite_dir / "pypi"
    shutil.copytree(extras, pypi)
    course_wheel(root, pypi)
    lite_contents(root, chapters, lite_dir / "files")
    # JupyterLab puts the app at window.jupyterapp only when asked: the browser test drives it there.
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(
        {"jupyter-lite-schema-version": 0, "jupyter-config-data": {"exposeAppInBrowser": True}}))


def lab_extension_dirs() -> list[Path]:
    """Installed folders of LAB_EXTENSIONS (the kernel's is required)."""
    from jupyter_core.paths import jupyter_path

    found = {}
    for base in map(Path, jupyter_path("labextensions")):
        for name in LAB_EXTENSIONS:
            if name not in found and (base / name / "package.json").exists():
                found[name] = base / name
    if LAB_EXTENSIONS[0] not in found:
        raise ExtensionError(f"{SWITCH}=1 needs jupyterlite-pyodide-kernel (requirements.txt): "
                             f"no {LAB_EXTENSIONS[0]} in {jupyter_path('labextensions')}")
    return list(found.values())


def build_lite(root: Path, cache: Path, output: Path, chapters: list[str]) -> None:
    """``jupyter lite build`` of the Parts I-II site into ``output``."""
    with tempfile.TemporaryDirectory(prefix="course-lite-") as tmp:
        lite_dir = Path(tmp) / "lite"
        prepare_lite_dir(root, cache, lite_dir, chapters)
        shutil.rmtree(output, ignore_errors=True)
        done = subprocess.run(
            [sys.executable, "-m", "jupyterlite_core", "build", "--lite-dir", str(lite_dir),
             "--output-dir", str(output), "--contents", str(lite_dir / "files"), "--apps", "lab",
             "--no-sourcemaps", "--no-unused-shared-packages", "--ignore-sys-prefix",
             *(f"--LiteBuildConfig.federated_extensions={d}" for d in lab_extension_dirs())],
            cwd=lite_dir, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            raise ExtensionError(f"jupyter lite build failed:\n{(done.stdout + done.stderr)[-3000:]}")


def _build_lite_site(app: Sphinx, exc: Exception | None) -> None:
    if exc is not None or app.builder.format != "html" or not lite_enabled():
        return
    build_lite(Path(app.srcdir), vendor_dir(app), Path(app.outdir) / LITE_DIR, app.config.lite_chapters)


# ------------------------------------------------------------------------- launch buttons
def launch_buttons(root: Path, docname: str, lite_root: str) -> list[dict]:
    """The "Launch in browser" links of a chapter page (``lite_root``: the Lite site's URL from it)."""
    buttons = [("Chapter in the browser", f"chapters/{PurePosixPath(docname).name}.ipynb")]
    release = exercise_for(root, docname)
    if release is not None:
        buttons.append((f"Exercise {release.stem} in the browser", f"exercises/{release.name}"))
    return [{"type": "link", "text": text, "tooltip": f"{text} (JupyterLite: nothing to install)",
             "icon": "fas fa-laptop-code", "url": f"{lite_root}lab/index.html?path={path}",
             "label": "launch-lite"} for text, path in buttons]


STUDENT_GUIDE = "book/guides/student"  # its section labelled (lite)= says what a reader needs


def launch_banner(buttons: list[dict], guide_url: str | None) -> str:
    """The line under a chapter's title with the same links as its "Launch in browser" menu."""
    links = " · ".join(f'<a class="reference external" href="{html.escape(b["url"])}">{html.escape(b["text"])}</a>'
                       for b in buttons)
    guide = f'<a class="reference internal" href="{html.escape(guide_url)}">how it works</a>' if guide_url \
        else "nothing to install"
    return f'<p class="lite-launch"><strong>Launch in browser</strong> ({guide}): {links}</p>'



def _add_launch_buttons(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not lite_enabled() or pagename not in app.config.lite_chapters or "header_buttons" not in context:
        return
    buttons = launch_buttons(Path(app.srcdir), pagename, context["pathto"](f"{LITE_DIR}/", 1))
    context["header_buttons"].append({
        "type": "group", "tooltip": "Launch in browser", "icon": "fas fa-laptop-code",
        "label": "launch-lite-buttons", "buttons": buttons})
    body = context.get("body", "")
    end_of_title = body.find("</h1>")
    if end_of_title >= 0:
        cut = end_of_title + len("</h1>")
        guide = context["pathto"](STUDENT_GUIDE) + "#lite" if STUDENT_GUIDE in app.env.all_docs else None
        context["body"] = body[:cut] + launch_banner(buttons, guide) + body[cut:]


def setup(app: Sphinx) -> dict:
    app.add_config_value("lite_chapters", [], "html")
    app.connect("build-finished", _build_lite_site)
    # sphinx-book-theme adds its header buttons at priority 501; add ours after.
    app.connect("html-page-context", _add_launch_buttons, priority=610)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
