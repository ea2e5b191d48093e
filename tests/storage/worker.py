"""A worker process for the queue tests: drains the store slowly, to be killed mid-batch.

Run as ``python -m tests.storage.worker URL SEARCH_PATH``: it rescores pending
customers with a factor that prints ``scoring`` (once) and then sleeps, so the
parent knows a batch is claimed and in progress when it kills the process.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from customer_health import Factor, FactorContext, FactorResult, Scorer, hookimpl
from customer_health.storage.sqlalchemy import SQLAlchemyStore, create_engine


class Stall(Factor):
    """Says it started scoring, then takes a minute per customer."""

    name = "stall"

    def evaluate(self, events: Sequence[Any], ctx: FactorContext) -> FactorResult:
        print("scoring", flush=True)
        time.sleep(60)
        return FactorResult(score=None, explanation="stalled")


class Plugin:
    @hookimpl
    def register_factors(self, register: Callable[[Any], None]) -> None:
        register(Stall())


def main(url: str, search_path: str) -> None:
    connect_args = {"options": f"-csearch_path={search_path}"} if search_path else {}
    store = SQLAlchemyStore(
        create_engine(url, connect_args=connect_args),
        scorer=Scorer(plugins=[Plugin()]),
        batch_size=1000,
    )
    store.rescore_pending()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
