"""How score_frame reads columns: names, unknown columns and the mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import customer_health
from customer_health import InvalidEventError, InvalidInputError

pl = pytest.importorskip("polars")

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def frames() -> tuple[object, object]:
    """One smb customer with one API call."""
    customers = pl.DataFrame({"id": ["a"], "segment": ["smb"]})
    events = pl.DataFrame(
        {"customer_id": ["a"], "kind": ["api_call"], "occurred_at": [datetime(2026, 6, 29)]}
    )
    return customers, events


def test_an_unknown_event_column_is_an_error() -> None:
    """A column that is no event field (say a typo) is named, not silently dropped."""
    customers, events = frames()
    typo = events.with_columns(quantty=pl.lit(3))  # type: ignore[attr-defined]
    with pytest.raises(InvalidEventError, match=r"no event field: \['quantty'\]"):
        customer_health.score_frame(customers, typo, as_of=AS_OF)


def test_a_mapping_naming_no_column_is_an_error() -> None:
    """columns= naming a column neither frame has, or mapping onto no known name, is named."""
    customers, events = frames()
    with pytest.raises(InvalidInputError, match="'ts', which is in neither"):
        customer_health.score_frame(customers, events, as_of=AS_OF, columns={"ts": "occurred_at"})
    with pytest.raises(InvalidInputError, match="onto 'when', which is no column name"):
        customer_health.score_frame(customers, events, as_of=AS_OF, columns={"kind": "when"})


def test_messages_count_in_words() -> None:
    """One event of one unknown customer is said in the singular."""
    customers, events = frames()
    stranger = events.with_columns(customer_id=pl.lit("z"))  # type: ignore[attr-defined]
    with pytest.raises(customer_health.UnknownCustomerError, match=r"^1 event of 1 customer not"):
        customer_health.score_frame(customers, stranger, as_of=AS_OF)


def test_copies_differing_only_by_a_default_are_one_event() -> None:
    """A copy with quantity null and one with quantity 1 are the same event, as in the models."""
    customers, _ = frames()
    events = pl.DataFrame(  # type: ignore[attr-defined]
        {
            "customer_id": ["a", "a"],
            "kind": ["api_call", "api_call"],
            "occurred_at": [datetime(2026, 6, 29)] * 2,
            "event_id": ["e1", "e1"],
            "quantity": [None, 1],
        }
    )
    out = customer_health.score_frame(customers, events, as_of=AS_OF)
    assert out.get_column("api_usage_value").to_list() == [1.0]  # type: ignore[attr-defined]
