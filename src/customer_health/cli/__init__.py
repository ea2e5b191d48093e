"""The ``customer-health`` command (also ``python -m customer_health``).

::

    customer-health score (--customers FILE --events FILE | --database-url URL)
                          [--as-of ISO] [-o FILE] [--output-format csv|parquet|jsonl]
    customer-health explain CUSTOMER_ID (--customers FILE --events FILE | --database-url URL)
                          [--as-of ISO]
    customer-health plugins [--json]
    customer-health demo [--customers N] [--seed S] [--as-of ISO] [--sort score|id]
    customer-health sample --output DIR [--customers N] [--seed S] [--as-of ISO]
                           [--columnar [--events M]] [--include-not-created]
    customer-health serve [--host H] [--port P] [--database-url URL] [--no-worker]
    customer-health worker [--database-url URL] [--interval S]
    customer-health db upgrade [--database-url URL]
    customer-health --version

``demo``, ``sample`` and ``plugins`` need nothing more than the package; ``score``
and ``explain`` read files with the ``cli`` extra (polars, narwhals, rich) and
databases with ``sqlalchemy`` (``postgres`` for PostgreSQL); ``serve`` and ``worker``
need ``service``. A missing extra is reported as one line naming the
``pip install 'customer-health[extra]'`` that provides it (see :func:`require_extra`).

Errors print as one line, ``customer-health: error: ...``, naming what is wrong and
where (the file and line, the option, the database), in the command's words (its
flags, not the library's keyword arguments). The exit codes: :data:`EXIT_DATA` (3) for
data the command cannot take (a file, a value the library rejects), :data:`EXIT_USAGE`
(2) for a wrong command line (argparse's own code) or a missing extra,
:data:`EXIT_FAILURE` (1) for an output that cannot be written. ``--debug`` (before or
after the subcommand) shows the traceback instead. Output files are written whole or not
at all. The guide is ``docs/cli.md``.
"""

from __future__ import annotations

from ._common import EXIT_DATA, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, PROG, require_extra
from ._main import main

__all__ = ["EXIT_DATA", "EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "PROG", "main", "require_extra"]
