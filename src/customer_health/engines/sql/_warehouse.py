"""The warehouse query of :func:`customer_health.export_sql`, in any of its dialects.

The query is built once with SQLAlchemy Core, so that the factors' own SQL forms
(:meth:`~customer_health.Factor.sql_inputs`, as the SQL store runs them, and
:meth:`~customer_health.Factor.sql_score`) are used as they are; it is compiled as
PostgreSQL and written in the target dialect by sqlglot. Two things sqlglot cannot
know are settled on its tree:

- an instant becomes integer microseconds since the epoch by a dialect's own function
  (the query marks each place with ``ch_epoch_us(...)``), so that every comparison
  and duration is exact to the microsecond, as the store's integer instants are;
- every number with a fraction becomes ``CAST(... AS DOUBLE)``: a literal such as
  ``0.5`` is a fixed-point decimal in PostgreSQL, DuckDB, Spark and Snowflake, and the
  model's arithmetic is in double precision.

The query is a chain of CTEs, one idea each: the expectations (from the scorer's
resolved configuration), the customers who exist at ``as_of``, the events (instants in
microseconds, the models' defaults filled in, the first copy of each ``event_id``),
each factor's inputs in a ``GROUP BY`` of its own events (the plan a hand-written query
has: split per factor, joined once), the inputs and expectations side by side, the
factor scores, and their weighted combination.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlglot
from sqlalchemy.dialects import postgresql
from sqlglot import exp

from ..._event_schema import DEFAULTS, EVENT_FIELDS, INSTANT_FIELDS, FieldType
from ..._expr import NUMBER
from ..._sql_events import NUMBER_PROPERTY, SQLEvents
from ..._time import DAY_US, micros
from ..._version import installed_version
from ...declare import DeclaredFactor, reads_tenure
from ...exceptions import ConfigurationError
from ...model import _score, empty_inputs, guard
from ...models import MODEL_VERSION
from ._compile import double, to_sql
from ._inputs import sql_form, sql_score_form

if TYPE_CHECKING:
    from ...model import ActiveFactor, ResolvedModel

__all__ = ["query_text"]

_EPOCH_US = "ch_epoch_us"
"""The marker function of an instant turned into microseconds (see :data:`_EPOCH`)."""
_EPOCH: Mapping[str, str] = {
    # EXTRACT(EPOCH ...) is exact (numeric) on PostgreSQL 14 and later; a timestamp
    # without a time zone is read as UTC, one with a time zone as the instant it is.
    "postgres": "CAST(EXTRACT(EPOCH FROM {}) * 1000000 AS BIGINT)",
    "duckdb": "EPOCH_US({})",
    "spark": "UNIX_MICROS({})",
    # TIMESTAMP_NTZ is read as UTC; TIMESTAMP_TZ and TIMESTAMP_LTZ are instants.
    "snowflake": "DATE_PART(EPOCH_MICROSECOND, {})",
    # a DATETIME becomes the TIMESTAMP of its wall time in UTC; a TIMESTAMP stays
    "bigquery": "UNIX_MICROS(CAST({} AS TIMESTAMP))",
}
_PROPERTY_TEXT: Mapping[str, str] = {
    "postgres": "(CAST({0} AS JSONB) ->> '{1}')",
    "duckdb": "JSON_EXTRACT_STRING({0}, '$.{1}')",
    "spark": "GET_JSON_OBJECT({0}, '$.{1}')",
    "snowflake": "JSON_EXTRACT_PATH_TEXT({0}, '{1}')",
    "bigquery": "JSON_VALUE({0}, '$.{1}')",
}
"""``properties[key]`` as text in each dialect: a string's content, a number's digits;
a boolean, list or object is text that is no number."""
_PROPERTY_NUMBER: Mapping[str, str] = {
    # the range is checked in NUMERIC: a double cast of 1e400 is an error
    "postgres": "CASE WHEN {text} ~ '^{number}$' AND ABS(CAST({text} AS NUMERIC)) "
    "<= 1.7976931348623157e308 THEN CAST({text} AS DOUBLE PRECISION) END",
    "duckdb": "CASE WHEN REGEXP_FULL_MATCH({text}, '{number}') AND "
    "ISFINITE(TRY_CAST({text} AS DOUBLE)) THEN TRY_CAST({text} AS DOUBLE) END",
    # Java's $ also matches before a final line break; \z is the end of the text
    "spark": "CASE WHEN {text} RLIKE '^{number}\\\\z' AND ABS(CAST({text} AS DOUBLE)) "
    "<= 1.7976931348623157E308 THEN CAST({text} AS DOUBLE) END",
    # REGEXP_LIKE matches the whole text
    "snowflake": "CASE WHEN REGEXP_LIKE({text}, '{number}') AND ABS(TRY_TO_DOUBLE({text})) "
    "<= 1.7976931348623157e308 THEN TRY_TO_DOUBLE({text}) END",
    "bigquery": "CASE WHEN REGEXP_CONTAINS({text}, '^{number}$') AND "
    "ABS(SAFE_CAST({text} AS FLOAT64)) <= 1.7976931348623157e308 "
    "THEN SAFE_CAST({text} AS FLOAT64) END",
}
"""``number_property`` in each dialect, from :data:`_PROPERTY_TEXT`: a JSON number, or
a text holding one and nothing else (:data:`~customer_health._expr.NUMBER`), within the
range of doubles; NULL for anything else."""
_POSTGRES = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]
"""The dialect the query is compiled in (named parameters: ``%`` is not doubled)."""
_SOURCES = {"events": "ch_source_events", "customers": "ch_source_customers"}
"""Placeholder table names, replaced by the tables' text once the query is written
(so that a dbt ``{{ ref(...) }}`` goes into the query as it is)."""
_PER_CUSTOMER = frozenset({"ch_prepared", "ch_factors", "ch_combined", "ch_mean", "ch_scored"})
"""The CTEs of a row per customer after the inputs (see :func:`_rewritten`)."""
_STORED_CTES = frozenset({"postgres"})
"""The dialects that store a CTE read more than once before reading it, and inline one
read once, computing its columns' expressions wherever they are read (PostgreSQL has no
common subexpressions). DuckDB streams a CTE to each reader, and reads each reader's
events alone faster than it filters them all first."""
_READS = {"events": 2, "customers": 1}
"""How many times the query reads each table: the events with an ``event_id`` and
those without one are read apart (:meth:`_Query._events`)."""
_INSTANTS = frozenset(INSTANT_FIELDS)
_TENURE = "ch_tenure_days"
"""The customer's age at as_of in days, in ``ch_prepared`` when a factor reads it."""
_SQL_TYPES: Mapping[FieldType, Any] = {
    "id": sa.String(),
    "label": sa.String(),
    "text": sa.String(),
    "instant": sa.BigInteger(),
    "integer": sa.BigInteger(),
    "number": sa.Double(),
    "priority": sa.String(),
    "json": sa.String(),
}
_EVENT_TYPES: Mapping[str, Any] = {f.name: _SQL_TYPES[f.type] for f in EVENT_FIELDS}
"""The event columns a factor's SQL form sees, as the store's ``SQLEvents`` has them
(instants as microseconds, JSON as text)."""
_DEFAULTS: Mapping[str, tuple[tuple[str, ...], Any]] = {
    name: (kinds, value) for name, kinds, value in DEFAULTS
}
"""The event models' defaults: a field's kinds and its value when the column is NULL."""


