"""The DataFrame backends: build each one's frame from rows, and read its output back.

Every frame is built from a list of dicts with one type per column: strings as
strings, ints as int64, floats as float64, datetimes as microsecond datetimes (naive,
or aware in the zone the schema names). A schema gives a column's type as ``"str"``,
``"int"``, ``"float"``, ``"datetime"`` (naive) or ``"datetime[<zone>]"``; columns it
does not name take their type from their first non-null value (aware datetimes as
``datetime[UTC]``). A column that is all null needs its type in the schema.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

BACKENDS = ["pandas", "polars", "polars-lazy", "pyarrow", "duckdb"]
_LIBRARY = {
    "pandas": "pandas",
    "polars": "polars",
    "polars-lazy": "polars",
    "pyarrow": "pyarrow",
    "duckdb": "duckdb",
}

DUCKDB_SESSION_ZONE = "Asia/Kolkata"
"""The DuckDB session time zone of the fixture: not UTC, so that no result may depend on it."""

Rows = list[dict[str, Any]]
Schema = Mapping[str, str]


def column_types(rows: Rows, schema: Schema | None = None) -> dict[str, str]:
    """Every column (in first-seen order, schema columns first) with its type."""
    types = dict(schema or {})
    for row in rows:
        for name, value in row.items():
            if name in types or value is None:
                continue
            if isinstance(value, bool):
                raise TypeError(f"column {name!r}: booleans are not used in these tests")
            if isinstance(value, str):
                types[name] = "str"
            elif isinstance(value, int):
                types[name] = "int"
            elif isinstance(value, float):
                types[name] = "float"
            elif isinstance(value, datetime):
                types[name] = "datetime" if value.tzinfo is None else "datetime[UTC]"
            else:
                raise TypeError(f"column {name!r}: no column type for {value!r}")
    missing = {name for row in rows for name in row} - set(types)
    if missing:
        raise TypeError(f"columns {sorted(missing)} are all null: give their type in a schema")
    return types


def zone_of(kind: str) -> str | None:
    """The zone of a ``datetime[<zone>]`` column type, None for a naive one."""
    return kind[len("datetime[") : -1] if kind.startswith("datetime[") else None


def columns_of(rows: Rows, schema: Schema | None) -> dict[str, list[Any]]:
    """Each column's values, checked against its type (datetimes moved to its zone)."""
    types = column_types(rows, schema)
    out: dict[str, list[Any]] = {}
    for name, kind in types.items():
        values = [row.get(name) for row in rows]
        if kind.startswith("datetime"):
            zone = zone_of(kind)
            moved = []
            for value in values:
                if value is not None:
                    if (value.tzinfo is None) != (zone is None):
                        raise TypeError(f"column {name!r} ({kind}) mixes naive and aware values")
                    if zone is not None:
                        value = value.astimezone(ZoneInfo(zone))
                moved.append(value)
            values = moved
        out[name] = values
    return out


def arrow_table(rows: Rows, schema: Schema | None = None) -> Any:
    """A pyarrow Table of the rows."""
    pa = pytest.importorskip("pyarrow")
    types = column_types(rows, schema)
    simple = {"str": pa.string(), "int": pa.int64(), "float": pa.float64()}
    arrays = {}
    for name, values in columns_of(rows, schema).items():
        kind = types[name]
        if kind in simple:
            arrays[name] = pa.array(values, type=simple[kind])
        else:
            arrays[name] = pa.array(values, type=pa.timestamp("us", tz=zone_of(kind)))
    return pa.table(arrays)


def pandas_frame(rows: Rows, schema: Schema | None = None) -> Any:
    """A pandas DataFrame of the rows, built the way a pandas user would get one."""
    pd = pytest.importorskip("pandas")
    types = column_types(rows, schema)
    series = {}
    for name, values in columns_of(rows, schema).items():
        kind = types[name]
        if kind == "str":
            series[name] = pd.Series(values, dtype="str")
        elif kind == "int":
            series[name] = pd.Series(values, dtype="Int64" if None in values else "int64")
        elif kind == "float":
            series[name] = pd.Series(values, dtype="float64")
        elif zone_of(kind) is None:
            series[name] = pd.Series(values, dtype="datetime64[us]")
        else:
            zone = zone_of(kind)
            series[name] = (
                pd.to_datetime(pd.Series(values, dtype=object), utc=True)
                .dt.tz_convert(zone)
                .astype(f"datetime64[us, {zone}]")
            )
    return pd.DataFrame(series, index=pd.RangeIndex(len(rows)))


