"""Building the book and checking the built HTML in headless Chromium, as a reader would see it.

Used by tests/book_fixtures.py, tests/test_book_build.py and tests/test_browser.py. Everything here is
offline: the site is served from 127.0.0.1 and Chromium is told not to reach out anywhere else, so a
page that still depends on a CDN (MathJax, require.js, the widget manager) shows up as console errors
or untypeset math.
"""

from __future__ import annotations

import functools
import html
import html.parser
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
WIDGET_STATE_TYPE = "application/vnd.jupyter.widget-state+json"
# Where a page's source imports ipywidgets, its saved widget state must be embedded in the HTML.
_USES_WIDGETS = re.compile(r"^\s*(import ipywidgets|from ipywidgets import)", re.MULTILINE)


# --------------------------------------------------------------------------------------- build
@dataclass
class BookBuild:
    """Outcome of one ``jupyter-book build``: where the HTML is, the TOC used, and the log."""

    html_dir: Path
    toc: Path
    returncode: int
    log: str
    seconds: float

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.splitlines()[-lines:])


def env_outside_pytest() -> dict[str, str]:
    """This process's environment without pytest's marker. ipykernel does not forward what C code
    writes to file descriptor 2 into cells when PYTEST_CURRENT_TEST is set, so a build started from
    a test with it hid TensorFlow's start-up lines that fail ``make book``."""
    return {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}


def build_book(path_output: Path, toc: Path, *, quick: bool, timeout: float) -> BookBuild:
    """Build the book as ``make book`` does, into ``path_output/_build/html``.

    Runs the Makefile's own build step (``make book-html``, the recipe of ``make book`` without its
    virtual-environment step) with the running interpreter's environment, so the test suite builds
    with the README's command and the README's environment, plus only ``CNN_COURSE_QUICK``.
    ``quick`` sets CNN_COURSE_QUICK=1. Each mode needs its own ``path_output``: the jupyter-cache
    lives there, and a quick-mode cache must never serve outputs to the published full build.
    """
    env = env_outside_pytest()
    if quick:
        env["CNN_COURSE_QUICK"] = "1"
    else:
        env.pop("CNN_COURSE_QUICK", None)
    cmd = ["make", "--no-print-directory", "book-html", f"BIN={Path(sys.executable).parent}",
           f"BOOK_OUTPUT={path_output}", f"BOOK_TOC={toc}"]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)
        returncode, log = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        returncode, log = -1, out + f"\n[timed out after {timeout:.0f} s]"
    return BookBuild(Path(path_output) / "_build" / "html", Path(toc), returncode, log,
                     time.monotonic() - start)


