"""The ``customer-health`` command (argparse only; no extra needed).

::

    customer-health demo [--customers N] [--seed S] [--as-of ISO] [--sort score|id]
    customer-health sample --output DIR [--customers N] [--seed S] [--as-of ISO]
                           [--columnar [--events M]] [--include-not-created]
    customer-health serve [--host H] [--port P] [--database-url URL] [--no-worker]
    customer-health worker [--database-url URL] [--interval S]
    customer-health --version

Errors of the library print as one line, ``customer-health: error: ...``, with exit
code 2 (``--debug`` shows the traceback instead). A subcommand that needs an optional
dependency says which ``pip install 'customer-health[extra]'`` provides it, the same
way (see :func:`require_extra`).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TextIO

from . import sample
from .exceptions import CustomerHealthError, MissingExtraError
from .models import HealthScore, HealthStatus

if TYPE_CHECKING:
    from .service import Settings

__all__ = ["PROG", "main", "require_extra"]

PROG = "customer-health"
"""The name of the command, as in its messages."""
EXIT_OK = 0
EXIT_FAILURE = 1
"""An operating-system error (a file that cannot be written, ...)."""
EXIT_USAGE = 2
"""Bad arguments, an error of the library, or a missing optional dependency."""

Handler = Callable[[argparse.Namespace, TextIO], int]


def require_extra(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise :class:`MissingExtraError` naming the
    ``pip install 'customer-health[extra]'`` that provides it.

    Subcommands call this before they start work, so a missing optional dependency
    is reported as one line (exit code 2) rather than as a traceback halfway through.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(module, extra, feature) from None


def _version() -> str:
    from . import __version__

    return str(__version__)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


def _portfolio_options(parser: argparse.ArgumentParser, customers: int) -> None:
    parser.add_argument(
        "--customers",
        type=_count,
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


def _weakest(health: HealthScore) -> str:
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
    from .scoring import Scorer

    data = sample.generate(args.customers, as_of=args.as_of, seed=args.seed)
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
                _weakest(health),
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


def _sample(args: argparse.Namespace, out: TextIO) -> int:
    directory = Path(args.output)
    if args.columnar:
        return _sample_columns(args, directory, out)
    data = sample.generate(
        args.customers,
        as_of=args.as_of,
        seed=args.seed,
        include_not_created=args.include_not_created,
    )
    directory.mkdir(parents=True, exist_ok=True)
    for name, records in (
        ("customers.jsonl", data.customer_dicts(iso=True)),
        ("events.jsonl", data.event_dicts(iso=True)),
    ):
        with (directory / name).open("w", encoding="utf-8") as file:
            for record in records:
                file.write(json.dumps(record, sort_keys=True) + "\n")
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
        args.customers, events, as_of=args.as_of, seed=args.seed
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


# -- the command ---------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Exact, explainable customer health scores from usage events.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback when something goes wrong"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="score a generated sample portfolio and print a table",
        description="Generate a sample portfolio, score it and print one line per "
        "customer (worst first) with the factor that costs it the most points.",
    )
    _portfolio_options(demo, customers=20)
    demo.add_argument(
        "--sort",
        choices=["score", "id"],
        default="score",
        help="order of the table: worst score first (default) or by customer id",
    )
    demo.set_defaults(handler=_demo)

    make = commands.add_parser(
        "sample",
        help="write a generated sample portfolio to files",
        description="Write sample customers and events: JSON Lines (instants as ISO 8601 "
        "text), or with --columnar numpy columns (.npz, needs the 'sample' extra).",
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
        type=_count,
        metavar="M",
        help="with --columnar: how many events (default 100 per customer)",
    )
    make.add_argument(
        "--include-not-created",
        action="store_true",
        help="also write a few customers created after --as-of",
    )
    make.set_defaults(handler=_sample)

    serve = commands.add_parser(
        "serve",
        help="run the reference service (SQLite in the working directory by default)",
        description="Run the reference FastAPI service with uvicorn. Settings come from "
        "CUSTOMER_HEALTH_* environment variables; these options override them. On first "
        "run the tables are created and a sample portfolio is loaded. Example: "
        "customer-health serve --port 8000 --database-url postgresql+psycopg://localhost/db",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    _service_options(serve)
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not rescore in this process (run 'customer-health worker' instead)",
    )
    serve.set_defaults(handler=_serve)

    work = commands.add_parser(
        "worker",
        help="rescore pending customers until stopped (several may run on PostgreSQL)",
        description="Drain the store's rescoring queue until SIGINT or SIGTERM; the batch "
        "in progress finishes first. Example: customer-health worker --interval 0.5",
    )
    _service_options(work)
    work.add_argument(
        "--interval", type=float, metavar="S", help="seconds between looks at the queue"
    )
    work.set_defaults(handler=_worker)
    return parser


def _service_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="database to use (default: CUSTOMER_HEALTH_DATABASE_URL, else "
        "sqlite:///customer-health.db)",
    )


def _settings(args: argparse.Namespace, **given: Any) -> Settings:
    require_extra("fastapi", "service", f"customer-health {args.command}")
    from .service import Settings

    if args.database_url:
        given["database_url"] = args.database_url
    return Settings(**given)


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    settings = _settings(args, **({"worker": False} if args.no_worker else {}))
    import uvicorn

    from .service import create_app
    from .service.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    # What is loaded by now (modules, the app, its models) lives as long as the process:
    # out of the cyclic collector's way, its full collections only walk what requests
    # leave behind (otherwise pauses of tens of milliseconds under load). Fewer young
    # collections too: requests allocate many short-lived containers.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,  # the app logs each request itself, with its request id
        log_config=None,
        timeout_graceful_shutdown=30,
    )
    return EXIT_OK


def _worker(args: argparse.Namespace, out: TextIO) -> int:
    given: dict[str, Any] = {}
    if args.interval is not None:
        given["worker_interval"] = args.interval
    settings = _settings(args, **given)
    import signal

    from .service import Worker, make_store
    from .service.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    store = make_store(settings)
    if settings.create_tables:
        store.upgrade()
    worker = Worker(store, interval=settings.worker_interval, settle=settings.worker_settle)

    def stop(signum: int, frame: object) -> None:
        worker.stop(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        worker.run()
    finally:
        store.close()
    return EXIT_OK


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject option combinations argparse cannot express (exits with code 2)."""
    if args.command == "sample":
        if args.events is not None and not args.columnar:
            parser.error("sample: --events needs --columnar (the portfolio sets the count)")
        if args.include_not_created and args.columnar:
            parser.error("sample: --include-not-created does not apply to --columnar")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``customer-health`` command with ``argv`` (default: ``sys.argv[1:]``);
    return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        _check(parser, args)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Handler = args.handler
    try:
        return handler(args, sys.stdout)
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python's recipe for the final flush
        return EXIT_FAILURE
    except CustomerHealthError as exc:
        if args.debug:
            raise
        _error(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        if args.debug:
            raise
        _error(str(exc))
        return EXIT_FAILURE


def _error(message: str) -> None:
    # One line, whatever the message holds, so scripts can grep it.
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
