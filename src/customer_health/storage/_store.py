"""The SQLAlchemy store: customers, events, scores and the rescoring queue."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.pool import QueuePool

from .._format import plural, some
from .._inputs import resolve_as_of, validate_customer
from .._terms import UPDATE_CUSTOMER
from ..engines.objects import validated_events
from ..exceptions import (
    ConfigurationError,
    CustomerExistsError,
    MissingExtraError,
    UnknownCustomerError,
)
from ..model import check_created
from ..models import Customer, Event, HealthScore
from ..scoring import HealthScores, Scorer, default_scorer
from . import _idempotency, _queries
from ._compute import compute_scores
from ._ingest import RaceLost, mark_pending, record_events
from ._retry import connection_lost, describe, retry_delay
from ._tables import customers, metadata, pending
from ._upsert import SUPPORTED_DIALECTS
from .models import (
    Drained,
    IdempotentWrite,
    Page,
    PortfolioStats,
    Recorded,
    Replay,
    ScoredCustomer,
    ScoringState,
)

__all__ = ["DEFAULT_URL", "SQLAlchemyStore", "create_engine"]

DEFAULT_URL = "sqlite:///customer-health.db"
"""Where a store keeps its data when given no engine: a SQLite file in the working
directory."""

Order = Literal["score", "-score", "name", "-name"]
logger = logging.getLogger("customer_health.storage")
_ATTEMPTS = 5
"""Times a batch of events is tried while other writers keep storing its ids first."""


def create_engine(url: str | sa.URL, **kwargs: Any) -> sa.Engine:
    """An engine for ``url`` set up for the store.

    SQLite gets write-ahead logging and a busy timeout (several processes may share a
    file), transactions that take the write lock when they begin if they will write
    (so two writers queue instead of failing), and one connection, taken in turns, for
    an in-memory database (each connection would otherwise see a database of its own).
    """
    url = sa.make_url(url)
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, **kwargs)
    memory = url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    if memory:
        # The database lives in its one connection: every thread shares it, one at a
        # time (a pool of one, which the others wait for).
        kwargs.setdefault("poolclass", QueuePool)
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs["connect_args"] = {"check_same_thread": False, **kwargs.get("connect_args", {})}
    engine = sa.create_engine(url, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN (pysqlite's own is deferred and late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        writes = connection.get_execution_options().get("customer_health_writes", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


class SQLAlchemyStore:
    """Customers, events and scores in a SQL database, with rescoring in SQL.

    :param engine: a SQLAlchemy :class:`~sqlalchemy.Engine` or a URL (default
        :data:`DEFAULT_URL`). SQLite and PostgreSQL (``postgresql+psycopg://``) are
        supported. An engine made from a URL is the store's: :meth:`close` disposes it.
    :param scorer: the :class:`~customer_health.Scorer` to score with (default: the
        default model with the installed plugins); its known event kinds decide which
        events :meth:`record_many` accepts (``Scorer(event_kinds=[...])`` adds kinds,
        ``Scorer(unknown_kinds="keep")`` accepts every kind).
    :param max_age: a score older than this is due again (windows slide even when no
        event arrives); :meth:`rescore_pending` rescores those too.
    :param batch_size: customers per transaction in :meth:`rescore_pending`.
    :param chunk_size: events staged at a time when recording a batch.
    :param clock: returns the current instant (tests pass a fixed one).
    :param retry_delay: a customer whose scoring fails in :meth:`rescore_pending` stays
        pending and is tried again after this long, twice as long after each further
        failure in a row ...
    :param retry_max_delay: ... up to this long.

    Create the tables with :meth:`create_all` (notebooks, tests) or the shipped
    Alembic migrations (:meth:`upgrade`).
    """

    def __init__(
        self,
        engine: sa.Engine | str | sa.URL | None = None,
        *,
        scorer: Scorer | None = None,
        max_age: timedelta = timedelta(hours=24),
        batch_size: int = 500,
        chunk_size: int = 50_000,
        clock: Callable[[], datetime] | None = None,
        retry_delay: timedelta = timedelta(seconds=1),
        retry_max_delay: timedelta = timedelta(hours=1),
    ) -> None:
        self._owns_engine = not isinstance(engine, sa.Engine)
        self.engine: sa.Engine = (
            engine if isinstance(engine, sa.Engine) else create_engine(engine or DEFAULT_URL)
        )
        if self.engine.dialect.name not in SUPPORTED_DIALECTS:
            raise ConfigurationError(
                f"database {self.engine.dialect.name!r} is not supported; use one of "
                f"{', '.join(SUPPORTED_DIALECTS)}"
            )
        for label, value in (("batch_size", batch_size), ("chunk_size", chunk_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"{label} must be a positive integer, not {value!r}")
        if not isinstance(max_age, timedelta) or max_age <= timedelta(0):
            raise ConfigurationError(f"max_age must be a positive timedelta, not {max_age!r}")
        if not isinstance(retry_delay, timedelta) or retry_delay <= timedelta(0):
            raise ConfigurationError(
                f"retry_delay must be a positive timedelta, not {retry_delay!r}"
            )
        if not isinstance(retry_max_delay, timedelta) or retry_max_delay < retry_delay:
            raise ConfigurationError(
                f"retry_max_delay must be a timedelta of at least retry_delay ({retry_delay}), "
                f"not {retry_max_delay!r}"
            )
        self.scorer: Scorer = scorer or default_scorer()
        self.max_age = max_age
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.retry_delay = retry_delay
        self.retry_max_delay = retry_max_delay
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"<SQLAlchemyStore {self.engine.url.render_as_string(hide_password=True)}>"

    def __enter__(self) -> SQLAlchemyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Dispose of the engine if the store made it (from a URL)."""
        if self._owns_engine:
            self.engine.dispose()

    # -- schema -------------------------------------------------------------------

    def create_all(self) -> None:
        """Create the tables that do not exist yet (without Alembic's bookkeeping)."""
        metadata.create_all(self.engine)

    def upgrade(self, revision: str = "heads") -> None:
        """Run the shipped Alembic migrations up to ``revision``."""
        from .migrations import upgrade

        upgrade(self.engine, revision)

    # -- plumbing -------------------------------------------------------------------

    def now(self) -> datetime:
        """The store's clock, as an aware UTC datetime."""
        return resolve_as_of(self._clock())

    @contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as connection:
            connection.execution_options(customer_health_writes=True)
            with connection.begin():
                yield connection

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    # -- customers -----------------------------------------------------------------

    def add_customer(
        self,
        customer: Customer | Mapping[str, Any],
        *,
        idempotency: IdempotentWrite | None = None,
    ) -> Customer:
        """Add one customer; an id already stored is a :class:`CustomerExistsError`.

        :param idempotency: a key claimed with :meth:`claim_idempotency_key`, completed
            in this write's transaction with the customer's JSON as its answer.
        """
        return self._add_customers([customer], idempotency)[0]

    def add_customers(self, new: Iterable[Customer | Mapping[str, Any]]) -> list[Customer]:
        """Add customers, all or none; each is due for scoring."""
        return self._add_customers(new, None)

    def _add_customers(
        self, new: Iterable[Customer | Mapping[str, Any]], idempotency: IdempotentWrite | None
    ) -> list[Customer]:
        models = [validate_customer(raw, index) for index, raw in enumerate(new)]
        seen: set[str] = set()
        for model in models:
            self.scorer.expectations(model)  # an unknown segment is an error now
            if model.id in seen:
                raise CustomerExistsError(f"customer {model.id!r} appears twice in the batch")
            seen.add(model.id)
        if not models:
            return []
        now = self.now()
        with self._writing() as connection:
            existing = _queries.existing_ids(connection, [m.id for m in models])
            if existing:
                raise CustomerExistsError(
                    f"{plural(len(existing), 'customer')} already stored: {some(existing)}; "
                    f"update them with {UPDATE_CUSTOMER}"
                )
            connection.execute(customers.insert(), [_customer_row(m, now) for m in models])
            mark_pending(connection, [m.id for m in models], now)
            if idempotency is not None:  # add_customer's: one customer, its answer
                _idempotency.complete(connection, idempotency, models[0].model_dump_json())
        return models

    def update_customer(
        self,
        customer: Customer | Mapping[str, Any],
        *,
        idempotency: IdempotentWrite | None = None,
    ) -> Customer:
        """Replace a stored customer (same ``id``); it is due for rescoring.

        :param idempotency: as for :meth:`add_customer` (the answer: the customer).
        """
        model = validate_customer(customer)
        self.scorer.expectations(model)  # an unknown segment is an error now
        now = self.now()
        with self._writing() as connection:
            row = _customer_row(model, now)
            del row["id"]
            statement = customers.update().where(customers.c.id == model.id).values(**row)
            updated = connection.execute(
                statement.execution_options(preserve_rowcount=True)
            ).rowcount
            if not updated:
                raise UnknownCustomerError(f"unknown customer {model.id!r}; add it first")
            mark_pending(connection, [model.id], now)
            if idempotency is not None:
                _idempotency.complete(connection, idempotency, model.model_dump_json())
        return model

    def get_customer(self, customer_id: str) -> Customer:
        """The stored customer ``customer_id`` (:class:`UnknownCustomerError` if none)."""
        with self._reading() as connection:
            return _queries.customer(connection, customer_id)

    def count_customers(self) -> int:
        """How many customers are stored."""
        with self._reading() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(customers)
            ).scalar_one()

    # -- idempotency keys -------------------------------------------------------------

    def claim_idempotency_key(self, write: IdempotentWrite) -> Replay | None:
        """Claim ``write``'s key before its write: ``None`` when the write is to run (then
        pass ``write`` to it, which completes the key, or :meth:`release_idempotency_key`
        if it fails), else the :class:`Replay` of the answer the key got before.

        Keys expire ``write.ttl`` after their first use. Raises
        :class:`~customer_health.IdempotencyKeyReusedError` for a key first used with
        another request, :class:`~customer_health.IdempotencyKeyInUseError` for one
        whose request is still running.
        """
        with self._writing() as connection:
            return _idempotency.claim(connection, write, self.now())

    def release_idempotency_key(self, write: IdempotentWrite) -> None:
        """Forget the claim of a write that failed, so that the key can be used again."""
        with self._writing() as connection:
            _idempotency.release(connection, write)

    # -- events --------------------------------------------------------------------

    def record(self, event: Event | Mapping[str, Any]) -> Recorded:
        """Record one event (see :meth:`record_many`)."""
        return self.record_many([event])

    def record_many(
        self,
        new: Iterable[Event | Mapping[str, Any]],
        *,
        idempotency: IdempotentWrite | None = None,
    ) -> Recorded:
        """Record events, all or none, and mark their customers due for rescoring.

        Idempotent by ``event_id``: an identical copy of a stored event is counted in
        :attr:`Recorded.duplicates` and stores nothing; the same ``event_id`` with
        other content is an :class:`~customer_health.EventConflictError` naming it.
        Events of customers not stored are an :class:`UnknownCustomerError`, and
        events of kinds the store's scorer does not know an
        :class:`~customer_health.UnknownEventKindError` (``Scorer(event_kinds=...)``
        declares kinds, ``Scorer(unknown_kinds="keep")`` stores every kind). Events
        stored earlier stay readable and scored whatever their kind.

        :param idempotency: as for :meth:`add_customer` (the answer: the
            :class:`Recorded`).
        """
        batch = validated_events(self.scorer.model.kinds, new)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self._writing() as connection:
                    stored, duplicates = record_events(
                        connection, batch, self.now(), self.chunk_size
                    )
                    recorded = Recorded(recorded=stored, duplicates=duplicates)
                    if idempotency is not None:
                        _idempotency.complete(connection, idempotency, recorded.model_dump_json())
            except RaceLost:
                if attempt == _ATTEMPTS:
                    raise
                continue  # another writer stored some of these events first: again
            return recorded
        raise AssertionError("unreachable")  # pragma: no cover

    def events(
        self,
        customer_id: str,
        *,
        start: datetime | date | str | None = None,
        end: datetime | date | str | None = None,
    ) -> list[Event]:
        """The customer's stored events with ``start <= occurred_at <= end``, oldest first."""
        with self._reading() as connection:
            _queries.customer(connection, customer_id)
            return _queries.customer_events(connection, customer_id, *_bounds(start, end))

    def frames(self) -> tuple[Any, Any]:
        """Every stored customer and event as polars DataFrames, the frames
        :meth:`Scorer.score_frame`, :func:`~customer_health.backtest` and
        :func:`~customer_health.fit` read (``customers, events = store.frames()``).
        Instants are aware UTC datetimes; each ``event_id`` is there once, as stored.
        Needs polars."""
        try:
            import polars  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise MissingExtraError(exc.name or "polars", "polars", "frames()") from exc
        from ._frames import stored_frames

        return stored_frames(self.engine)

    def count_events(self, customer_id: str | None = None) -> int:
        """How many events are stored (for one customer, if given)."""
        with self._reading() as connection:
            return _queries.count_events(connection, customer_id)

    # -- scoring -------------------------------------------------------------------

    def recalculate(
        self,
        customer_ids: Iterable[str] | None = None,
        *,
        as_of: datetime | date | str | None = None,
        save: bool = True,
    ) -> HealthScores:
        """Score customers (default: all) at ``as_of`` (default: now) from stored events.

        The built-in factors' inputs are computed by the database; the scores are
        stored unless ``save`` is false. Customers created after ``as_of`` are left
        out and listed in :attr:`HealthScores.not_created`; unknown ids are an
        :class:`UnknownCustomerError`.
        """
        instant = self.now() if as_of is None else resolve_as_of(as_of)
        with self._writing() if save else self._reading() as connection:
            return self._recalculate(connection, customer_ids, instant, save)

    def health(
        self, customer_id: str, *, as_of: datetime | date | str | None = None
    ) -> HealthScore:
        """One customer's score at ``as_of`` (default: now), computed, not stored.

        Raises :class:`~customer_health.CustomerNotCreatedError` if the customer did
        not exist yet at ``as_of``.
        """
        instant = self.now() if as_of is None else resolve_as_of(as_of)
        with self._reading() as connection:
            model = _queries.customer(connection, customer_id)
            check_created(model, instant)
            return compute_scores(connection, self.scorer, [model], instant, every_customer=False)[
                0
            ]

    def _recalculate(
        self,
        connection: sa.Connection,
        customer_ids: Iterable[str] | None,
        as_of: datetime,
        save: bool,
        failures: dict[str, Exception] | None = None,
    ) -> HealthScores:
        if customer_ids is None:
            models = _queries.all_customers(connection)
        else:
            if isinstance(customer_ids, str):
                raise ConfigurationError(
                    f"customer_ids={customer_ids!r} is a string; pass a list of ids"
                )
            models = _queries.customers_by_id(connection, list(dict.fromkeys(customer_ids)))
        alive = [m for m in models if m.created_at is None or m.created_at <= as_of]
        computed = compute_scores(
            connection,
            self.scorer,
            alive,
            as_of,
            every_customer=customer_ids is None,
            failures=failures,
        )
        if save:
            _queries.save_scores(connection, computed, self.now())
        result = HealthScores(computed)
        result.not_created = tuple(m.id for m in models if m.created_at and m.created_at > as_of)
        return result

    def rescore_pending(self, *, limit: int | None = None) -> int:
        """Rescore the customers that are due, in batches; return how many were rescored.

        Due are customers with events recorded (or changes) since their last score,
        customers never scored, and those whose latest score is older than
        ``max_age``, as of the drain's start (what is queued meanwhile waits for the
        next drain, so that a drain ends however busy the queue). Each batch is claimed
        and rescored in one transaction: several workers can drain at once on
        PostgreSQL (``FOR UPDATE SKIP LOCKED``), and a worker that dies mid-batch leaves
        its batch pending for the next drain. ``limit`` stops after about that many
        customers.

        A customer whose scoring raises (a plugin factor failing on its events, say)
        fails alone: a batch is scored in a savepoint, and one that raises is split in
        halves, again and again, down to the customers that fail on their own, while
        the others' scores are saved. A failing customer stays pending: its failed
        attempts in a row, the error and when are kept (see :meth:`scoring_state`) and
        logged as a warning (logger ``customer_health.storage``), and it is tried again
        after ``retry_delay``, twice as long after each further failure, at most
        ``retry_max_delay``; new events do not cut that short. Errors of the database
        itself (its connection lost) are no customer's: they are raised, and the batch
        is pending again as it was.

        Workers never lose work, but may now and then repeat it: a never-scored (or
        stale) customer that one worker is scoring when another starts its drain is
        queued again by the second (it cannot see the first's uncommitted score), and
        so scored twice. Events recorded while a customer is being scored always
        queue it again, so the last events are never missed.
        """
        return self.drain(limit).rescored

    def drain(self, limit: int | None = None) -> Drained:
        """:meth:`rescore_pending`, telling how many customers were rescored and how
        many failed (a worker goes on at once after a full batch of either: see
        :class:`customer_health.service.Worker`)."""
        started = self._mark_stale()
        claimed = rescored = failed = 0
        while limit is None or claimed < limit:
            size = self.batch_size if limit is None else min(self.batch_size, limit - claimed)
            with self._writing() as connection:
                now = self.now()
                # Only customers due when the drain started: those that fail (or are
                # queued) meanwhile wait for the next drain, so that every drain ends.
                attempts = _queries.claim_pending(connection, size, started)
                if not attempts:
                    break
                # Customers created after now leave the queue unscored; once they
                # exist, they are due as never scored.
                done, failures = self._rescore_batch(connection, attempts, now)
                requeued = self._requeue(connection, failures, attempts, now)
            for row in requeued:  # once they are on the queue again
                _log_failure(row, failures[row["customer_id"]])
            claimed += len(attempts)
            rescored += done
            failed += len(failures)
        return Drained(rescored=rescored, failed=failed)

    def _rescore_batch(
        self, connection: sa.Connection, attempts: Mapping[str, int], now: datetime
    ) -> tuple[int, dict[str, Exception]]:
        """Rescore and save the customers ``attempts`` counts the failures of, at
        ``now``; return how many were rescored and the error of each that failed.

        A part of the batch is scored in a savepoint (a failed statement aborts a
        PostgreSQL transaction): errors once the inputs are computed are put down to
        their customer without more ado (see :func:`compute_scores`); any other error
        rolls the part back, and its halves are tried in turn, down to single
        customers, whose error is then their own. Customers that failed before are a
        part of their own, so that they cost the others nothing if they fail again.
        The connection's errors are raised.
        """
        failures: dict[str, Exception] = {}
        rescored = 0
        retried = [customer_id for customer_id, count in attempts.items() if count]
        fresh = [customer_id for customer_id, count in attempts.items() if not count]
        parts = [part for part in (retried, fresh) if part]  # the fresh ones first
        while parts:
            part = parts.pop()
            found: dict[str, Exception] = {}
            try:
                with connection.begin_nested():
                    result = self._recalculate(connection, part, now, save=True, failures=found)
            except Exception as exc:
                if connection_lost(exc):
                    raise
                if len(part) == 1:
                    failures[part[0]] = exc
                else:  # the first half next, then the second
                    parts += [part[len(part) // 2 :], part[: len(part) // 2]]
                continue
            for error in found.values():
                if connection_lost(error):
                    raise error
            rescored += len(result)
            failures.update(found)
        return rescored, failures

    def _requeue(
        self,
        connection: sa.Connection,
        failures: Mapping[str, Exception],
        attempts: Mapping[str, int],
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Put the customers that failed back on the queue, each with one more failed
        attempt, its error, and a ``since`` at the end of its backoff; return the rows."""
        rows: list[dict[str, Any]] = []
        for customer_id, error in failures.items():
            count = attempts[customer_id] + 1
            delay = retry_delay(count, self.retry_delay, self.retry_max_delay)
            rows.append(
                {
                    "customer_id": customer_id,
                    "attempts": count,
                    "last_error": describe(error),
                    "failed_at": now,
                    "since": now + delay,
                }
            )
        _queries.requeue_failed(connection, rows)
        return rows

    def _mark_stale(self) -> datetime:
        """Queue the customers never scored or with a stale score; return the instant."""
        now = self.now()
        with self._writing() as connection:
            _queries.mark_stale(connection, now, now - self.max_age)
        return now

    def pending_count(self) -> int:
        """How many customers are waiting to be rescored (those whose last attempt
        failed included, though they wait out their backoff first)."""
        with self._reading() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(pending)).scalar_one()

    def scoring_state(self, customer_id: str) -> ScoringState:
        """Where ``customer_id`` stands in the rescoring queue: pending or not, due
        when, and its failed attempts in a row with the last one's error and time
        (:class:`UnknownCustomerError` if the customer is not stored)."""
        with self._reading() as connection:
            _queries.customer(connection, customer_id)
            return _queries.scoring_state(connection, customer_id)

    # -- queries -------------------------------------------------------------------

    def latest(
        self,
        *,
        status: str | Sequence[str] | None = None,
        segment: str | Sequence[str] | None = None,
        search: str | None = None,
        order: Order = "score",
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Customers with their latest score, one page at a time (keyset pagination).

        ``order`` is ``score`` (lowest first; never-scored and ``unknown`` first of
        all), ``-score``, ``name`` or ``-name``; ties go by id. ``search`` matches a
        part of the name, ignoring case. Pass the page's ``next_cursor`` as ``cursor``
        for the next page.
        """
        with self._reading() as connection:
            return _queries.latest_page(
                connection,
                status=status,
                segment=segment,
                search=search,
                order=order,
                limit=limit,
                cursor=cursor,
            )

    def scored_customer(self, customer_id: str) -> ScoredCustomer:
        """The customer ``customer_id`` with its latest stored score and its
        :class:`ScoringState`, as :meth:`latest` lists it (one query;
        :class:`UnknownCustomerError` if it is not stored)."""
        with self._reading() as connection:
            return _queries.scored_customer(connection, customer_id)

    def latest_score(self, customer_id: str) -> HealthScore | None:
        """The customer's stored score with the latest ``as_of`` (``None`` if none)."""
        with self._reading() as connection:
            _queries.customer(connection, customer_id)
            return _queries.latest_score(connection, customer_id)

    def latest_documents(self, customer_ids: Iterable[str]) -> dict[str, str]:
        """The latest stored scores of ``customer_ids`` as JSON text, by customer id:
        each what ``latest_score(customer_id).model_dump_json()`` gives, as stored.

        Customers without a stored score - or not stored at all (this does not look
        them up) - are left out. One query on the primary key, for serving reads.
        """
        ids = list(dict.fromkeys(customer_ids))
        if not ids:
            return {}
        with self._reading() as connection:
            return _queries.latest_documents(connection, ids)

    def history(
        self,
        customer_id: str,
        *,
        start: datetime | date | str | None = None,
        end: datetime | date | str | None = None,
    ) -> list[HealthScore]:
        """The customer's stored scores with ``start <= as_of <= end``, oldest first."""
        with self._reading() as connection:
            _queries.customer(connection, customer_id)
            return _queries.history(connection, customer_id, *_bounds(start, end))

    def stats(self, *, changes_days: int = 7, bins: int = 10) -> PortfolioStats:
        """Portfolio statistics over the latest scores (see :class:`PortfolioStats`)."""
        if not isinstance(changes_days, int) or changes_days < 1:
            raise ConfigurationError(
                f"changes_days must be a positive integer, not {changes_days!r}"
            )
        if not isinstance(bins, int) or not 1 <= bins <= 100:
            raise ConfigurationError(f"bins must be an integer from 1 to 100, not {bins!r}")
        with self._reading() as connection:
            return _queries.stats(connection, self.now(), changes_days, bins)


def _log_failure(row: Mapping[str, Any], error: Exception) -> None:
    """A warning for a customer whose scoring failed (with the traceback the first
    time it fails in a row)."""
    retry_at = row["since"].isoformat()
    logger.warning(
        "scoring customer %r failed (attempt %d): %s; trying again at %s",
        row["customer_id"],
        row["attempts"],
        row["last_error"],
        retry_at,
        exc_info=error if row["attempts"] == 1 else None,
        extra={
            "customer_id": row["customer_id"],
            "attempts": row["attempts"],
            "error": row["last_error"],
            "retry_at": retry_at,
        },
    )


def _bounds(
    start: datetime | date | str | None, end: datetime | date | str | None
) -> tuple[datetime | None, datetime | None]:
    """A time range's bounds as aware UTC datetimes (``None``: open)."""
    return (
        None if start is None else resolve_as_of(start),
        None if end is None else resolve_as_of(end),
    )


def _customer_row(model: Customer, now: datetime) -> dict[str, Any]:
    return {
        "id": model.id,
        "segment": model.segment,
        "name": model.name,
        "created_at": model.created_at,
        "attributes": model.attributes,
        "updated_at": now,
    }
