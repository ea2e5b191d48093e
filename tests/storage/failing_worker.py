"""Plugin factors that fail for chosen customers, and a worker process scoring with one.

Run as ``python -m tests.storage.failing_worker URL SEARCH_PATH CUSTOMER_ID``: the
service's :class:`~customer_health.service.Worker` drains the store with a scorer
whose plugin factor's aggregation - shared by the whole batch - raises on the events
of ``CUSTOMER_ID``, until SIGTERM (its logs go to stderr, as JSON lines).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from customer_health import Event, Factor, FactorContext, FactorResult, Scorer, hookimpl
from customer_health.factors import Accumulator
from customer_health.service import Worker
from customer_health.service.logs import configure_logging
from customer_health.storage.sqlalchemy import SQLAlchemyStore, create_engine


class Poisoned(Factor):
    """Counts logins over 30 days; its aggregation raises on any event of a customer in
    :attr:`failing` (the engine aggregates a batch's customers together)."""

    name = "poisoned"
    kinds = frozenset({"login"})
    window_days = 30
    inputs = ("logins",)

    def __init__(self, failing: Iterable[str] = ()) -> None:
        self.failing = set(failing)
        self.batches: list[int] = []
        """The size of each group of customers aggregated (one per attempt at a part)."""

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        ids = list(customer_ids)
        self.batches.append(len(ids))
        return super().accumulator(as_of, ids)

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        for event in events:
            if event.customer_id in self.failing:
                raise ValueError(f"poisoned events of {event.customer_id}")
        return {"logins": float(len(events))}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        logins = inputs["logins"]
        return FactorResult(min(100.0, 10.0 * logins), f"{logins:g} logins in 30 days")


class Fussy(Factor):
    """Scores 50, but raises while scoring a customer in :attr:`failing` (or ``error``,
    if set, for every customer)."""

    name = "fussy"
    window_days = 30

    def __init__(self, failing: Iterable[str] = ()) -> None:
        self.failing = set(failing)
        self.error: Exception | None = None

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        if self.error is not None:
            raise self.error
        if ctx.customer.id in self.failing:
            raise RuntimeError(f"cannot score {ctx.customer.id}")
        return FactorResult(50.0, "fussy but content")


class Plugin:
    """Registers the factors it is given."""

    def __init__(self, *factors: Factor) -> None:
        self.factors = factors

    @hookimpl
    def register_factors(self, register: Callable[[Any], None]) -> None:
        for factor in self.factors:
            register(factor)


def main(url: str, search_path: str, failing: str) -> None:
    configure_logging("INFO", "json")
    connect_args = {"options": f"-csearch_path={search_path}"} if search_path else {}
    store = SQLAlchemyStore(
        create_engine(url, connect_args=connect_args),
        scorer=Scorer(plugins=[Plugin(Poisoned([failing]))], entry_points=False),
        batch_size=250,
    )
    worker = Worker(store, interval=0.05, settle=0)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop(timeout=0))
    print("started", flush=True)
    worker.run()
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
