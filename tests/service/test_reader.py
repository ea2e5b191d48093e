"""The batched reader of stored score documents behind the health route."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from customer_health import sample
from customer_health.service._reader import DocumentReader
from customer_health.storage.sqlalchemy import SQLAlchemyStore

from ..backends import NOW


def test_concurrent_requests_each_get_their_document(store: SQLAlchemyStore) -> None:
    """Many requests at once (read in batches) each get their own customer's
    document; a customer without a score, or unknown, gets None."""
    data = sample.generate(30, seed=3, as_of=NOW)
    store.add_customers(data.customers)
    store.record_many(data.events)
    ids = [c.id for c in data.customers]
    store.recalculate(ids[1:])
    reader = DocumentReader(store, batch=7)

    async def ask(customer_ids: list[str]) -> list[str | None]:
        return list(await asyncio.gather(*(reader.get(cid) for cid in customer_ids)))

    asked = [*ids, "nobody", *reversed(ids)] * 3
    answers = asyncio.run(ask(asked))
    for cid, answer in zip(asked, answers, strict=True):
        latest = None if cid == "nobody" else store.latest_score(cid)
        assert answer == (None if latest is None else latest.model_dump_json())
    assert answers[0] is None  # never scored


def test_a_failed_read_fails_every_request_of_the_batch(
    store: SQLAlchemyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error of the store reaches each waiting request; the reader goes on."""
    reader = DocumentReader(store)
    failing = True

    def latest_documents(ids: list[str]) -> dict[str, str]:
        if failing:
            raise RuntimeError("the database is away")
        return dict.fromkeys(ids, "{}")

    monkeypatch.setattr(store, "latest_documents", latest_documents)

    async def ask() -> list[str | BaseException | None]:
        return list(
            await asyncio.gather(*(reader.get(f"c{i}") for i in range(5)), return_exceptions=True)
        )

    assert all(isinstance(a, RuntimeError) for a in asyncio.run(ask()))
    failing = False
    assert asyncio.run(ask()) == ["{}"] * 5


def test_an_idle_reader_lets_its_thread_end(store: SQLAlchemyStore) -> None:
    """After ``idle`` seconds without requests the thread ends; the next request
    starts another."""
    reader = DocumentReader(store, idle=0.05)

    async def ask() -> str | None:
        return await reader.get("nobody")

    assert asyncio.run(ask()) is None
    assert asyncio.run(_wait_for(lambda: not reader._running))
    assert asyncio.run(ask()) is None


async def _wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return False
