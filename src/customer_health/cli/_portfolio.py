"""``demo`` and ``sample``: generated sample portfolios (standard library, or numpy)."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .. import sample
from ..models import HealthScore, HealthStatus
from ._common import EXIT_OK, add_command, count, require_extra
from ._output import progress
from ._sources import as_of

__all__ = ["add_demo", "add_sample", "check_sample", "weakest"]


def _portfolio_options(parser: argparse.ArgumentParser, customers: int) -> None:
    parser.add_argument(
        "--customers",
        type=count,
        default=customers,
        metavar="N",
        help=f"how many customers (default {customers})",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--as-of",
        default=sample.DEFAULT_AS_OF.isoformat(),
        metavar="ISO",
        help="the instant to describe and score, ISO 8601 "
        f"(default {sample.DEFAULT_AS_OF.isoformat()})",
    )


# -- demo ----------------------------------------------------------------------------


def add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``demo`` subcommand."""
    demo = add_command(
        commands,
        "demo",
        help="score a generated sample portfolio and print a table",
        description="Generate a sample portfolio, score it and print one line per "
        "customer (worst first) with the factor that costs it the most points.",
        examples="""
customer-health demo
customer-health demo --customers 50 --seed 7 --sort id
""",
    )
    _portfolio_options(demo, customers=20)
    demo.add_argument(
        "--sort",
        choices=["score", "id"],
        default="score",
        help="order of the table: worst score first (default) or by customer id",
    )
    demo.set_defaults(handler=_demo)


def weakest(health: HealthScore) -> str:
    """The factor that costs the most points, with its explanation; ``-`` if none does."""
    lost = [(f.weight * (100.0 - f.score), f) for f in health.factors if f.score is not None]
    if not lost:
        return "-"
    points, factor = max(lost, key=lambda pair: pair[0])
    return "-" if points <= 0 else f"{factor.name}: {factor.explanation}"


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Print ``rows`` (the first is the header) in left-aligned columns; numbers right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [
            cell.rjust(width) if index == 2 else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=False))
        ]
        print("  ".join([*cells, row[-1]]).rstrip(), file=out)


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from ..scoring import Scorer

    data = sample.generate(args.customers, as_of=as_of(args.as_of), seed=args.seed)
    scores = Scorer().score_many(data.customers, data.events, as_of=data.as_of)
    segments = {customer.id: customer.segment for customer in data.customers}
    ordered = list(scores)
    if args.sort == "score":
        ordered.sort(key=lambda h: (-1.0 if h.score is None else h.score, h.customer_id))
    rows = [["customer", "segment", "score", "status", "weakest factor"]]
    for health in ordered:
        shown = "-" if health.score is None else f"{health.score:.1f}"
        rows.append(
            [
                health.customer_id,
                segments[health.customer_id],
                shown,
                health.status.value,
                weakest(health),
            ]
        )
    _table(rows, out)
    counts = Counter(health.status for health in scores)
    summary = ", ".join(f"{counts[status]} {status.value}" for status in HealthStatus)
    print(
        f"\n{len(scores)} customers, {len(data.events)} events, as of "
        f"{data.as_of.isoformat()}: {summary}",
        file=out,
    )
    return EXIT_OK


# -- sample --------------------------------------------------------------------------


def add_sample(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``sample`` subcommand."""
    make = add_command(
        commands,
        "sample",
        help="write a generated sample portfolio to files",
        description="Write sample customers and events: JSON Lines (instants as ISO 8601 "
        "text), or with --columnar numpy columns (.npz, needs the 'sample' extra).",
        examples="""
customer-health sample -o data --customers 500
customer-health score --customers data/customers.jsonl --events data/events.jsonl \\
    --as-of 2026-06-30
customer-health sample -o big --columnar --customers 100000 --events 10000000
""",
    )
    make.add_argument("-o", "--output", required=True, metavar="DIR", help="directory to write")
    _portfolio_options(make, customers=200)
    make.add_argument(
        "--columnar",
        action="store_true",
        help="write numpy columns (fast, tens of millions of events; needs numpy)",
    )
    make.add_argument(
        "--events",
        type=count,
        metavar="M",
        help="with --columnar: how many events (default 100 per customer)",
    )
    make.add_argument(
        "--include-not-created",
        action="store_true",
        help="also write a few customers created after --as-of",
    )
    make.set_defaults(handler=_sample, check=lambda args: check_sample(make, args))


def check_sample(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject option combinations argparse cannot express (exits with code 2)."""
    if args.events is not None and not args.columnar:
        parser.error("--events needs --columnar (the portfolio sets the count)")
    if args.include_not_created and args.columnar:
        parser.error("--include-not-created does not apply to --columnar")


def _sample(args: argparse.Namespace, out: TextIO) -> int:
    directory = Path(args.output)
    if args.columnar:
        return _sample_columns(args, directory, out)
    instant = as_of(args.as_of)
    with progress() as shown:
        shown.phase("making customers' events")

        def made(done: int, total: int) -> None:
            shown.update(done, total)
            if done == total:  # then generate() checks the events as models
                shown.phase("checking the events")

        data = sample.generate(
            args.customers,
            as_of=instant,
            seed=args.seed,
            include_not_created=args.include_not_created,
            progress=made,
        )
        directory.mkdir(parents=True, exist_ok=True)
        for name, records, count in (
            ("customers.jsonl", data.customer_dicts(iso=True), len(data.customers)),
            ("events.jsonl", data.event_dicts(iso=True), len(data.events)),
        ):
            shown.phase(f"writing {name}", total=count)
            with (directory / name).open("w", encoding="utf-8") as file:
                for index, record in enumerate(records, 1):
                    file.write(json.dumps(record, sort_keys=True) + "\n")
                    if index % 10_000 == 0:
                        shown.advance(10_000)
    print(
        f"wrote {len(data.customers)} customers and {len(data.events)} events "
        f"(as of {data.as_of.isoformat()}) to {directory}/customers.jsonl and events.jsonl",
        file=out,
    )
    return EXIT_OK


def _sample_columns(args: argparse.Namespace, directory: Path, out: TextIO) -> int:
    numpy = require_extra("numpy", "sample", "customer-health sample --columnar")
    events = 100 * args.customers if args.events is None else args.events
    customers, columns = sample.generate_columns(
        args.customers, events, as_of=as_of(args.as_of), seed=args.seed
    )
    directory.mkdir(parents=True, exist_ok=True)
    numpy.savez(directory / "customers.npz", **customers)
    numpy.savez(directory / "events.npz", **columns)
    print(
        f"wrote {args.customers} customers and {events} events as numpy columns to "
        f"{directory}/customers.npz and events.npz",
        file=out,
    )
    return EXIT_OK
