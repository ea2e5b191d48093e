"""Text instants are read exactly as the object path reads them (issue 15, point 3)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from customer_health import InvalidEventError, LoginEvent, sample
from customer_health.engines.frames._iso import FORM, instants_of_form
from customer_health.engines.frames._read import instant_column

from ..strategies import instant_texts
from .test_exact import EVENT_TIMES

pl = pytest.importorskip("polars")


def object_path(text: str) -> datetime | None:
    """What the event models make of ``text`` as an event's ``occurred_at`` (naive UTC),
    or None if they reject it."""
    try:
        event = LoginEvent(customer_id="c1", occurred_at=text)
    except ValidationError:
        return None
    return event.occurred_at.astimezone(UTC).replace(tzinfo=None)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(instant_texts, st.none()), min_size=1, max_size=20))
def test_text_instants_are_read_as_the_event_models_read_them(texts: list[str | None]) -> None:
    """A column of text instants gives, row by row, the instant the event models give the
    same text; if they reject any, the frame is an error naming a rejected text."""
    frame = pl.DataFrame({"occurred_at": texts}, schema={"occurred_at": pl.String})
    want = [None if text is None else object_path(text) for text in texts]
    rejected = [text for text, value in zip(texts, want, strict=True) if text and value is None]
    if rejected:
        with pytest.raises(InvalidEventError, match="not a date or time") as caught:
            instant_column(frame, "occurred_at", "events")
        assert any(repr(text) in str(caught.value) for text in rejected), caught.value
    else:
        read = instant_column(frame, "occurred_at", "events")
        assert read.schema["occurred_at"] == pl.Datetime("us")
        assert read.get_column("occurred_at").to_list() == want


@settings(max_examples=300, deadline=None)
@given(st.lists(instant_texts, min_size=1, max_size=20))
def test_the_fast_path_decides_a_text_only_as_the_models_read_it(texts: list[str]) -> None:
    """Every text the vectorised reading decides is one the event models accept, read as
    the same instant (the rest go to pydantic one distinct text at a time)."""
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    decided = instants_of_form(frame.get_column("t")).to_list()
    for text, value in zip(texts, decided, strict=True):
        if value is not None:
            assert value == object_path(text), text


@settings(max_examples=400, deadline=None)
@given(st.lists(instant_texts, min_size=1, max_size=20))
def test_the_fast_path_decides_every_text_of_its_form(texts: list[str]) -> None:
    """A text of the form (``FORM``) is decided by the vectorised reading whenever the
    models accept it: none is left to pydantic, one text at a time."""
    decided = instants_of_form(pl.Series("t", texts, dtype=pl.String)).to_list()
    for text, value in zip(texts, decided, strict=True):
        if re.fullmatch(FORM, text):
            assert value == object_path(text), text


def test_the_fast_path_decides_the_text_sample_writes() -> None:
    """The instants ``sample`` writes as text (``Z``, offsets, naive, with and without a
    fraction) are all read by the vectorised path, none left to pydantic."""
    events = sample.generate(40, seed=1).event_dicts(iso=True)
    texts = [e[name] for e in events for name in EVENT_TIMES if e.get(name) is not None]
    assert any(t.endswith("Z") for t in texts)
    assert any("-" in t[19:] for t in texts)
    assert any("." not in t for t in texts)
    decided = instants_of_form(pl.Series("t", texts))
    assert decided.null_count() == 0
