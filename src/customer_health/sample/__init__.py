"""Seeded, realistic sample data for tests, benchmarks, docs and demos.

Two modes:

- :func:`generate` (standard library only) builds a portfolio of customers and their
  events as models, and as the plain dicts an API would receive
  (:meth:`SampleData.customer_dicts`, :meth:`SampleData.event_dicts`). It is meant to
  exercise every path of the model: all segments and event kinds, healthy, at-risk and
  critical customers, churn, window edges, duplicates, late data and every way of
  writing an instant.
- :func:`generate_columns` (the ``sample`` extra: numpy) builds tens of millions of
  events as numpy columns, for benchmarks and DataFrame or database loads;
  :func:`events_from_columns` turns a slice of them into event models to cross-check.

Both are deterministic for a seed::

    from customer_health import Scorer, sample

    data = sample.generate(200, seed=1)
    scores = Scorer().score_many(data.customers, data.events, as_of=data.as_of)

The customers' ``attributes`` say what the generator meant them to be: ``profile``
(``healthy``, ``at_risk`` or ``critical``: it drives their activity) and, for customers
who stopped using the product, ``churned_days_ago``.
"""

from __future__ import annotations

from ._churn import (
    CHURN_EFFECTS,
    PERIOD_DAYS,
    STRONG_FACTORS,
    WEAK_FACTORS,
    ChurnSimulation,
    simulate_churn,
)
from ._columns import (
    customers_from_columns,
    event_dicts_from_columns,
    events_from_columns,
    generate_columns,
)
from ._common import CUSTOM_KINDS, DEFAULT_AS_OF, EVENT_COLUMNS, FEATURES, PROFILES, SEGMENTS
from ._portfolio import SampleData, generate

__all__ = [
    "CHURN_EFFECTS",
    "CUSTOM_KINDS",
    "DEFAULT_AS_OF",
    "EVENT_COLUMNS",
    "FEATURES",
    "PERIOD_DAYS",
    "PROFILES",
    "SEGMENTS",
    "STRONG_FACTORS",
    "WEAK_FACTORS",
    "ChurnSimulation",
    "SampleData",
    "customers_from_columns",
    "event_dicts_from_columns",
    "events_from_columns",
    "generate",
    "generate_columns",
    "simulate_churn",
]
