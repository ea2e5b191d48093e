"""The reference service: a FastAPI app, and a router to mount in your own.

Needs the ``service`` extra (``pip install 'customer-health[service]'``)::

    from customer_health.service import Settings, create_app

    app = create_app(Settings(database_url="sqlite:///health.db"))

or ``customer-health serve``. To mount the API in an app of your own, with your
prefix and dependencies (auth, ...)::

    from customer_health.service import create_router
    from customer_health.storage.sqlalchemy import SQLAlchemyStore

    app.include_router(create_router(SQLAlchemyStore(engine)), prefix="/health-scores")

See ``docs/service.md``.
"""

from __future__ import annotations

from ..exceptions import MissingExtraError

try:
    import fastapi as _fastapi  # noqa: F401
    import pydantic_settings as _pydantic_settings  # noqa: F401
    import sqlalchemy as _sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingExtraError(exc.name or "fastapi", "service", "customer_health.service") from exc

from .api import create_router
from .app import create_app, make_store
from .settings import Settings
from .worker import Worker

__all__ = ["Settings", "Worker", "create_app", "create_router", "make_store"]