def query_text(
    model: ResolvedModel, dialect: str, as_of: datetime, tables: Mapping[str, str]
) -> str:
    """The query of :func:`customer_health.export_sql` in ``dialect``, for ``tables``."""
    query = _Query(model, as_of, dialect).build()
    compiled = query.compile(dialect=_POSTGRES, compile_kwargs={"literal_binds": True})
    tree = sqlglot.parse_one(str(compiled), read="postgres")
    tree = _rewritten(tree, dialect)
    text: str = tree.sql(dialect=dialect, pretty=True)
    for name, placeholder in _SOURCES.items():
        found = text.count(placeholder)
        assert found == _READS[name], f"the {name} table appears {found} times in the query"
        text = text.replace(placeholder, tables[name])
    return _header(model, dialect, as_of) + text


def _header(model: ResolvedModel, dialect: str, as_of: datetime) -> str:
    return (
        f"-- customer-health {installed_version()}, export_sql: model {MODEL_VERSION}, "
        f"fingerprint {model.fingerprint}\n"
        f"-- as of {as_of.isoformat()} ({dialect}); factors: {', '.join(model.names)}\n"
    )


def _rewritten(tree: Any, dialect: str) -> Any:
    """``tree`` with the instants, numbers and types of ``dialect`` (see the module)."""
    if dialect in _STORED_CTES:
        # a per-customer CTE read once would be inlined: the score reads each factor's
        # score, and a factor's score its expectation, many times over. A materialized
        # CTE computes its columns once per customer.
        for cte in tree.find_all(exp.CTE):
            if cte.alias in _PER_CUSTOMER:
                cte.set("materialized", True)
    template = _EPOCH[dialect]
    for call in list(tree.find_all(exp.Anonymous)):
        if call.name.lower() == _EPOCH_US:
            argument = call.expressions[0].sql(dialect=dialect)
            call.replace(sqlglot.parse_one(template.format(argument), read=dialect))

    for paren in list(tree.find_all(exp.Paren)):
        if isinstance(paren.parent, exp.If | exp.Where):
            paren.replace(paren.this)  # SQLAlchemy's parentheses around a whole condition
    for cast in list(tree.find_all(exp.Cast)):
        if _is_double(cast) and _is_double(cast.this):
            cast.replace(cast.this)  # SQLAlchemy casts a divisor that is cast already
    for literal in list(tree.find_all(exp.Literal)):
        if literal.is_number and not literal.is_int and not _is_double(literal.parent):
            literal.replace(exp.cast(literal.copy(), exp.DataType.Type.DOUBLE))
    # last: the templates' numbers are as they are written (PostgreSQL's range check of a
    # number read from properties is in NUMERIC, not in doubles)
    for call in list(tree.find_all(exp.Anonymous)):
        if call.name.lower() == NUMBER_PROPERTY:
            properties, key = call.expressions
            text = _PROPERTY_TEXT[dialect].format(properties.sql(dialect=dialect), key.this)
            number = _PROPERTY_NUMBER[dialect].format(text=text, number=NUMBER)
            call.replace(sqlglot.parse_one(number, read=dialect))
    return tree


