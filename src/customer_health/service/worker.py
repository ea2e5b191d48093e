"""The rescoring worker: drains the store's queue until told to stop.

In the reference app it runs in a thread started by the lifespan; ``customer-health
worker`` runs it alone (several at once on PostgreSQL). Each drain claims batches in
transactions of their own, so stopping - or dying - between or inside batches loses
nothing: what was not committed is pending again. A customer whose scoring fails holds
up nothing either: the store leaves it pending with a backoff, and logs it.
"""

from __future__ import annotations

import logging
import threading
import time

from ..storage.sqlalchemy import SQLAlchemyStore

__all__ = ["Worker"]

logger = logging.getLogger("customer_health.worker")


class Worker:
    """Drain ``store``'s rescoring queue every ``interval`` seconds, or when woken.

    :param settle: after a wake-up, wait this long before draining, so that a burst of
        requests recording events for a customer ends in one recalculation rather than
        one per request (rescoring stays well within seconds).
    """

    def __init__(
        self, store: SQLAlchemyStore, *, interval: float = 1.0, settle: float = 1.0
    ) -> None:
        self.store = store
        self.interval = interval
        self.settle = settle
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rescored = 0
        """Customers rescored since the worker started."""
        self.failed = 0
        """Failed attempts to score a customer since the worker started (each customer
        left pending, to be tried again after a backoff)."""

    def wake(self) -> None:
        """Look at the queue now (events were just recorded)."""
        self._wake.set()

    def run(self) -> None:
        """Drain until :meth:`stop` is called (blocking)."""
        logger.info("worker started", extra={"interval": self.interval})
        while not self._stop.is_set():
            self._wake.clear()
            done = failed = 0
            try:
                started = time.perf_counter()
                # One batch at a time, so that a stop request waits for one batch at most.
                done, failed = self.store.drain(self.store.batch_size)
            except Exception:  # the database's (the store isolates customers' errors)
                logger.exception("rescoring failed; retrying")
            if done or failed:
                self.rescored += done
                self.failed += failed
                logger.info(
                    "rescored",
                    extra={
                        "customers": done,
                        "failed": failed,
                        "seconds": round(time.perf_counter() - started, 3),
                    },
                )
            if done + failed >= self.store.batch_size or self._wake.wait(self.interval):
                # More is pending, or events were just recorded: let them gather (and the
                # requests recording them have the interpreter) before the next batch.
                self._stop.wait(self.settle)
        logger.info("worker stopped", extra={"rescored": self.rescored})

    def start(self) -> None:
        """Run in a background thread."""
        self._thread = threading.Thread(target=self.run, name="customer-health-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop after the batch in progress (which commits) and wait for the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
