"""The store's customers and events as polars frames (``SQLAlchemyStore.frames``): what
``score_frame``, ``backtest`` and ``fit`` read. Needs polars."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._event_schema import INSTANT_FIELDS

if TYPE_CHECKING:
    import polars as pl
    import sqlalchemy as sa


__all__ = ["stored_frames"]


def stored_frames(engine: sa.Engine) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The customers and events of the store at ``engine`` as the frames ``score_frame``
    reads.

    Instants come back as aware UTC datetimes (stored as integer microseconds), and
    the events are those stored: each ``event_id`` once already.
    """
    import polars as pl
    import sqlalchemy as sa

    from ._tables import EVENT_FIELDS, customers, events

    def read(query: sa.Select[Any], instants: tuple[str, ...]) -> pl.DataFrame:
        with engine.connect() as connection:
            result = connection.execute(query)
            names = list(result.keys())
            frame = pl.DataFrame(result.all(), schema=names, orient="row", infer_schema_length=None)
        return frame.with_columns(
            pl.from_epoch(pl.col(name).cast(pl.Int64), time_unit="us").dt.replace_time_zone("UTC")
            for name in instants
        )

    people = read(
        sa.select(
            customers.c.id, customers.c.segment, customers.c.name,
            sa.type_coerce(customers.c.created_at, sa.BigInteger()).label("created_at"),
        ).order_by(customers.c.id),
        ("created_at",),
    )  # fmt: skip
    times = INSTANT_FIELDS
    columns: list[sa.ColumnElement[Any]] = [
        sa.type_coerce(events.c[name], sa.BigInteger()).label(name)
        if name in times
        else events.c[name]
        for name in EVENT_FIELDS
        if name != "properties"
    ]
    # Custom events' properties as the JSON text stored (score_frame reads JSON text).
    columns.append(sa.type_coerce(events.c.properties, sa.Text()).label("properties"))
    happened = read(sa.select(*columns).order_by(events.c.seq), times)
    return people, happened