def _is_double(node: Any) -> bool:
    return isinstance(node, exp.Cast) and node.to.is_type(
        exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT
    )


def _epoch(column: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    return sa.func.ch_epoch_us(column, type_=sa.BigInteger())


class _Columns(Mapping[str, sa.ColumnElement[Any]]):
    """The event columns a factor's SQL form sees; remembers which it used, so that the
    query reads those columns of the events table and no others."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __getitem__(self, name: str) -> sa.ColumnElement[Any]:
        column = sa.column(name, _EVENT_TYPES[name])  # KeyError for a column that is none
        self.used.add(name)
        return column

    def __iter__(self) -> Iterator[str]:
        return iter(_EVENT_TYPES)

    def __len__(self) -> int:
        return len(_EVENT_TYPES)


class _Query:
    """The warehouse query of one model at one ``as_of``."""

    def __init__(self, model: ResolvedModel, as_of: datetime, dialect: str) -> None:
        self.model = model
        self.as_of = as_of
        self.dialect = dialect
        self.now = sa.literal(micros(as_of), sa.BigInteger())
        self.active: tuple[ActiveFactor, ...] = model.factors
        self._reads_tenure = any(
            isinstance(a.factor, DeclaredFactor) and reads_tenure(a.factor) for a in self.active
        )
        """Whether a factor's score reads the customer's age: ``ch_prepared`` carries it."""
        self.columns = _Columns()
        self.conditions: list[sa.ColumnElement[bool]] = []
        self.aggregates: list[tuple[ActiveFactor, Mapping[str, sa.ColumnElement[Any]]]] = []
        for active in self.active:
            self._add_inputs(active)

    def _add_inputs(self, active: ActiveFactor) -> None:
        factor = active.factor
        mine = self._condition(active)
        aggregates = None
        if factor.vectorized:
            # each factor's inputs are grouped from its own events alone (see _inputs):
            # every row a factor's aggregates see is one of its events
            events = SQLEvents(c=self.columns, mine=sa.true(), as_of=self.as_of, portable=True)
            aggregates = guard(active, "sql_inputs", sql_form, active, events)
        if aggregates is None:
            raise _no_sql_form(active, "sql_inputs")
        missing = [name for name in factor.inputs if name not in aggregates]
        if missing:
            raise ConfigurationError(
                f"{active.where}: sql_inputs() gives no expression for inputs {missing}"
            )
        self.conditions.append(mine)
        self.aggregates.append((active, aggregates))

    def _condition(self, active: ActiveFactor) -> sa.ColumnElement[bool]:
        """The factor's events: its kinds, in its window, up to ``as_of``."""
        parts: list[sa.ColumnElement[bool]] = [
            sa.column("occurred_at", sa.BigInteger()) <= self.now
        ]
        if active.kinds is not None:
            parts.append(sa.column("kind", sa.String()).in_(active.kinds))
        if active.window is not None:
            since = sa.literal(micros(self.as_of - active.window), sa.BigInteger())
            parts.append(sa.column("occurred_at", sa.BigInteger()) > since)
        return sa.and_(*parts)

    # -- the CTEs, in order ------------------------------------------------------------

    def build(self) -> sa.Select[Any]:
        """The whole query: the last step's SELECT over the chain of CTEs."""
        expectations = self._expectations()
        customers = self._customers()
        events = self._events()
        if self.dialect in _STORED_CTES:
            events = self._read(events)
        inputs = self._inputs(events)
        prepared = self._prepared(customers, expectations, inputs)
        factors = self._factors(prepared)
        return self._result(self._combined(factors))

    def _expectations(self) -> sa.CTE:
        """One row per segment: its name and the expectations of the factors in use."""
        keys = list(dict.fromkeys(a.expectation for a in self.active if a.expectation))
        rows = [
            sa.select(
                sa.literal(segment, sa.String()).label("segment"),
                *(double(values[key]).label(key) for key in keys),
            )
            for segment, values in sorted(self.model.segments.items())
        ]
        if not rows:  # no segment is known: no customer can be scored
            rows = [
                sa.select(
                    sa.cast(sa.null(), sa.String()).label("segment"),
                    *(sa.cast(sa.null(), sa.Double()).label(key) for key in keys),
                ).where(sa.false())
            ]
        union = rows[0] if len(rows) == 1 else sa.union_all(*rows)
        return union.cte("ch_expectations")

    def _customers(self) -> sa.CTE:
        """The customers who exist at ``as_of`` (no ``created_at``: they always did)."""
        source = sa.table(_SOURCES["customers"], sa.column("id"), sa.column("segment"))
        created = _epoch(sa.column("created_at"))
        return (
            sa.select(
                sa.column("id").label("customer_id"),
                sa.column("segment"),
                created.label("created_at"),
            )
            .select_from(source)
            .where(sa.or_(sa.column("created_at").is_(None), created <= self.now))
            .cte("ch_customers")
        )

    def _events(self) -> sa.CTE:
        """Every event once: instants in microseconds, the models' defaults filled in,
        the first copy of each ``event_id`` alone (by ``occurred_at``: the first copy is
        up to ``as_of`` if any copy is, so de-duplication comes before any window). Only
        the events with an ``event_id`` are numbered (sorted); those without one, most
        events, are read apart."""
        source = sa.table(_SOURCES["events"], sa.column("occurred_at")).alias("ch_raw")
        names = ["customer_id", "kind", "occurred_at", "event_id"]
        names += sorted(self.columns.used - set(names))
        selected: list[sa.ColumnElement[Any]] = []
        for name in names:
            column: sa.ColumnElement[Any] = sa.column(name)
            if name in _INSTANTS:
                column = _epoch(column)
            elif name in _DEFAULTS:
                kinds, default = _DEFAULTS[name]
                column = sa.case(
                    (sa.column("kind").in_(kinds), sa.func.coalesce(column, default)),
                    else_=column,
                )
            selected.append(column.label(name))
        # the order of the instants themselves (not of their microseconds, a column
        # of the same name) is that of their microseconds
        copy = sa.func.row_number().over(
            partition_by=[sa.column("customer_id"), sa.column("event_id")],
            order_by=source.c.occurred_at,
        )
        event_id: sa.ColumnElement[Any] = sa.column("event_id")
        numbered = (
            sa.select(*selected, copy.label("ch_copy"))
            .select_from(source)
            .where(event_id.is_not(None))
            .subquery("ch_numbered")
        )
        firsts = sa.select(*(c for c in numbered.c if c.name != "ch_copy"))
        firsts = firsts.where(numbered.c.ch_copy == 1)
        single = sa.select(*selected).select_from(source).where(event_id.is_(None))
        return sa.union_all(firsts, single).cte("ch_events")

    def _read(self, events: sa.CTE) -> sa.CTE:
        """The events some factor reads (most factors read the last weeks of a few
        kinds), for a database that stores a CTE read more than once (:data:`_STORED_CTES`):
        it stores these alone, and each factor scans them."""
        read = sa.or_(*self.conditions).self_group()
        return sa.select(*events.c).where(read).cte("ch_read")

    def _inputs(self, events: sa.CTE) -> list[sa.CTE]:
        """Each factor's inputs, in a ``GROUP BY customer_id`` of its own events alone
        (split per factor, joined once in :meth:`_prepared`): a database groups and
        counts each factor's few events, not every event for every factor."""
        ctes: list[sa.CTE] = []
        for number, ((active, aggregates), mine) in enumerate(
            zip(self.aggregates, self.conditions, strict=True), start=1
        ):
            columns: list[sa.ColumnElement[Any]] = [sa.column("customer_id")]
            columns += [
                aggregates[name].label(_input(active, name)) for name in active.factor.inputs
            ]
            ctes.append(
                sa.select(*columns)
                .select_from(events)
                .where(mine)
                .group_by(sa.column("customer_id"))
                .cte(f"ch_inputs_{number}")
            )
        return ctes

    def _prepared(self, customers: sa.CTE, expectations: sa.CTE, inputs: list[sa.CTE]) -> sa.CTE:
        """Per customer: whether its segment is known, each factor's inputs (those of no
        events without any) and its expectation, prorated for young customers."""
        tenure = sa.cast(self.now - customers.c.created_at, sa.Double()) / double(DAY_US)
        columns: list[sa.ColumnElement[Any]] = [
            customers.c.customer_id,
            sa.case((expectations.c.segment.is_(None), 0), else_=1).label("ch_known"),
        ]
        for active, table in zip(self.active, inputs, strict=True):
            factor = active.factor
            empty = empty_inputs(active, self.as_of)
            for name in factor.inputs:
                found = table.c[_input(active, name)]
                none = empty[name]
                value = found if none is None else sa.func.coalesce(found, double(none))
                columns.append(sa.cast(value, sa.Double()).label(_input(active, name)))
            if active.expectation is not None:
                base = expectations.c[active.expectation]
                expected = self._expected(active, base, tenure)
                columns.append(expected.label(_input(active, "expected")))
        if self._reads_tenure:
            columns.append(tenure.label(_TENURE))
        joined = customers.outerjoin(expectations, customers.c.segment == expectations.c.segment)
        for table in inputs:
            joined = joined.outerjoin(table, customers.c.customer_id == table.c.customer_id)
        return sa.select(*columns).select_from(joined).cte("ch_prepared")

    def _expected(
        self, active: ActiveFactor, base: sa.ColumnElement[Any], tenure: sa.ColumnElement[Any]
    ) -> sa.ColumnElement[Any]:
        """The expectation, prorated for a customer younger than the window by the model's
        one rule (:func:`customer_health.model._score.prorated`)."""
        window = active.window_days
        if not active.prorate or window is None:
            return base
        return to_sql(_score.prorated(window)["expected"], {"expected": base, "tenure": tenure})

    def _factors(self, prepared: sa.CTE) -> sa.CTE:
        """Each factor's score (NULL for no data) and value, by its ``sql_score``."""
        columns: list[sa.ColumnElement[Any]] = [prepared.c.customer_id, prepared.c.ch_known]
        for active in self.active:
            factor = active.factor
            inputs = {name: prepared.c[_input(active, name)] for name in factor.inputs}
            expected = None
            if active.expectation is not None:
                expected = prepared.c[_input(active, "expected")]
            tenure = prepared.c[_TENURE] if self._reads_tenure else None
            scored = guard(active, "sql_score", sql_score_form, active, inputs, expected, tenure)
            if scored is None:
                raise _no_sql_form(active, "sql_score")
            score, value = scored
            columns.append(sa.cast(score, sa.Double()).label(active.name))
            columns.append(sa.cast(value, sa.Double()).label(f"{active.name}_value"))
        return sa.select(*columns).cte("ch_factors")

    def _combined(self, factors: sa.CTE) -> sa.CTE:
        """The model's score of the factor scores (:attr:`ResolvedModel.combination`, its
        one definition), a CTE per stage (``ch_combined``: the weights with data and the
        weighted sum; ``ch_mean``; ``ch_scored``), each column ``ch_<name>``; the status,
        the last stage, is left to :meth:`_result`."""
        inputs = dict(zip(self.model.score_inputs, (a.name for a in self.active), strict=True))
        table: sa.CTE = factors
        computed: list[str] = []
        stages = self.model.combination[:-1]
        for stage, cte in zip(stages, ("ch_combined", "ch_mean", "ch_scored"), strict=True):
            columns = {name: table.c[column] for name, column in inputs.items()}
            columns.update({name: table.c[f"ch_{name}"] for name in computed})
            added = [to_sql(expr, columns).label(f"ch_{name}") for name, expr in stage.items()]
            table = sa.select(*table.c, *added).cte(cte)
            computed.extend(stage)
        return table

    def _result(self, scored: sa.CTE) -> sa.Select[Any]:
        """``customer_id``, ``score``, ``status``, ``coverage`` and each factor's columns;
        NULL for a customer whose segment is unknown."""
        known = scored.c.ch_known == 1
        status = to_sql(self.model.combination[-1]["status"], {"score": scored.c.ch_score})
        columns: list[sa.ColumnElement[Any]] = [
            scored.c.customer_id,
            sa.case((known, scored.c.ch_score), else_=sa.null()).label("score"),
            sa.case((known, status), else_=sa.null()).label("status"),
            sa.case((known, scored.c.ch_coverage), else_=sa.null()).label("coverage"),
        ]
        for active in self.active:
            for name in (active.name, f"{active.name}_value"):
                columns.append(sa.case((known, scored.c[name]), else_=sa.null()).label(name))
        return sa.select(*columns)


def _input(active: ActiveFactor, name: str) -> str:
    """The column of a factor's input (or ``expected``) in the CTEs."""
    return f"{active.name}__{name}"


def _no_sql_form(active: ActiveFactor, method: str) -> ConfigurationError:
    return ConfigurationError(
        f"{active.where} has no SQL form ({method}() gives None), so export_sql cannot "
        "compute it in the warehouse: give it sql_inputs() and sql_score() (see 'Writing "
        "a plugin'), or leave it out with Scorer(factors=[...])"
    )
