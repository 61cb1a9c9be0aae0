"""Sphinx glue for this book (loaded through ``sphinx.local_extensions`` in ``_config.yml``).

1. Offline MathJax. Sphinx loads MathJax from a CDN by default, so a reader without a network (or
   the offline browser test) sees raw TeX. ``mathjax_path`` in ``_config.yml`` points at
   ``_static/mathjax/tex-chtml.js``; this extension copies MathJax 3.2.2 there from the
   ``sphinx-mathjax-offline`` PyPI package (pinned in requirements.txt), skipping the combined
   bundles the book does not load.
2. No duplicate inline scripts. Jupyter Book 1.0.4 with Sphinx 7.4 emits the inline set-up scripts of
   sphinx-thebe and sphinx-togglebutton twice on every page; the second ``const THEBE_JS_URL`` is a
   JavaScript SyntaxError in the reader's console. Identical scripts are kept once.
3. Offline ipywidgets. Pages with saved widget state load require.js and the Jupyter widget
   html-manager. myst-nb takes them from CDNs; this extension fetches the pinned npm packages once
   with ``npm pack`` (the npm registry, checked against its integrity hashes) into
   ``_build/vendor/`` and serves them from ``_static/vendor/``. Without npm (or offline on a first
   build) it leaves myst-nb's CDN URLs in place, which work for readers online.
4. Quick builds. jupyter-cache keys on a chapter's code, not on CNN_COURSE_QUICK, so outputs
   cached by a quick build would be served to a full build in the same output folder. A quick
   build therefore caches in ``.jupyter_cache-quick`` beside the usual ``.jupyter_cache``, and runs
   with a per-cell timeout of QUICK_CELL_TIMEOUT_S instead of the full build's.
5. Colab links. The chapters are MyST text notebooks (``.md``) and Colab only opens ``.ipynb``, so
   the Colab launch button is pointed at the executed notebook that the deploy workflow publishes
   on the ``colab_branch`` (the GitHub Pages branch) under ``_sources/``. Those published notebooks
   get a first cell that, on Colab only, installs the course package the chapters import, and the
   outputs myst-nb leaves out of them when a chapter comes from the execution cache.
6. The build's kernel. ``jupyter/kernels/python3`` beside this file replaces the ``python3`` kernel
   for the build: it leaves what C libraries write to file descriptor 2 in the build log instead of
   the cells (see ``use_build_kernel``).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.fileutil import copy_asset

LOGGER = logging.getLogger(__name__)
QUICK_CELL_TIMEOUT_S = 600

MATHJAX_PACKAGE = "sphinx-mathjax-offline"
# Combined bundles other than tex-chtml.js: never loaded by this book, 10+ MB together.
_UNUSED_BUNDLES = {
    "latest.js", "mml-chtml.js", "mml-svg.js", "node-main.js", "tex-chtml-full-speech.js",
    "tex-chtml-full.js", "tex-mml-chtml.js", "tex-mml-svg.js", "tex-svg-full.js", "tex-svg.js",
}


def mathjax_source() -> Path:
    """Directory holding the MathJax 3 distribution shipped by ``sphinx-mathjax-offline``."""
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError(
            f"MathJax for offline use comes from the PyPI package {MATHJAX_PACKAGE!r}; "
            "install the pinned requirements (make book does it)."
        )
    return Path(spec.origin).parent / "static" / "mathjax"


def _copy_mathjax(app: Sphinx, exc: Exception | None) -> None:
    if app.builder.format != "html" or "://" in app.config.mathjax_path:
        return
    source = mathjax_source()
    copy_asset(
        str(source),
        str(Path(app.outdir) / "_static" / "mathjax"),
        # copy_asset passes paths relative to ``source``; skip the top-level bundles we never load.
        excluded=lambda rel: Path(rel).parent == Path(".") and Path(rel).name in _UNUSED_BUNDLES,
    )


# npm package -> (pinned version, files to keep from it, folder under _static/vendor/)
WIDGET_PACKAGES = {
    "requirejs": ("2.3.7", ("require.js",), ""),
    # html-manager 1.0.x is the embedder of the ipywidgets 8 series; its fonts sit beside it.
    "@jupyter-widgets/html-manager": (
        "1.0.15", ("dist/embed-amd.js", "dist/*.woff", "dist/*.woff2", "dist/*.ttf", "dist/*.eot",
                   "dist/*.svg"), "html-manager"),
}


def widget_vendor_dir(app: Sphinx) -> Path:
    return Path(app.srcdir) / "_build" / "vendor"


def _fetch_widget_js(vendor: Path) -> bool:
    """Unpack the pinned npm packages into ``vendor``; False if npm is missing or fails."""
    npm = shutil.which("npm")
    if npm is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        specs = [f"{name}@{version}" for name, (version, _, _) in WIDGET_PACKAGES.items()]
        done = subprocess.run([npm, "pack", "--silent", *specs], cwd=tmp, capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            LOGGER.info(f"[course_book] npm pack failed, widgets load from CDNs: {done.stderr[-300:]}")
            return False
        for tarball, (_, patterns, folder) in zip(done.stdout.split(), WIDGET_PACKAGES.values()):
            copy_from_npm_tarball(Path(tmp) / tarball, patterns, vendor / folder)
    return True


def copy_from_npm_tarball(tarball: Path, patterns: tuple[str, ...], dest: Path) -> list[Path]:
    """Copy the regular files of an npm tarball whose path under ``package/`` matches one of the
    glob ``patterns`` (``*`` within one folder) into ``dest``, flat; return the files written.

    Nothing is extracted as the archive says: each kept member is read and written under its own
    base name, so links, devices and names like ``../x`` or ``/x`` can never write outside ``dest``.
    That needs no ``extractall(filter=...)``, which Python lacks before 3.11.4 (Debian 12 has 3.11.2).
    """
    written = []
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            path = PurePosixPath(member.name)
            if not member.isfile() or path.parts[:1] != ("package",):
                continue
            inside = PurePosixPath(*path.parts[1:])
            if not any(inside.parent == PurePosixPath(pattern).parent
                       and fnmatch.fnmatchcase(inside.name, PurePosixPath(pattern).name)
                       for pattern in patterns):
                continue
            dest.mkdir(parents=True, exist_ok=True)
            target = dest / inside.name
            with tar.extractfile(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            written.append(target)
    return written


def _use_local_widget_js(app: Sphinx, config) -> None:
    scripts = {"mathjax2-shim.js": {}}  # from book/_static; needed with local and CDN managers alike
    vendor = widget_vendor_dir(app)
    entry_points = [vendor / "require.js", vendor / "html-manager" / "embed-amd.js"]
    if all(p.exists() for p in entry_points) or _fetch_widget_js(vendor):
        scripts.update({
            "vendor/require.js": {},
            "widgets-local.js": {},
            # Widget modules not bundled with the manager (none used here) would come from the CDN.
            "vendor/html-manager/embed-amd.js": {"data-jupyter-widgets-cdn": "https://cdn.jsdelivr.net/npm/"},
        })
    else:
        scripts.update(config.nb_ipywidgets_js)
    config.nb_ipywidgets_js = scripts


def _copy_widget_js(app: Sphinx, exc: Exception | None) -> None:
    vendor = widget_vendor_dir(app)
    if app.builder.format == "html" and vendor.is_dir() and "vendor/require.js" in app.config.nb_ipywidgets_js:
        copy_asset(str(vendor), str(Path(app.outdir) / "_static" / "vendor"))


def _colab_opens_ipynb(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Rewrite the Colab button of a text notebook to the executed ``.ipynb`` on the Pages branch."""
    branch = app.config.colab_branch
    ipynb = context.get("ipynb_source")  # set by sphinx-book-theme for .md notebooks
    if not branch or not ipynb:
        return
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            url = button.get("url", "")
            if button.get("text") == "Colab" and "/blob/" in url:
                repo_part = url.split("/blob/")[0]
                button["url"] = f"{repo_part}/blob/{branch}/_sources/{ipynb}"