def toc_pages(toc: Path) -> list[str]:
    """Docnames (``book/02-conv1d``) of every page in a jb-book ``_toc.yml``, root first."""
    data = yaml.safe_load(Path(toc).read_text())
    pages = [data["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(data.get("chapters"))
    for part in data.get("parts") or []:
        walk(part.get("chapters"))
    return [posixpath.splitext(p)[0] for p in pages]


def numbered_chapters(toc: Path) -> dict[str, int]:
    """Docname -> chapter number of the chapters in the numbered parts of a jb-book ``_toc.yml``.

    Numbering runs on across parts (Jupyter Book's ``use_multitoc_numbering``, on by default) and
    skips the parts without ``numbered``, as Sphinx numbers them.
    """
    data = yaml.safe_load(Path(toc).read_text())
    numbers: dict[str, int] = {}
    for part in data.get("parts") or []:
        if part.get("numbered"):
            for entry in part.get("chapters") or []:
                numbers[posixpath.splitext(entry["file"])[0]] = len(numbers) + 1
    return numbers


def page_source(docname: str) -> Path | None:
    for suffix in (".md", ".ipynb"):
        path = ROOT / f"{docname}{suffix}"
        if path.exists():
            return path
    return None


def uses_widgets(docname: str) -> bool:
    source = page_source(docname)
    return bool(source and _USES_WIDGETS.search(source.read_text()))


# ------------------------------------------------------------------------------ build plumbing
# Code that a chapter runs only for the build, in cells tagged ``remove-cell`` and never shown to
# readers (README, "Writing a chapter"): name -> how to spot it in code.
PLUMBING = {
    "glue(...)": re.compile(r"\bglue\s*\("),
    "importing glue": re.compile(r"\bsolutions\.book\b|\bmyst_nb\b"),
    "plotting.use_book_style()": re.compile(r"\buse_book_style\b"),
    "os.environ set-up": re.compile(r"\bos\.environ\b"),
    "import solutions._tf": re.compile(r"\bsolutions\._tf\b"),
}
HIDDEN_TAGS = frozenset({"remove-cell", "remove-input"})
# What a hidden cell must not do: show something a reader would then miss.
SHOWS = re.compile(r"\b(print|display)\s*\(|\bplt\.|\bplotting\.(?!use_book_style\b)|\.summary\(")
_SHOWN_CODE = re.compile(r'<div class="cell_input[^"]*">\s*<div class="highlight[^"]*">'
                         r'<div class="highlight"><pre>(.*?)</pre>', re.S)


def plumbing_in(code: str) -> list[str]:
    """Names of the PLUMBING kinds that ``code`` contains."""
    return [name for name, pattern in PLUMBING.items() if pattern.search(code)]


@dataclass
class CodeCell:
    source: str
    tags: frozenset[str]

    @property
    def hidden(self) -> bool:
        return bool(self.tags & HIDDEN_TAGS)


def code_cells(docname: str) -> list[CodeCell]:
    """The code cells of a page's source (a MyST notebook), with their tags."""
    import jupytext

    nb = jupytext.read(page_source(docname))
    return [CodeCell(cell.source, frozenset(cell.metadata.get("tags", [])))
            for cell in nb.cells if cell.cell_type == "code"]


def shown_code(page_html: str) -> list[str]:
    """The plain text of every code cell input in a built page (hide-input ones included)."""
    return [html.unescape(re.sub(r"<[^>]+>", "", block)) for block in _SHOWN_CODE.findall(page_html)]


# -------------------------------------------------------------------------------------- server
class StaticServer:
    """Serve a directory on 127.0.0.1 at a free port in a thread; log (path, status) of each request."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.requests: list[tuple[str, int]] = []
        log = self.requests

        class Handler(SimpleHTTPRequestHandler):
            def log_request(self, code="-", size="-"):
                log.append((unquote(urlsplit(self.path).path), int(getattr(code, "value", code))))

            def log_message(self, *args):  # keep pytest output clean
                pass

            def end_headers(self):
                # No browser cache: every visit is a fresh 200, never a 304 from an earlier page.
                self.send_header("Cache-Control", "no-store")
                super().end_headers()

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # The browser may drop a request it no longer needs (broken pipe); not a defect.
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self._httpd = Server(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(self.directory)))
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> "StaticServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


# ------------------------------------------------------------------------------------- browser
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-quic", "--disable-dev-shm-usage", "--window-size=1280,1600"]


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) executables of Debian's chromium + chromium-driver, or None if missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def start_chromium(user_data_dir: Path):
    """Headless Chromium through Selenium, with the browser console log recorded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    paths = chromium_paths()
    if paths is None:
        raise RuntimeError("chromium and chromedriver are not installed (make chromium)")
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path keeps Selenium Manager from trying to download one.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=paths[1]))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    return driver


class _IdCollector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def _ids_in(path: Path) -> frozenset[str]:
    parser = _IdCollector()
    parser.feed(path.read_text(errors="replace"))
    return frozenset(parser.ids)


def local_file_for(html_dir: Path, url_path: str) -> Path:
    target = html_dir / unquote(url_path).lstrip("/")
    return target / "index.html" if target.is_dir() else target


# JavaScript run in the page. Each returns plain JSON-able data.
_JS_WAIT_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) { done('no MathJax'); return; }
MathJax.startup.promise.then(() => done('ok'), (e) => done('MathJax failed: ' + e));
"""
_JS_FACTS = """
const imgs = Array.from(document.images).map(i => ({src: i.getAttribute('src'), alt: i.alt,
    ok: i.complete && i.naturalWidth > 0}));
