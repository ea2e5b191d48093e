"""The figure :mod:`customer_health.plot` returns; this module imports matplotlib, so
import it only after ``require_extra`` has checked that matplotlib is there."""

from __future__ import annotations

import io

from matplotlib.figure import Figure

__all__ = ["ScoreFigure"]


class ScoreFigure(Figure):
    """A matplotlib Figure that Jupyter shows as a PNG.

    A Figure made without pyplot shows as its text repr in Jupyter unless the user
    ran ``%matplotlib inline`` first; ``_repr_png_`` makes it a picture either way,
    and only once (a pyplot figure returned from a cell is shown twice). Defined at
    module level so that figures pickle like any other.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()
