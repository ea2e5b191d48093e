"""``scored_batches``: score_frame's scores a batch of customers at a time (the command
line's progress), the same frame bit for bit."""

from __future__ import annotations

import warnings
from datetime import datetime

import pytest

from customer_health import CustomersLeftOutWarning, Scorer, sample
from customer_health.engines.frames import scored_batches

pl = pytest.importorskip("polars")
pytest.importorskip("numpy")

AS_OF = datetime(2026, 6, 30)


@pytest.fixture(scope="module")
def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    customers, events = sample.generate_columns(240, 30_000, as_of=AS_OF, seed=11)
    people = pl.DataFrame({name: customers[name] for name in ("id", "segment", "created_at")})
    columns = []
    for name in sample.EVENT_COLUMNS:  # nulls where the sample writes "", NaT or NaN
        column = pl.Series(name, events[name], nan_to_null=True)
        if column.dtype == pl.String:
            column = pl.select(pl.when(column != "").then(column)).to_series().alias(name)
        columns.append(column)
    happened = pl.DataFrame(columns).with_columns(
        quantity=pl.when(pl.col("kind") == "api_call").then(pl.col("quantity"))
    )
    # Customers created after as_of (left out, with one warning) and copies of events.
    people = people.with_columns(
        created_at=pl.when(pl.int_range(pl.len()) % 37 == 5)
        .then(pl.lit(datetime(2026, 7, 2)))
        .otherwise(pl.col("created_at"))
    )
    return people, pl.concat([happened, happened.head(500)])


@pytest.mark.parametrize("size", [1, 7, 50, 239, 240, 10_000])
def test_the_batches_joined_are_score_frame_bit_for_bit(
    frames: tuple[pl.DataFrame, pl.DataFrame], size: int
) -> None:
    people, happened = frames
    scorer = Scorer()
    with warnings.catch_warnings(record=True) as whole_warnings:
        warnings.simplefilter("always")
        whole = scorer.score_frame(people, happened, as_of=AS_OF)
    with warnings.catch_warnings(record=True) as batch_warnings:
        warnings.simplefilter("always")
        batches = scored_batches(scorer.model, people, happened, as_of=AS_OF, size=size)
        parts = list(batches.frames)
    assert batches.customers == whole.height < people.height
    assert len(parts) == -(-whole.height // size)
    assert all(part.height <= size for part in parts)
    joined = pl.concat(parts)
    assert joined.columns == whole.columns
    assert joined.schema == whole.schema
    for name in whole.columns:  # equal to the bit: no tolerance, nulls where nulls
        assert joined.get_column(name).to_list() == whole.get_column(name).to_list(), name
    left_out = [w for w in batch_warnings if issubclass(w.category, CustomersLeftOutWarning)]
    assert [str(w.message) for w in left_out] == [
        str(w.message) for w in whole_warnings if issubclass(w.category, CustomersLeftOutWarning)
    ]


def test_unknown_customers_are_checked_before_any_batch(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """An error of the frames is raised as score_frame raises it, before any scoring;
    skipped, other customers' events are in no batch."""
    from customer_health import UnknownCustomerError

    people, happened = frames
    scorer = Scorer()
    stranger = happened.head(1).with_columns(customer_id=pl.lit("nobody"))
    with pytest.raises(UnknownCustomerError, match="'nobody'"):
        scored_batches(scorer.model, people, pl.concat([happened, stranger]), as_of=AS_OF, size=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the customers created after as_of
        skipped = scored_batches(
            scorer.model,
            people,
            pl.concat([stranger, happened]),
            as_of=AS_OF,
            size=9,
            unknown_customers="skip",
        )
        whole = scorer.score_frame(people, happened, as_of=AS_OF)
    assert pl.concat(list(skipped.frames)).equals(whole)


def test_a_batch_size_below_one_is_refused(frames: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    from customer_health import ConfigurationError

    people, happened = frames
    with pytest.raises(ConfigurationError, match="size=0"):
        scored_batches(Scorer().model, people, happened, as_of=AS_OF, size=0)
