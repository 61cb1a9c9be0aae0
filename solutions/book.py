"""``glue`` for the chapters, wherever they run.

While the book builds, myst-nb's ``glue`` stores a value for the prose (``{glue:text}``). A reader
running a published chapter on Colab or in plain Jupyter has no myst-nb: there ``glue`` shows the
value when asked to (``display=True``) and otherwise does nothing, so every chapter runs unchanged.
"""
from __future__ import annotations

try:
    from myst_nb import glue
except ImportError:
    def glue(name: str, variable, display: bool = True) -> None:
        """Without myst-nb: show ``variable`` if ``display``; the name only matters to the book."""
        if display:
            from IPython.display import display as show

            show(variable)