COLAB_SETUP = """\
# On Google Colab only: install this course's code (the `solutions` package the chapter imports),
# as it was when this notebook was built.
import sys
if "google.colab" in sys.modules:
    %pip install --quiet "cnn-course @ git+{repository}@{ref}"
"""


def built_commit(root: Path) -> str | None:
    """The commit the book is built from, or None outside a git checkout or with uncommitted changes
    to the code the chapters import (then no commit holds what the notebook ran)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)

    head = git("rev-parse", "HEAD")
    if head.returncode != 0 or git("diff", "--quiet", "HEAD", "--", "solutions", "pyproject.toml").returncode != 0:
        return None
    return head.stdout.strip()


def _cached_outputs(app: Sphinx, nb):
    """``nb`` with the outputs jupyter-cache holds for its code, or None.

    myst-nb 1.4 writes a chapter served from the execution cache to ``jupyter_execute/`` without
    its outputs (it saves the notebook it read, not the one merged with the cache), and
    sphinx-book-theme publishes that copy behind the download and Colab buttons.
    """
    from jupyter_cache import get_cache

    path = app.env.mystnb_config.execution_cache_path or Path(app.outdir).parent / ".jupyter_cache"
    if not Path(path).is_dir():
        return None
    try:
        return get_cache(str(path)).merge_match_into_notebook(nb)[1]
    except KeyError:  # not in the cache (e.g. excluded from execution)
        return None


def _finish_published_notebooks(app: Sphinx, exc: Exception | None) -> None:
    """Give the published ``.ipynb`` copies their outputs and a Colab set-up cell."""
    import nbformat

    repository = app.config.html_theme_options.get("repository_url", "")
    branch = app.config.html_theme_options.get("repository_branch", "main")
    sources = Path(app.outdir) / "_sources"
    if app.builder.format != "html" or not repository or not sources.is_dir():
        return
    ref = built_commit(Path(app.srcdir)) or branch
    setup = nbformat.v4.new_code_cell(COLAB_SETUP.format(repository=repository, ref=ref))
    setup.id = "colab-setup"
    for path in sources.rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        if any(cell.get("id") == "colab-setup" for cell in nb.cells):
            continue  # done by an earlier build (incremental builds keep unchanged copies)
        if not any(cell.get("outputs") for cell in nb.cells):
            nb = _cached_outputs(app, nb) or nb
        after_title = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
        nb.cells.insert(after_title, setup)
        nbformat.write(nb, path)


def _drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                            doctree) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        # Inline scripts come once with filename None and once with "" (registered twice).
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(
            (name, str(value)) for name, value in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _quick_build_settings(app: Sphinx, config) -> None:
    from solutions.config import quick_mode

    if not quick_mode():
        return
    if not config.nb_execution_cache_path:
        config.nb_execution_cache_path = str(Path(app.outdir).parent / ".jupyter_cache-quick")
    # No quick-mode cell needs minutes; a stuck kernel should fail the build long before the
    # full-mode limit (sized for 30 minutes of CIFAR-10 training) runs out.
    config.nb_execution_timeout = min(config.nb_execution_timeout, QUICK_CELL_TIMEOUT_S)


# The chapters' kernel for the build: Python's own stderr (warnings, tracebacks) stays in the cell,
# where -W turns it into an error, but what C libraries write to file descriptor 2 goes to the build
# log. TensorFlow logs its oneDNN notice there before absl's logging is set up, where no
# TF_CPP_MIN_LOG_LEVEL filters it (on CPUs with AVX-512, where oneDNN is on by default).
BUILD_KERNELS = Path(__file__).parent / "jupyter"


def use_build_kernel() -> None:
    """Make ``python3`` name the build's kernel in this process and the ones it starts."""
    paths = os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
    if str(BUILD_KERNELS) not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([str(BUILD_KERNELS), *filter(None, paths)])


def setup(app: Sphinx) -> dict:
    # Kernels inherit this process's environment; level 2 quietens TensorFlow's C++ logging once
    # absl is set up and keeps its real errors.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    use_build_kernel()
    app.add_config_value("colab_branch", "gh-pages", "html")
    app.connect("build-finished", _copy_mathjax)
    app.connect("config-inited", _use_local_widget_js)
    app.connect("config-inited", _quick_build_settings)
    app.connect("build-finished", _copy_widget_js)
    app.connect("build-finished", _finish_published_notebooks)
    # sphinx-book-theme adds the launch buttons at priority 501; run after it.
    app.connect("html-page-context", _colab_opens_ipynb, priority=600)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
