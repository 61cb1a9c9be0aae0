"""The class report as an HTML page for the instructor and a CSV with one row per student.

Everything a submission produced is hostile (see :mod:`autograder.sanitize`): check messages quote
the student's exception text, reasons and findings quote their code, and even student ids come from
file names. Every such string is HTML-escaped here, the page's Content-Security-Policy allows no
script at all (an escaping slip still runs nothing), and CSV cells a spreadsheet would evaluate as
a formula are defused.
"""
from __future__ import annotations

import base64
import csv
import html
import io

from .class_report import ClassSummary
from .results import Verdict
from .similarity import Match

HISTOGRAM_BINS = 10
#: No script, no request: styles inline, images only as data: URIs.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
#: A leading character that makes a spreadsheet evaluate the cell.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: left; vertical-align: top; }
td.num { text-align: right; }
pre { background: #f6f6f6; padding: .5em; overflow-x: auto; white-space: pre-wrap; }
mark { background: #ffe08a; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.note { color: #555; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def histogram_png(summary: ClassSummary) -> bytes:
    """The score distribution as a PNG."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend

    fig = Figure(figsize=(6.4, 3.2), dpi=100)
    ax = fig.subplots()
    top = summary.max_score or max(summary.scores, default=0.0) or 1.0
    ax.hist(summary.scores, bins=HISTOGRAM_BINS, range=(0.0, top), color="#4c72b0", edgecolor="white")
    ax.set_xlabel(f"score (of {top:g})")
    ax.set_ylabel("submissions")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A table of already escaped cells."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(value, numeric: bool = False) -> str:
    return f'<td class="num">{_e(value)}</td>' if numeric else f"<td>{_e(value)}</td>"


def _highlighted(code: str, spans: tuple[tuple[int, int], ...]) -> str:
    """``code`` escaped, with the shared ``spans`` marked."""
    out, at = [], 0
    for start, end in sorted(spans):
        start, end = max(start, at), min(end, len(code))
        if start >= end:
            continue
        out += [_e(code[at:start]), "<mark>", _e(code[start:end]), "</mark>"]
        at = end
    out.append(_e(code[at:]))
    return "".join(out)


def _summary_section(s: ClassSummary) -> str:
    rows = [["submissions", len(s.results)], ["mean score", f"{s.mean_score:.2f}"],
            ["median score", f"{s.median_score:g}"], ["maximum possible", f"{s.max_score:g}"],
            ["grading time (all submissions)", f"{s.grading_seconds:.1f} s"]]
    png = base64.b64encode(histogram_png(s)).decode("ascii")
    return ("<h2 id='summary'>Scores</h2>"
            + _table(["", ""], [[_td(k), _td(v, numeric=True)] for k, v in rows])
            + f'<img id="histogram" alt="histogram of the scores" src="data:image/png;base64,{png}">')


def _parts_section(s: ClassSummary) -> str:
    shown = [v for v in Verdict if any(p.verdicts.get(v) for p in s.parts)]
    rows = [[_td(p.grade_id), _td(f"{p.max_score:g}", True),
             *(_td(p.verdicts.get(v, 0), True) for v in shown), _td(f"{p.pass_rate:.0%}", True)]
            for p in s.parts]
    return ("<h2 id='parts'>Parts</h2><p>Each graded cell: how many submissions got each verdict.</p>"
            + _table(["cell", "points", *(_e(v.value) for v in shown), "pass rate"], rows))


def _mistakes_section(s: ClassSummary) -> str:
    if not s.mistakes:
        return "<h2 id='mistakes'>Diagnosed mistakes</h2><p>None diagnosed.</p>"
    items = []
    for m in s.mistakes:
        examples = "".join(f"<p>in <code>{_e(x.part)}</code>:</p><pre>{_e(x.message)}</pre>" for x in m.examples)
        items.append(f'<li class="mistake"><p><b>{m.students} student{"s" * (m.students != 1)}</b> '
                     f"({m.students / len(s.results):.0%}), in {_e(', '.join(m.parts))}: "
                     f'<span class="cause">{_e(m.cause)}</span></p>'
                     f"<details><summary>examples (anonymised)</summary>{examples}</details></li>")
    return ("<h2 id='mistakes'>Diagnosed mistakes</h2><p class='note'>The checks' <q>Likely cause</q> "
            "lines, by how many students made each mistake. The examples name no student.</p>"
            f"<ol>{''.join(items)}</ol>")


def _attention_section(s: ClassSummary) -> str:
    rows = [[_td(r.student), _td(r.status.value), _td(f"{r.score:g}", True), _td(f"{r.held_points:g}", True),
             _td(r.reason), _td("; ".join(r.findings))] for r in s.attention]
    return ("<h2 id='attention'>Submissions to look at</h2><p>Crashed, timed out, invalid or missing, "
            "flagged by the shortcut scan (points held), or graded with a problem.</p>"
            + (_table(["student", "status", "score", "held", "reason", "findings"], rows) if rows else "<p>None.</p>"))


def _pair(m: Match) -> str:
    kind = "the course's code" if m.other.reference else "another student"
    return (f'<div class="match"><h3>{_e(m.student.name)} and {_e(m.other.name)}: {m.share:.0%}</h3>'
            f"<p>{m.student_share:.0%} of {_e(m.student.name)}'s code is found in {kind}'s"
            + ("" if m.other.reference else f"; {m.other_share:.0%} the other way round") + ".</p>"
            f'<div class="pair"><pre>{_highlighted(m.student.code, m.student_spans)}</pre>'
            f"<pre>{_highlighted(m.other.code, m.other_spans)}</pre></div></div>")


def _similarity_section(s: ClassSummary) -> str:
    head = "<h2 id='similarity'>Similar code</h2>"
    if s.similarity_threshold is None:
        return head + "<p>Not checked (--no-similarity).</p>"
    intro = (f"<p>Pairs where at least {s.similarity_threshold:.0%} of a student's solution code (variables "
             "renamed, order ignored, the starter code left out) is found in another student's or in the "
             "course's published code (<code>solutions/</code>, the book). Shared code is marked. "
             "Similar code is a reason to look, not a verdict.</p>")
    return head + intro + ("".join(map(_pair, s.similar)) if s.similar else "<p>No pair reaches it.</p>")


def _students_section(s: ClassSummary) -> str:
    parts = [p.grade_id for p in s.parts]
    rows = [[_td(r.student), _td(r.status.value), _td(f"{r.score:g} / {r.max_score:g}", True),
             _td(f"{r.seconds:.1f}", True),
             *(_td(r.cells[g].verdict.value if g in r.cells else "") for g in parts)] for r in s.results]
    return ("<h2 id='students'>Students</h2>"
            + _table(["student", "status", "score", "seconds", *map(_e, parts)], rows))


def render_html(s: ClassSummary) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>Class report: {_e(s.assignment)}</title><style>{STYLE}</style></head><body>"
            f"<h1>Class report: {_e(s.assignment)}</h1>"
            "<p class='note'>For the instructor only: the tables and the similar-code section name "
            "students. The examples of mistakes are anonymised.</p>"
            + _summary_section(s) + _parts_section(s) + _mistakes_section(s) + _attention_section(s)
            + _similarity_section(s) + _students_section(s) + "</body></html>")


def _defused(value):
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _similar_to(s: ClassSummary) -> dict[str, list[str]]:
    partners: dict[str, list[str]] = {}
    for m in s.similar:
        partners.setdefault(m.student.name, []).append(f"{m.other.name} ({m.share:.0%})")
        if not m.other.reference:
            partners.setdefault(m.other.name, []).append(f"{m.student.name} ({m.share:.0%})")
    return partners


def render_csv(s: ClassSummary) -> str:
    parts = [p.grade_id for p in s.parts]
    partners = _similar_to(s)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", "status", "score", "max_score", "held_points", "seconds", *parts,
                     "likely_causes", "similar_to", "reason"])
    for r in s.results:
        row = [r.student, r.status.value, r.score, r.max_score, r.held_points, r.seconds,
               *(r.cells[g].verdict.value if g in r.cells else "" for g in parts),
               "; ".join(s.causes.get(r.student, [])), "; ".join(partners.get(r.student, [])), r.reason]
        writer.writerow([_defused(v) for v in row])
    return out.getvalue()
