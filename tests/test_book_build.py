"""The book builds in quick mode with -W exactly as CI does, and the HTML has what readers rely on.

The build itself is the session fixture ``quick_book`` (tests/book_fixtures.py), shared with
tests/test_browser.py. These tests read the built files; the browser test loads them in Chromium.
"""

from __future__ import annotations

import html.parser
import re
import sys
from pathlib import Path

import pytest

import bookcheck

sys.path.insert(0, str(bookcheck.ROOT / "book" / "_ext"))
import course_book  # noqa: E402

pytestmark = pytest.mark.slow


class _Tags(html.parser.HTMLParser):
    """Start tags with their attributes, plus the text inside <figcaption>."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.figures: list[dict] = []  # {"caption": str, "imgs": [alt, ...]}
        self._in_figure = self._in_caption = 0

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attrs))
        if tag == "figure":
            self._in_figure += 1
            self.figures.append({"caption": "", "imgs": []})
        elif tag == "figcaption" and self._in_figure:
            self._in_caption += 1
        elif tag == "img" and self._in_figure:
            self.figures[-1]["imgs"].append(attrs.get("alt", ""))

    def handle_endtag(self, tag):
        if tag == "figure" and self._in_figure:
            self._in_figure -= 1
        elif tag == "figcaption" and self._in_caption:
            self._in_caption -= 1

    def handle_data(self, data):
        if self._in_caption:
            self.figures[-1]["caption"] += data


def parse(path: Path) -> _Tags:
    parser = _Tags()
    parser.feed(path.read_text())
    return parser


@pytest.fixture(scope="module")
def pages(built_html, book_toc) -> dict[str, Path]:
    """docname -> built HTML file, for every page in the TOC."""
    return {doc: built_html / f"{doc}.html" for doc in bookcheck.toc_pages(book_toc)}


def is_notebook(docname: str) -> bool:
    source = bookcheck.page_source(docname)
    return source is not None and "kernelspec:" in source.read_text()


def test_quick_build_succeeds_without_warnings(quick_book):
    print(f"quick-mode build took {quick_book.seconds:.0f} s")
    assert quick_book.returncode == 0, (
        f"jupyter-book build -W failed (exit {quick_book.returncode}); log tail:\n"
        f"{quick_book.log_tail()}")


def test_quick_build_has_its_own_execution_cache(quick_book, built_html):
    """Quick-mode outputs are cached apart, so a full build can never be served them."""
    build_dir = built_html.parent
    assert (build_dir / ".jupyter_cache-quick").is_dir()
    assert not (build_dir / ".jupyter_cache").exists()


def test_every_toc_page_is_built(pages):
    missing = [doc for doc, path in pages.items() if not path.is_file()]
    assert not missing, f"TOC pages without HTML: {missing}"


def test_pages_load_nothing_from_other_sites(built_html):
    """Scripts, styles and images come from the site itself, so the book works offline."""
    external = re.compile(r"^(https?:)?//")
    offenders = []
    for page in sorted(built_html.rglob("*.html")):
        if "_static" in page.parts:
            continue
        for tag, attrs in parse(page).tags:
            url = {"script": attrs.get("src"), "img": attrs.get("src"),
                   "link": attrs.get("href") if "stylesheet" in attrs.get("rel", "") else None
                   }.get(tag)
            if url and external.match(url):
                offenders.append(f"{page.relative_to(built_html)}: <{tag}> {url}")
    assert not offenders, "assets loaded from other sites:\n" + "\n".join(offenders)


def test_mathjax_is_served_from_the_book(pages, built_html):
    with_math = [doc for doc, path in pages.items() if 'class="math' in path.read_text()]
    assert with_math, "no page has math: the check below would be vacuous"
    for doc in with_math:
        scripts = [a.get("src", "") for t, a in parse(pages[doc]).tags if t == "script"]
        mathjax = [src for src in scripts if re.search(r"mathjax[@/]", src, re.IGNORECASE)]
        assert mathjax and all("_static/mathjax/tex-chtml.js" in src for src in mathjax), (doc, mathjax)
    fonts = built_html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert (built_html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert len(list(fonts.glob("*.woff"))) > 10


def test_executable_pages_have_launch_and_download_buttons(pages, built_html):
    notebooks = [doc for doc in pages if is_notebook(doc)]
    assert notebooks, "no executable page in the TOC"
    for doc in notebooks:
        hrefs = [a.get("href", "") for t, a in parse(pages[doc]).tags if t == "a"]
        assert any("mybinder.org/v2/gh/" in h and h.endswith(f"urlpath=lab/tree/{doc}.md")
                   for h in hrefs), f"{doc}: no Binder button"
        assert any("colab.research.google.com/github/" in h
                   and h.endswith(f"/blob/gh-pages/_sources/{doc}.ipynb") for h in hrefs), \
            f"{doc}: no Colab button opening the published notebook"
        for suffix in (".ipynb", ".md"):
            assert any(h.endswith(f"_sources/{doc}{suffix}") for h in hrefs), \
                f"{doc}: no {suffix} download"
            assert (built_html / "_sources" / f"{doc}{suffix}").is_file()


def test_published_notebooks_set_themselves_up_on_colab(pages, built_html):
    """The .ipynb behind the Colab and download buttons installs the course package on Colab."""
    import nbformat

    notebooks = [doc for doc in pages if is_notebook(doc)]
    for doc in notebooks:
        nb = nbformat.read(built_html / "_sources" / f"{doc}.ipynb", as_version=4)
        nbformat.validate(nb)
        setup = [c for c in nb.cells if c.get("id") == "colab-setup"]
        assert len(setup) == 1, f"{doc}: {len(setup)} Colab set-up cells"
        assert 'if "google.colab" in sys.modules:' in setup[0].source
        # pinned to the commit built (a dirty checkout's build names the branch instead)
        ref = course_book.built_commit(bookcheck.ROOT) or "main"
        assert f"git+https://github.com/cnn-course/cnn-course@{ref}" in setup[0].source
        # The executed outputs of the chapter are still there for readers who only look.
        assert any(c.cell_type == "code" and c.outputs for c in nb.cells), doc


def test_every_page_links_repository_and_issues(pages):
    for doc, path in pages.items():
        hrefs = [a.get("href", "") for t, a in parse(path).tags if t == "a"]
        assert any(h.rstrip("/").endswith("github.com/cnn-course/cnn-course") for h in hrefs), doc
        assert any("/issues/new" in h for h in hrefs), doc


def test_figures_are_numbered_with_caption_and_alt_text(pages):
    """Every figure reads 'Fig. N.M <caption>' and its image has real alt text, not a file name."""
    problems = []
    for doc, path in pages.items():
        for fig in parse(path).figures:
            caption = " ".join(fig["caption"].split())
            if not re.match(r"Fig\. \d+(\.\d+)* \S", caption):
                problems.append(f"{doc}: figure caption {caption!r} is unnumbered or empty")
            for alt in fig["imgs"]:
                if not alt.strip() or re.search(r"\.(png|jpe?g|svg|gif)$", alt):
                    problems.append(f"{doc}: figure {caption[:40]!r} has no alt text ({alt!r}); "
                                    "set mystnb: image: alt: (or :alt: on the figure)")
    assert not problems, "\n".join(problems)


def test_markdown_tables_that_cells_display_render_as_tables(pages):
    """Results tables are printed with ``display(Markdown(...))``; none may end up as a paragraph of pipes."""
    raw = {doc: m.group(0)[:60] for doc, path in pages.items()
           for m in [re.search(r"<p>\|[^<]*\|\s*\n\|", path.read_text())] if m}
    assert not raw, f"pipe tables rendered as text: {raw}"
    assert "<table" in pages["book/10-cifar10"].read_text()  # the ladder's results table


def test_numbered_equations_carry_their_number(pages):
    for doc, path in pages.items():
        text = path.read_text()
        for match in re.finditer(r'<div class="math[^"]*" id="(equation-[^"]+)">(.{0,200})', text, re.S):
            assert 'class="eqno"' in match.group(2), f"{doc}: {match.group(1)} has no number"


def test_glossary_and_bibliography_are_populated(pages):
    glossary = pages["book/glossary"].read_text()
    terms = re.findall(r'<dt id="term-[^"]+"', glossary)
    assert len(terms) >= 5, f"glossary has {len(terms)} terms"
    bibliography = pages["book/bibliography"].read_text()
    entries = re.findall(r'class="citation"|role="doc-biblioentry"|<dt class="label"', bibliography)
    assert entries, "bibliography page lists no references"


def test_search_index_covers_every_page(built_html, pages):
    index = (built_html / "searchindex.js").read_text()
    missing = [doc for doc in pages if f'"{doc}"' not in index]
    assert not missing, f"pages missing from the search index: {missing}"


def test_readers_see_no_build_plumbing(pages, book_toc):
    """Code cells on the pages teach: glue calls, importing glue, the plot style and environment
    set-up run in remove-cell cells, which leave no trace in the HTML."""
    shown = {doc: bookcheck.shown_code(path.read_text()) for doc, path in pages.items() if is_notebook(doc)}
    chapters = bookcheck.numbered_chapters(book_toc)
    assert all(shown[doc] for doc in chapters), "a chapter shows no code: the check would be vacuous"
    problems = [f"{doc}: {', '.join(kinds)} in the cell starting {code.splitlines()[0]!r}"
                for doc, codes in shown.items() for code in codes
                for kinds in [bookcheck.plumbing_in(code)] if kinds]
    assert not problems, "build plumbing shown to readers:\n" + "\n".join(problems)


def _title_number(page_html: str) -> str | None:
    match = re.search(r'<h1><span class="section-number">([\d.]+)\. </span>', page_html)
    return match.group(1) if match else None


def test_chapters_number_their_figures_per_chapter(pages, book_toc):
    """Chapter N's title reads "N. ...", its figures "Fig. N.1", "Fig. N.2", ... and references to
    them say the same; pages outside the numbered parts carry no number."""
    chapters = bookcheck.numbered_chapters(book_toc)
    with_figures = 0
    for doc, path in pages.items():
        text = path.read_text()
        if doc not in chapters:
            assert _title_number(text) is None, f"{doc} is numbered"
            continue
        number = chapters[doc]
        assert _title_number(text) == str(number), (doc, _title_number(text), number)
        figures = [re.match(r"Fig\. ([\d.]+) ", " ".join(fig["caption"].split())) for fig in parse(path).figures]
        assert all(figures), f"{doc}: unnumbered figure"
        assert [f.group(1) for f in figures] == [f"{number}.{i}" for i in range(1, len(figures) + 1)], doc
        refs = set(re.findall(r'<a class="reference internal" href="#[^"]+"><span class="std std-numref">'
                              r"Fig\. ([\d.]+)</span>", text))
        assert refs <= {f.group(1) for f in figures}, (doc, refs)
        with_figures += bool(figures)
    assert with_figures, "no numbered chapter has a figure: the check would be vacuous"
