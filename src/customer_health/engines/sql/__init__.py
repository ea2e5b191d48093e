"""The SQL engine: factor inputs and scores computed by a database.

:mod:`._inputs` puts every factor's SQL form into one grouped query over an events
table (the store's); :mod:`._warehouse` builds the whole score - inputs, factor
scores, the weighted mean, coverage and status - as one query for a warehouse, written
in each dialect by sqlglot (:func:`~customer_health.export_sql`). Needs the
``sqlalchemy`` extra (the warehouse query the ``sql`` extra).
"""
