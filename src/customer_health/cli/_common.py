"""What every subcommand shares: exit codes, errors, optional imports, help layout."""

from __future__ import annotations

import argparse
import os
import textwrap

from .._extras import require_extra

__all__ = [
    "DATABASE_ENV",
    "EXIT_DATA",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "CommandError",
    "UsageError",
    "add_command",
    "add_debug",
    "count",
    "database_url",
    "require_extra",
]

PROG = "customer-health"
"""The name of the command, as in its messages."""
EXIT_OK = 0
EXIT_FAILURE = 1
"""An operating-system error (a file that cannot be written, ...)."""
EXIT_USAGE = 2
"""The command line is wrong: an unknown or missing option, options that do not go
together, an option's value that is not what it takes (argparse's own code), a setting
the command refuses (serving open without API keys, say), or a missing optional
dependency."""
EXIT_DATA = 3
"""The data is wrong: a file that cannot be read, a value the model rejects, an unknown
customer or event kind, a database without the tables: an error of the library."""
DATABASE_ENV = "CUSTOMER_HEALTH_DATABASE_URL"
"""The database URL the commands use when not given ``--database-url`` (as the service)."""


class CommandError(Exception):
    """Bad input the command itself finds (a file it cannot read, an unknown format, a
    row it cannot take): printed as one line, exit code :data:`EXIT_DATA`. The message
    names what is wrong and where."""


class UsageError(CommandError):
    """Options that do not go together or an option's value the command cannot take:
    exit code :data:`EXIT_USAGE`, as argparse's own errors."""


def count(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    description: str,
    examples: str,
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with ``examples`` (kept as written); it takes
    ``--debug`` too, as the main parser does (before or after the subcommand)."""
    parser = commands.add_parser(
        name,
        help=help,
        description=textwrap.fill(description, width=78),
        epilog="examples:\n" + _indented(examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_debug(parser, default=argparse.SUPPRESS)  # not given here: the main parser's
    return parser


def add_debug(parser: argparse.ArgumentParser, *, default: object = False) -> None:
    """``--debug``: a traceback instead of the one-line error."""
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show a traceback when something goes wrong",
    )


def _indented(text: str) -> str:
    return "\n".join(f"  {line}" if line else line for line in text.strip("\n").splitlines())


def database_url(given: str | None) -> str | None:
    """``--database-url`` if given, else ``CUSTOMER_HEALTH_DATABASE_URL`` (None if neither)."""
    return given or os.environ.get(DATABASE_ENV) or None
