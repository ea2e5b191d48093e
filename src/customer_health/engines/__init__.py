"""The engines: where a resolved model's factor inputs are computed and scored.

- :mod:`~customer_health.engines.objects`: Python event models, in one pass;
- :mod:`~customer_health.engines.frames`: DataFrames (polars, pandas, Arrow, DuckDB)
  and Spark;
- :mod:`~customer_health.engines.sql`: SQL, for the store's database and for
  warehouses (``export_sql``).

Each takes a :class:`~customer_health.model.ResolvedModel` and nothing of the scorer
that made it; none imports another (``docs/architecture.md``).
"""
