"""What commands print: tables (rich on a terminal, plain text otherwise), notes and
the progress of long runs (on a terminal only)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from ._common import PROG

__all__ = ["Progress", "note", "notes_of_warnings", "print_table", "progress"]


def print_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO, right: frozenset[int]
) -> None:
    """Print ``rows`` under ``header``; the columns in ``right`` are aligned right.

    On a terminal the table is drawn with rich; elsewhere (a pipe, a file) it is plain
    text in aligned columns, without escape codes, for ``grep`` and ``awk``.
    """
    if _is_terminal(out) and _has_rich():
        _rich_table(header, rows, out, right)
        return
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = [
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _has_rich() -> bool:
    """Whether rich (the ``cli`` extra) is there; without it, terminals get plain text."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _rich_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO, right: frozenset[int]
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for index, name in enumerate(header):
        table.add_column(name, justify="right" if index in right else "left")
    for row in rows:
        table.add_row(*row)
    Console(file=out, highlight=False).print(table)


def note(message: str) -> None:
    """Print ``message`` to stderr as one line, ``customer-health: note: ...``."""
    print(f"{PROG}: note: {' '.join(message.split())}", file=sys.stderr)


@contextmanager
def notes_of_warnings() -> Iterator[None]:
    """Turn the library's warnings in the block (customers left out, a slow path) into
    notes on stderr, after the block: a command's output is not a place for warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for message in dict.fromkeys(str(warning.message) for warning in caught):
        note(message)  # once each: a warning of every batch of a run is one note


class Progress:
    """What a long command is doing, on stderr, if stderr is a terminal: one line with
    the phase (``reading events.jsonl``), and for a phase that counts (``scoring
    customers``) a bar, how many of how many, the time taken and the time left.
    Elsewhere (a pipe, a log file, a test), or without rich, it shows nothing and costs
    nothing."""

    def __init__(self, bar: Any = None) -> None:
        self._bar = bar
        self._task = None if bar is None else bar.add_task("", total=None)

    @property
    def visible(self) -> bool:
        """Whether anything shows (stderr is a terminal, rich is installed)."""
        return self._bar is not None

    def phase(self, description: str, total: int | None = None) -> None:
        """Start the next phase: ``total`` things to count (``None``: just the time)."""
        if self._bar is None:
            return
        self._bar.reset(self._task, description=description, total=total, completed=0)
        self._bar.refresh()  # each phase shows, however short

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` things of the phase done so far (of ``total``, when it is given)."""
        if self._bar is not None:
            if total is not None:
                self._bar.update(self._task, total=total)
            self._bar.update(self._task, completed=done)
            self._bar.refresh()

    def advance(self, amount: int = 1) -> None:
        """``amount`` more things of the phase done."""
        if self._bar is not None:
            self._bar.advance(self._task, amount)
            self._bar.refresh()  # a few dozen steps a run: each shows


@contextmanager
def progress() -> Iterator[Progress]:
    """A :class:`Progress` on stderr while the block runs; gone at the end."""
    if not _has_rich():
        yield Progress()
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield Progress()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import (
        Progress as Bar,
    )

    bar = Bar(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with bar:
        yield Progress(bar)