const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));
return {
  imgs: imgs, links: links,
  math: document.querySelectorAll('.math').length,
  typeset: document.querySelectorAll('mjx-container').length,
  math_errors: Array.from(document.querySelectorAll('mjx-merror')).map(e =>
      e.getAttribute('data-mjx-error') || e.textContent),
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  widget_state: document.querySelectorAll('script[type="%s"]').length,
  widgets_rendered: document.querySelectorAll('.jupyter-widgets').length,
};
""" % WIDGET_STATE_TYPE
# Each AMD module of the widget manager's bundle loads its icon fonts from the folder of the URL
# require.js gives its id (webpack's public path): every one must lie where the fonts are shipped.
_JS_WIDGET_MODULE_URLS = """
if (!window.require || !require.s) { return null; }
return Object.keys(require.s.contexts._.defined).filter(id => id.startsWith('@jupyter-widgets/'))
    .map(id => [id, new URL(require.toUrl(id + '.js'), document.location).href]);
"""
_JS_TOGGLES = """
// Collapsible blocks: togglebutton admonitions (e.g. solutions with :class: dropdown) and <details>.
const out = [];
document.querySelectorAll('.admonition.toggle, .admonition.dropdown').forEach((el, i) => {
  out.push({kind: 'admonition', index: i, id: el.id || el.className});
});
document.querySelectorAll('main details').forEach((el, i) => {
  out.push({kind: 'details', index: i, id: el.id || el.className});
});
return out;
"""


def _toggle_body(driver, kind: str, index: int):
    from selenium.webdriver.common.by import By

    if kind == "admonition":
        box = driver.find_elements(By.CSS_SELECTOR, ".admonition.toggle, .admonition.dropdown")[index]
        button = box.find_element(By.CSS_SELECTOR, "button.toggle-button")
        body = box.find_elements(By.XPATH, "./*[not(contains(@class, 'admonition-title'))"
                                           " and not(self::button)]")[0]
    else:
        box = driver.find_elements(By.CSS_SELECTOR, "main details")[index]
        button = box.find_element(By.XPATH, "./summary")
        body = box.find_elements(By.XPATH, "./*[not(self::summary)]")[0]
    return button, body


@dataclass
class PageReport:
    page: str
    problems: list[str] = field(default_factory=list)
    toggles_checked: int = 0
    math_typeset: int = 0


def check_page(driver, server: StaticServer, page: str, *, expect_widgets: bool = False,
               screenshot: Path | None = None) -> PageReport:
    """Load ``page`` (path relative to the served root, e.g. ``book/02-conv1d.html``) and list
    everything a reader would find broken on it."""
    from selenium.webdriver.support.ui import WebDriverWait

    report = PageReport(page)
    problems = report.problems
    html_dir = server.directory
    first_request = len(server.requests)
    url = urljoin(server.url, page)
    driver.get_log("browser")  # drop entries left over from the previous page
    driver.get(url)
    WebDriverWait(driver, 30, poll_frequency=0.05).until(
        lambda d: d.execute_script("return document.readyState") == "complete")

    facts = driver.execute_script(_JS_FACTS)
    if facts["math"]:
        state = driver.execute_async_script(_JS_WAIT_MATHJAX)
        if state != "ok":
            problems.append(f"math on the page but {state}")
        facts = driver.execute_script(_JS_FACTS)
        report.math_typeset = facts["typeset"]
        if facts["typeset"] < facts["math"]:
            problems.append(f"MathJax typeset {facts['typeset']} of {facts['math']} math elements")
        for err in facts["math_errors"]:
            problems.append(f"TeX error: {err}")

    # Images: loaded and non-empty.
    for img in facts["imgs"]:
        if not img["ok"]:
            problems.append(f"image not loaded: {img['src']}")

    # The page itself and everything it fetched from our server.
    requests = server.requests[first_request:]
    page_path = "/" + page
    statuses = [status for path, status in requests if path == page_path]
    if not statuses:
        problems.append("page was never requested from the server")
    elif statuses[0] != 200:
        problems.append(f"HTTP {statuses[0]} for the page")
    for path, status in requests:
        if status >= 400 and path != page_path:
            problems.append(f"HTTP {status} for {path}")

    # Links within the site: the file exists and, with a fragment, the anchor does too. Relative
    # links resolve against the page finally shown (index.html redirects to the landing page).
    page_ids = set(facts["ids"])
    for href in dict.fromkeys(facts["links"]):
        problems.extend(_check_link(href, driver.current_url, server.url, html_dir, page_ids))

    # Exercise/solution dropdowns and <details> open when clicked.
    for toggle in driver.execute_script(_JS_TOGGLES):
        try:
            button, body = _toggle_body(driver, toggle["kind"], toggle["index"])
            before = body.is_displayed()
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
            button.click()
            WebDriverWait(driver, 5, poll_frequency=0.05).until(
                lambda d: body.is_displayed() != before)
            report.toggles_checked += 1
        except Exception as exc:  # noqa: BLE001 - any failure here is a broken toggle
            problems.append(f"{toggle['kind']} toggle {toggle['id']!r} did not open/close: "
                            f"{type(exc).__name__}")

    # Saved ipywidgets state where the page uses widgets, and the widgets actually render.
    if expect_widgets:
        if not facts["widget_state"]:
            problems.append(f"page uses ipywidgets but has no {WIDGET_STATE_TYPE} script")
        elif not driver.execute_script(_JS_FACTS)["widgets_rendered"]:
            problems.append("widget state saved but no widget rendered")
        fonts_at = urljoin(server.url, "_static/vendor/html-manager/")
        modules = driver.execute_script(_JS_WIDGET_MODULE_URLS)
        if not modules:
            problems.append("no @jupyter-widgets module defined through require.js")
        for module, module_url in modules or []:
            if not module_url.startswith(fonts_at):
                problems.append(f"widget module {module} would load its fonts from "
                                f"{posixpath.dirname(module_url)}/, not {fonts_at}")

    if screenshot is not None:
        driver.execute_script("window.scrollTo(0, 0)")
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(screenshot))

    # Console errors (read last so that clicks and MathJax have had their say).
    for entry in driver.get_log("browser"):
        if entry.get("level") == "SEVERE":
            problems.append(f"console error: {entry.get('message')}")
    return report


def _check_link(href: str, page_url: str, site_url: str, html_dir: Path,
                page_ids: set[str]) -> list[str]:
    if not href or href.startswith(("mailto:", "javascript:", "tel:")):
        return []
    target = urljoin(page_url, href)
    parts = urlsplit(target)
    if not target.startswith(site_url):
        return []  # another site: launch buttons, repository, DOIs (not reachable offline)
    if parts.path == urlsplit(page_url).path:
        if parts.fragment and unquote(parts.fragment) not in page_ids:
            return [f"broken anchor: {href}"]
        return []
    local = local_file_for(html_dir, parts.path)
    if not local.is_file():
        return [f"broken link: {href} (no {local.relative_to(html_dir)})"]
    if parts.fragment and local.suffix == ".html" and unquote(parts.fragment) not in _ids_in(local):
        return [f"broken anchor: {href}"]
    return []


def check_site(html_dir: Path, pages: list[str], *, widget_pages: set[str] = frozenset(),
               screenshot_dir: Path | None = None) -> list[PageReport]:
    """Check every page (paths relative to ``html_dir``) in one headless Chromium session."""
    with tempfile.TemporaryDirectory(prefix="book-chromium-") as profile, \
            StaticServer(html_dir) as server:
        driver = start_chromium(Path(profile))
        try:
            return [
                check_page(driver, server, page, expect_widgets=page in widget_pages,
                           screenshot=(screenshot_dir / page.replace("/", "__")).with_suffix(".png")
                           if screenshot_dir else None)
                for page in pages
            ]
        finally:
            driver.quit()


def format_reports(reports: list[PageReport]) -> str:
    return json.dumps({r.page: r.problems for r in reports if r.problems}, indent=2)
