"""What every subcommand shares: exit codes, errors, optional imports, help layout."""

from __future__ import annotations

import argparse
import os
import textwrap

from .._extras import require_extra

__all__ = [
    "DATABASE_ENV",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "CommandError",
    "add_command",
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
"""Bad arguments or input, an error of the library, or a missing optional dependency."""
DATABASE_ENV = "CUSTOMER_HEALTH_DATABASE_URL"
"""The database URL the commands use when not given ``--database-url`` (as the service)."""


class CommandError(Exception):
    """Bad input the command itself finds (a file it cannot read, an unknown format,
    a bad option value): printed as one line, exit code 2. The message names what is
    wrong and where."""


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
    """A subcommand whose ``--help`` ends with ``examples`` (kept as written)."""
    return commands.add_parser(
        name,
        help=help,
        description=textwrap.fill(description, width=78),
        epilog="examples:\n" + _indented(examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _indented(text: str) -> str:
    return "\n".join(f"  {line}" if line else line for line in text.strip("\n").splitlines())


def database_url(given: str | None) -> str | None:
    """``--database-url`` if given, else ``CUSTOMER_HEALTH_DATABASE_URL`` (None if neither)."""
    return given or os.environ.get(DATABASE_ENV) or None