def _plain(value: Any) -> Any:
    """A pandas cell as a plain Python value: NaN, NaT and NA become None."""
    pd = pytest.importorskip("pandas")
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, str | datetime):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def rows_of(native: Any) -> Rows:
    """A frame of any backend (collected if lazy) as a list of dicts, in its own order."""
    module = type(native).__module__.split(".")[0]
    if module == "pandas":
        return [
            {name: _plain(value) for name, value in zip(native.columns, row, strict=True)}
            for row in native.itertuples(index=False, name=None)
        ]
    if module == "polars":
        pl = pytest.importorskip("polars")
        if isinstance(native, pl.LazyFrame):
            native = native.collect()
        return list(native.to_dicts())
    if module == "pyarrow":
        return list(native.to_pylist())
    if module in ("duckdb", "_duckdb"):
        names = native.columns
        return [dict(zip(names, row, strict=True)) for row in native.fetchall()]
    raise TypeError(f"not a frame of a known backend: {type(native)!r}")


@dataclass
class Backend:
    """One DataFrame backend: its name, the type it returns and its converters."""

    name: str
    frame_type: type
    from_arrow: Callable[[Any], Any]
    """This backend's frame of a pyarrow Table (for column types rows cannot express)."""
    native: Callable[[Rows, Schema | None], Any] | None = None
    """Builds the frame from rows directly, where the backend has its own way."""

    def to_frame(self, rows: Rows, schema: Schema | None = None) -> Any:
        """This backend's frame of ``rows`` (all-null columns need a type in ``schema``)."""
        if self.native is not None:
            return self.native(rows, schema)
        return self.from_arrow(arrow_table(rows, schema))

    def to_rows(self, native: Any) -> Rows:
        """The rows of a frame (collected if lazy), in the order the frame gives them."""
        return rows_of(native)

    def __repr__(self) -> str:
        return self.name


def make_backend(name: str, connection: Any = None) -> Backend:
    """The backend called ``name``; DuckDB relations are made on ``connection``."""
    pytest.importorskip(_LIBRARY[name])
    pytest.importorskip("pyarrow")  # every backend's frames are built through it
    if name == "pandas":
        import pandas as pd

        return Backend(name, pd.DataFrame, lambda table: table.to_pandas(), pandas_frame)
    if name == "polars":
        import polars as pl

        return Backend(name, pl.DataFrame, pl.from_arrow)
    if name == "polars-lazy":
        import polars as pl

        return Backend(name, pl.LazyFrame, lambda table: pl.from_arrow(table).lazy())
    if name == "pyarrow":
        import pyarrow as pa

        return Backend(name, pa.Table, lambda table: table)
    import duckdb

    tables: list[Any] = []

    def from_arrow(table: Any) -> Any:
        tables.append(table)  # the relation scans the table lazily: keep it alive
        return connection.from_arrow(table)

    return Backend(name, duckdb.DuckDBPyRelation, from_arrow)


def duckdb_connection(zone: str = DUCKDB_SESSION_ZONE) -> Any:
    """A new in-memory DuckDB connection whose session time zone is ``zone``."""
    duckdb = pytest.importorskip("duckdb")
    connection = duckdb.connect()
    connection.execute(f"SET TimeZone = '{zone}'")
    return connection


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each backend in turn (DuckDB on a connection whose session zone is not UTC)."""
    name = request.param
    pytest.importorskip(_LIBRARY[name])
    connection = duckdb_connection() if name == "duckdb" else None
    try:
        yield make_backend(name, connection)
    finally:
        if connection is not None:
            connection.close()
