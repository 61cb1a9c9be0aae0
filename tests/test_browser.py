"""Every page of the quick-mode book in headless Chromium, offline, as a reader meets it.

Per page (tests/bookcheck.py): HTTP 200 for the page and everything it loads, no SEVERE console
message, math typeset by MathJax without TeX errors, every <img> loaded, every link within the site
resolving (file and anchor), every dropdown (solutions, hidden cells) opening on click, and saved
widget state on pages that use ipywidgets. Screenshots go to _build/screenshots/.
The last tests prove the checker fails on a deliberately broken page.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path

import pytest

import bookcheck
from book_fixtures import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if bookcheck.chromium_paths() is None:
    pytest.skip("chromium/chromedriver not installed (make chromium installs them)",
                allow_module_level=True)


class _chromium:
    """A Chromium session with a throwaway profile, as a context manager."""

    def __enter__(self):
        self._profile = tempfile.TemporaryDirectory(prefix="book-chromium-")
        self.driver = bookcheck.start_chromium(Path(self._profile.name))
        return self.driver

    def __exit__(self, *exc):
        self.driver.quit()
        self._profile.cleanup()


def test_every_page_renders_cleanly_offline(built_html, book_toc):
    docs = bookcheck.toc_pages(book_toc)
    pages = ["index.html", *(f"{doc}.html" for doc in docs), "genindex.html", "search.html"]
    widget_pages = {f"{doc}.html" for doc in docs if bookcheck.uses_widgets(doc)}
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # only this build's pages
    reports = bookcheck.check_site(built_html, pages, widget_pages=widget_pages,
                                   screenshot_dir=SCREENSHOTS)
    assert [r.page for r in reports] == pages
    print("toggles clicked:", sum(r.toggles_checked for r in reports),
          "| math typeset:", sum(r.math_typeset for r in reports))
    failing = {r.page: r.problems for r in reports if r.problems}
    assert not failing, "pages with problems:\n" + bookcheck.format_reports(reports)
    assert sum(r.math_typeset for r in reports) > 0, "no math typeset anywhere: check is vacuous"


def test_search_finds_a_chapter_offline(built_html):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with bookcheck.StaticServer(built_html) as server, \
            _chromium() as driver:
        driver.get(server.url + "search.html?q=convolution")
        WebDriverWait(driver, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results ul.search li"))
        hits = [a.get_attribute("href") for a in
                driver.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a")]
    assert any("/book/" in h for h in hits), hits


def test_figures_stay_readable_in_dark_mode(built_html, book_toc):
    """In dark mode figure images sit on white and are not dimmed (book/_static/course.css)."""
    docs = [d for d in bookcheck.toc_pages(book_toc)
            if "<figure" in (built_html / f"{d}.html").read_text()]
    if not docs:
        pytest.skip("no page has a figure yet")
    with bookcheck.StaticServer(built_html) as server, _chromium() as driver:
        driver.get(server.url + f"{docs[0]}.html")
        driver.execute_script("localStorage.setItem('mode', 'dark')")
        driver.get(server.url + f"{docs[0]}.html")
        style = driver.execute_script("""
            const img = document.querySelector('.bd-content figure img');
            const s = getComputedStyle(img);
            return [document.documentElement.dataset.theme, s.backgroundColor, s.filter];""")
    assert style == ["dark", "rgb(255, 255, 255)", "none"], (docs[0], style)


# ------------------------------------------------------------------- the checker can fail
PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
GOOD = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>good</title></head><body><main>
<h1 id="top">Fine</h1><img src="dot.png" alt="a dot"><a href="broken.html#top">other</a>
<a href="#top">up</a><a href="https://example.org/">outside</a>
<details><summary>Solution</summary><p>hidden answer</p></details>
</main></body></html>"""
BROKEN = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>broken</title></head><body><main>
<h1 id="top">Broken</h1>
<img src="missing.png" alt="gone">
<a href="nowhere.html">dead link</a><a href="good.html#no-such-anchor">dead anchor</a>
<a href="#nor-here">dead local anchor</a>
<span class="math notranslate nohighlight">\\(x^2\\)</span>
<script>console.error("deliberate failure");</script>
</main></body></html>"""


@pytest.fixture(scope="module")
def fake_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("fake-site")
    (site / "good.html").write_text(GOOD)
    (site / "broken.html").write_text(BROKEN)
    (site / "dot.png").write_bytes(PNG_1x1)
    return site


@pytest.fixture(scope="module")
def fake_reports(fake_site) -> dict[str, bookcheck.PageReport]:
    reports = bookcheck.check_site(fake_site, ["good.html", "broken.html", "absent.html"],
                                   widget_pages={"good.html"})
    return {r.page: r for r in reports}


def test_checker_reports_every_defect_of_a_broken_page(fake_reports):
    problems = "\n".join(fake_reports["broken.html"].problems)
    for expected in ("image not loaded: missing.png", "HTTP 404 for /missing.png",
                     "broken link: nowhere.html", "broken anchor: good.html#no-such-anchor",
                     "broken anchor: #nor-here", "math on the page but no MathJax",
                     "deliberate failure"):
        assert expected in problems, f"{expected!r} not reported; got:\n{problems}"


def test_checker_reports_missing_page_and_widget_state(fake_reports):
    assert "HTTP 404 for the page" in fake_reports["absent.html"].problems
    good = fake_reports["good.html"]
    # good.html is clean apart from the widgets it was (falsely) said to have: no saved state and no
    # widget-manager modules for that state.
    assert good.problems == [
        f"page uses ipywidgets but has no {bookcheck.WIDGET_STATE_TYPE} script",
        "no @jupyter-widgets module defined through require.js"], good.problems
    assert good.toggles_checked == 1
