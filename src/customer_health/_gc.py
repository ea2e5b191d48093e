"""The garbage collector, paused while a batch runs."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch runs.

    A batch allocates a few hundred thousand small containers (inputs, results); each
    time that crosses the collector's threshold, a full collection walks every object
    the caller holds - millions of events - which costs more than the scoring itself.
    Nothing the engine allocates forms reference cycles, so reference counting frees
    it all; the collector is resumed (if it was running) as soon as the batch ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
