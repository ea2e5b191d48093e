"""A simulation's customers and events put into an SQL store, for the commands that read
a database (``backtest``, ``fit``)."""

from __future__ import annotations

from customer_health import sample


def stored(sim: sample.ChurnSimulation, url: str) -> None:
    """Create the store at ``url`` and add ``sim``'s customers and events to it."""
    from customer_health.storage.sqlalchemy import SQLAlchemyStore

    with SQLAlchemyStore(url) as store:
        store.create_all()
        store.add_customers(sim.customers.to_dicts())
        store.record_many(
            {name: value for name, value in row.items() if value is not None}
            for row in sim.events.to_dicts()
        )
