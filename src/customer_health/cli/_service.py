"""``serve``, ``worker`` and ``db upgrade``: the reference service and its database."""

from __future__ import annotations

import argparse
import gc
from typing import TYPE_CHECKING, Any, TextIO

from ._common import DATABASE_ENV, EXIT_OK, add_command, database_url, require_extra
from ._database import open_store
from ._sources import add_kind_options, add_model_option, event_kinds

if TYPE_CHECKING:
    from ..service import Settings

__all__ = ["add_db", "add_serve", "add_worker"]


def _service_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help=f"database to use (default: {DATABASE_ENV}, else sqlite:///customer-health.db)",
    )


def _settings(args: argparse.Namespace, **given: Any) -> Settings:
    require_extra("fastapi", "service", f"customer-health {args.command}")
    from ..service import Settings

    if args.database_url:
        given["database_url"] = args.database_url
    if getattr(args, "model", None) is not None:
        given["model"] = args.model
    return Settings(**given)


# -- serve ---------------------------------------------------------------------------


def add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``serve`` subcommand."""
    serve = add_command(
        commands,
        "serve",
        help="run the reference service (SQLite in the working directory by default)",
        description="Run the reference FastAPI service with uvicorn. Settings come from "
        "CUSTOMER_HEALTH_* environment variables; these options override them. On first "
        "run the tables are created, and the default demo database (not one named by "
        "--database-url or CUSTOMER_HEALTH_DATABASE_URL) gets a sample portfolio. "
        "Without API keys (CUSTOMER_HEALTH_API_KEYS) it serves only on a loopback "
        "address unless --allow-open is given.",
        examples="""
customer-health serve
customer-health serve --port 8000 --database-url postgresql+psycopg://localhost/db
CUSTOMER_HEALTH_API_KEYS=k1,k2 customer-health serve --host 0.0.0.0
customer-health serve --database-url sqlite:///demo.db --sample 500
""",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    _service_options(serve)
    serve.add_argument(
        "--allow-open",
        action="store_true",
        default=None,
        help="serve without API keys on a non-loopback address: anyone who reaches it "
        "may read and write (CUSTOMER_HEALTH_ALLOW_OPEN=true)",
    )
    serve.add_argument(
        "--sample",
        type=_customers,
        metavar="N",
        help="load a sample portfolio of N invented customers into an empty database "
        "(default: 200 into the default demo database only; 0: none)",
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not rescore in this process (run 'customer-health worker' instead)",
    )
    add_kind_options(serve)  # CUSTOMER_HEALTH_EVENT_KINDS, CUSTOMER_HEALTH_UNKNOWN_KINDS=keep
    add_model_option(serve)  # CUSTOMER_HEALTH_MODEL
    serve.set_defaults(handler=_serve)


def _customers(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    given: dict[str, Any] = {}
    if args.no_worker:
        given["worker"] = False
    if args.allow_open:
        given["allow_open"] = True
    if args.sample is not None:
        given["sample_customers"] = args.sample
    if args.event_kind:
        given["event_kinds"] = event_kinds(args)
    if args.keep_unknown_kinds:
        given["unknown_kinds"] = "keep"
    settings = _settings(args, **given)
    settings.check_exposure(args.host)
    import uvicorn

    from ..service import create_app
    from ..service.logs import configure_logging

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


# -- worker --------------------------------------------------------------------------


def add_worker(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``worker`` subcommand."""
    work = add_command(
        commands,
        "worker",
        help="rescore pending customers until stopped (several may run on PostgreSQL)",
        description="Drain the store's rescoring queue until SIGINT or SIGTERM; the batch "
        "in progress finishes first.",
        examples="""
customer-health worker --interval 0.5
customer-health worker --database-url postgresql+psycopg://localhost/db
""",
    )
    _service_options(work)
    work.add_argument(
        "--interval", type=float, metavar="S", help="seconds between looks at the queue"
    )
    add_model_option(work)  # CUSTOMER_HEALTH_MODEL
    work.set_defaults(handler=_worker)


def _worker(args: argparse.Namespace, out: TextIO) -> int:
    given: dict[str, Any] = {}
    if args.interval is not None:
        given["worker_interval"] = args.interval
    settings = _settings(args, **given)
    import signal

    from ..service import Worker, make_store
    from ..service.logs import configure_logging

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


# -- db upgrade ----------------------------------------------------------------------


def add_db(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``db`` subcommand and its ``upgrade``."""
    db = add_command(
        commands,
        "db",
        help="manage the database of the SQL store (db upgrade: run the migrations)",
        description="Manage the database of the SQL store.",
        examples="""
customer-health db upgrade --database-url postgresql+psycopg://localhost/db
""",
    )
    actions = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    upgrade = add_command(
        actions,
        "upgrade",
        help="create or migrate the tables to the latest version (the shipped migrations)",
        description="Run the shipped Alembic migrations: create the store's tables in an "
        "empty database, or bring older ones to the latest version. Running it again does "
        "nothing. The database is --database-url, else "
        f"{DATABASE_ENV}, else sqlite:///customer-health.db.",
        examples="""
customer-health db upgrade --database-url sqlite:///scores.db
CUSTOMER_HEALTH_DATABASE_URL=postgresql+psycopg://localhost/db customer-health db upgrade
""",
    )
    _service_options(upgrade)
    upgrade.set_defaults(handler=_upgrade)


def _upgrade(args: argparse.Namespace, out: TextIO) -> int:
    from ..storage._store import DEFAULT_URL

    url = database_url(args.database_url) or DEFAULT_URL
    with open_store(url, "customer-health db upgrade", must_exist=False) as store:
        store.upgrade()
        shown = store.engine.url.render_as_string(hide_password=True)
    print(f"{shown}: the tables are at the latest version", file=out)
    return EXIT_OK
