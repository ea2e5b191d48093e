"""What commands print: tables (rich on a terminal, plain text otherwise), notes and
the progress of long runs (on a terminal only)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from ._common import PROG

__all__ = ["Step", "note", "notes_of_warnings", "print_table", "progress"]

Step = Callable[[str], None]
"""Announces the next step of a command: ``step("reading events")``."""


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
    for warning in caught:
        note(str(warning.message))


@contextmanager
def progress(steps: int) -> Iterator[Step]:
    """A progress bar over ``steps`` steps on stderr, if stderr is a terminal.

    The bar shows the step in progress and the time taken, and disappears at the end;
    each call of the step function finishes the previous step and names the next.
    Elsewhere (a pipe, a log file, a test), or without rich, nothing is shown.
    """
    if not _has_rich():
        yield lambda description: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda description: None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("", total=steps, start=False)

    def step(description: str) -> None:
        started = bar.tasks[0].started
        bar.update(task, description=description, advance=1 if started else 0)
        bar.start_task(task)
        bar.refresh()  # each step shows, however short (a few per run)

    with bar:
        yield step
        bar.update(task, completed=steps)
