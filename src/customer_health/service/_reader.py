"""Reading stored score documents for async routes: one thread, many requests a query.

A route that awaits :meth:`DocumentReader.get` queues its customer id; the reader's
thread takes every id queued so far, reads their documents with one query
(:meth:`~customer_health.storage.sqlalchemy.SQLAlchemyStore.latest_documents`) and
hands each waiting request its answer on its own event loop, a whole batch in one
wake-up. Under load that replaces a thread-pool round trip and a query per request
(and the threads' fight for the GIL) by one per batch; a request on its own costs
about what a thread-pool call does. The event loop never waits for the database.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import defaultdict
from collections.abc import Sequence
from contextlib import suppress

import anyio.to_thread

from ..storage.sqlalchemy import SQLAlchemyStore

__all__ = ["DocumentReader"]

_Item = tuple[str, "asyncio.Future[str | None]", asyncio.AbstractEventLoop]


class DocumentReader:
    """Batched reads of customers' latest score documents for async code.

    :param store: where the documents are.
    :param batch: the most ids read by one query.
    :param idle: seconds without requests after which the thread ends (the next
        request starts another), so that a reader nobody uses holds no thread.
    """

    def __init__(self, store: SQLAlchemyStore, *, batch: int = 256, idle: float = 10.0) -> None:
        self.store = store
        self.batch = batch
        self.idle = idle
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    async def get(self, customer_id: str) -> str | None:
        """The JSON of the customer's latest stored score (``None`` if it has none or
        is not stored)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): a thread-pool call per request
            found = await anyio.to_thread.run_sync(self.store.latest_documents, [customer_id])
            return found.get(customer_id)
        future: asyncio.Future[str | None] = loop.create_future()
        self._queue.put((customer_id, future, loop))
        self._start()
        return await future

    def _start(self) -> None:
        # Checked under the lock the ending thread holds while it sees the queue empty:
        # an id queued after that check always finds _running false and starts a thread.
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(
                    target=self._run, name="customer-health-reader", daemon=True
                ).start()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle)
            except queue.Empty:
                with self._lock:  # nothing was queued since: end (get() starts another)
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            items = [first]
            while len(items) < self.batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._read(items)

    def _read(self, items: Sequence[_Item]) -> None:
        found: dict[str, str] = {}
        error: BaseException | None = None
        try:
            found = self.store.latest_documents([cid for cid, _, _ in items])
        except Exception as exc:  # each waiting request raises it
            error = exc
        by_loop: defaultdict[asyncio.AbstractEventLoop, list[_Item]] = defaultdict(list)
        for item in items:
            by_loop[item[2]].append(item)
        for loop, mine in by_loop.items():
            with suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_deliver, mine, found, error)


def _deliver(items: Sequence[_Item], found: dict[str, str], error: BaseException | None) -> None:
    for customer_id, future, _ in items:
        if future.done():  # cancelled (the request timed out or went away)
            continue
        if error is None:
            future.set_result(found.get(customer_id))
        else:
            future.set_exception(error)
