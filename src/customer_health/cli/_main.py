"""The parser of every subcommand, and :func:`main`, which runs one and turns errors
into one line and an exit code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from .._terms import in_terms_of
from ..exceptions import ConfigurationError, CustomerHealthError, MissingExtraError
from ._backtest import add_backtest, add_fit
from ._common import (
    EXIT_DATA,
    EXIT_FAILURE,
    EXIT_USAGE,
    PROG,
    CommandError,
    UsageError,
    add_debug,
)
from ._export import add_export_sql
from ._plugins import add_plugins
from ._portfolio import add_demo, add_sample
from ._score import add_explain, add_score
from ._service import add_db, add_serve, add_worker

__all__ = ["main"]

Handler = Callable[[argparse.Namespace, TextIO], int]

_EXAMPLES = """\
examples:
  customer-health score --customers customers.csv --events events.parquet
  customer-health explain acme --customers customers.csv --events events.csv
  customer-health score --database-url sqlite:///customer-health.db -o scores.csv
  customer-health plugins
  customer-health demo
  customer-health COMMAND --help
"""


def _version() -> str:
    from .._version import installed_version

    return installed_version()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Exact, explainable customer health scores from usage events.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    add_debug(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (
        add_score,
        add_explain,
        add_backtest,
        add_fit,
        add_export_sql,
        add_plugins,
        add_demo,
        add_sample,
        add_serve,
        add_worker,
        add_db,
    ):
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``customer-health`` command with ``argv`` (default: ``sys.argv[1:]``);
    return the exit code.

    Errors print one line, ``customer-health: error: ...``, and exit with
    :data:`EXIT_DATA` (3) for bad data (a file, a value the library rejects),
    :data:`EXIT_USAGE` (2) for a wrong command line, a setting the command refuses
    (a :class:`~customer_health.ConfigurationError`) or a missing optional dependency,
    :data:`EXIT_FAILURE` (1) for an operating-system error (an output that cannot be
    written). ``--debug`` (before or after the subcommand) shows the traceback instead.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        check = getattr(args, "check", None)
        if check is not None:
            check(args)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Handler = args.handler
    try:
        return handler(args, sys.stdout)
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python's recipe for the final flush
        return EXIT_FAILURE
    except (CustomerHealthError, CommandError) as exc:
        if args.debug:
            raise
        _error(in_terms_of(str(exc), "cli"))  # the flags, not the keyword arguments
        return (
            EXIT_USAGE
            if isinstance(exc, UsageError | ConfigurationError | MissingExtraError)
            else EXIT_DATA
        )
    except OSError as exc:
        if args.debug:
            raise
        _error(str(exc))
        return EXIT_FAILURE


def _error(message: str) -> None:
    # One line, whatever the message holds, so scripts can grep it.
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
