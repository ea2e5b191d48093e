"""Measuring the sides of a benchmark's comparison alike.

Every ratio a benchmark prints divides one side's figure by another's; both must be
measured the same way, or the ratio says more about the measurement than about the
code. :func:`compare` times named callables like this:

1. **warm-up:** ``warmup`` untimed rounds, each calling every side once, in the order
   given (a, b, a, b, ...): first calls pay for imports, caches, the allocator taking
   fresh pages, a JIT, a database's cold buffers;
2. **timed runs:** ``runs`` rounds, each calling every side once, in the same order
   (a, b, a, b, ...), so that a drift in the machine's state (another process, the
   CPU's clock, a database's buffers) reaches every side alike;
3. the figure is each side's **median**, printed with the spread (fastest and slowest
   run) or the runs themselves.

Before every call, timed or not, an optional per-side ``before`` callable runs
(untimed: a setup a side needs again each time, such as emptying tables) and then
``gc.collect()``; the collector stays enabled during the call, as in production. The
value a side returns is kept from its first call only (the warm-up's, when there is
one), so that a benchmark can check it against the other sides without an extra run;
the values of the other calls are dropped at once.

:func:`interleave` is the same schedule for callables that return a measurement
rather than being timed (the service benchmark's ``wrk`` loads).

The benchmarks are scripts (``python tests/benchmarks/bench_x.py``), and Python puts a
script's folder first on ``sys.path``, so they import this module as ``_timing``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

DEFAULT_WARMUP = 1
DEFAULT_RUNS = 3


@dataclass(frozen=True)
class Side(Generic[T]):
    """A side of a comparison: ``run`` (what is measured) and, optionally, ``before``,
    run untimed before each of its calls (warm-up included)."""

    run: Callable[[], T]
    before: Callable[[], object] | None = None


@dataclass
class Measured(Generic[T]):
    """What :func:`interleave` got from one side: the warm-up calls' values and the
    measured ones, in order."""

    warmups: list[T] = field(default_factory=list)
    runs: list[T] = field(default_factory=list)


@dataclass
class Timing:
    """One side's times in seconds, from :func:`compare`."""

    runs: list[float]
    warmups: list[float]
    result: Any = None
    """What the side's first call returned (the warm-up's, when there is one)."""

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def low(self) -> float:
        return min(self.runs)

    @property
    def high(self) -> float:
        return max(self.runs)

    @property
    def first(self) -> float:
        """The side's first call: the first warm-up (or run), in a process that had
        not made that call before."""
        return (self.warmups or self.runs)[0]

    def spread(self, digits: int = 3) -> str:
        """The runs as ``min-max s`` (or the one run)."""
        if len(self.runs) == 1:
            return f"{self.runs[0]:.{digits}f} s"
        return f"{self.low:.{digits}f}-{self.high:.{digits}f} s"

    def runs_text(self, digits: int = 3) -> str:
        """Every run, in order: ``0.712, 0.698, 0.731``."""
        return ", ".join(f"{seconds:.{digits}f}" for seconds in self.runs)


Progress = Callable[[str, str, Any], None]
"""Called after every call with the phase (``"warm-up 1/1"``, ``"run 2/3"``), the
side's name and what the call gave (seconds for :func:`compare`)."""


def interleave(
    sides: Mapping[str, Callable[[], T] | Side[T]],
    *,
    warmup: int = DEFAULT_WARMUP,
    runs: int = DEFAULT_RUNS,
    progress: Progress | None = None,
) -> dict[str, Measured[T]]:
    """Call every side ``warmup`` times, then ``runs`` times, round by round in the
    order given (a, b, a, b, ...); each side's values, warm-ups apart."""
    if warmup < 0 or runs < 1:
        raise ValueError(f"need warmup >= 0 and runs >= 1, got {warmup} and {runs}")
    found: dict[str, Measured[T]] = {name: Measured() for name in sides}
    rounds = [("warm-up", i, warmup) for i in range(warmup)]
    rounds += [("run", i, runs) for i in range(runs)]
    for phase, index, count in rounds:
        for name, side in sides.items():
            if isinstance(side, Side):
                run, before = side.run, side.before
            else:
                run, before = side, None
            if before is not None:
                before()
            gc.collect()
            value = run()
            measured = found[name]
            (measured.warmups if phase == "warm-up" else measured.runs).append(value)
            if progress is not None:
                progress(f"{phase} {index + 1}/{count}", name, value)
            del value
    return found


def compare(
    sides: Mapping[str, Callable[[], object] | Side[object]],
    *,
    warmup: int = DEFAULT_WARMUP,
    runs: int = DEFAULT_RUNS,
    progress: Progress | None = None,
) -> dict[str, Timing]:
    """Time every side alike (see the module's docstring): ``warmup`` untimed calls of
    each, then ``runs`` timed calls of each, interleaved; per side, its :class:`Timing`."""
    results: dict[str, Any] = {}

    def timed(name: str, side: Callable[[], object] | Side[object]) -> Side[float]:
        run, before = (side.run, side.before) if isinstance(side, Side) else (side, None)

        def call() -> float:
            start = time.perf_counter()
            value = run()
            seconds = time.perf_counter() - start
            if name not in results:
                results[name] = value
            return seconds

        return Side(call, before)

    measured = interleave(
        {name: timed(name, side) for name, side in sides.items()},
        warmup=warmup,
        runs=runs,
        progress=progress,
    )
    return {
        name: Timing(runs=m.runs, warmups=m.warmups, result=results.get(name))
        for name, m in measured.items()
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def add_arguments(
    parser: argparse.ArgumentParser, *, runs: int = DEFAULT_RUNS, warmup: int = DEFAULT_WARMUP
) -> None:
    """``--repeat`` (timed runs of each side) and ``--warmup`` (untimed runs first)."""
    parser.add_argument(
        "--repeat",
        type=int,
        default=runs,
        help=f"timed runs of each side, interleaved; the median is reported (default {runs})",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=warmup,
        help=f"untimed runs of each side before the timed ones (default {warmup})",
    )


def describe(warmup: int, runs: int) -> str:
    """``median of 3 interleaved runs, after 1 warm-up each``."""
    after = f"after {warmup} warm-up{'s' if warmup != 1 else ''} each" if warmup else "no warm-up"
    return f"median of {runs} interleaved run{'s' if runs != 1 else ''}, {after}"
