"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served
with their scripts and styles from the package (``assets/``, vendored with their
licences), so that they work without internet access; FastAPI's own pages load them
from a CDN and are blank offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

__all__ = ["ASSETS", "ASSETS_PATH", "install_pages"]

ASSETS = Path(__file__).resolve().parent / "assets"
"""The vendored files (``assets/README.md`` says which versions, and how to update)."""

ASSETS_PATH = "/docs/assets"
"""Where the service serves them."""


def install_pages(app: FastAPI, *, title: str) -> None:
    """Serve ``/docs`` and ``/redoc`` for ``app``'s OpenAPI schema, from the package.

    ``app`` must be made with ``docs_url=None, redoc_url=None`` (FastAPI's pages off).
    """
    openapi_url = app.openapi_url or "/openapi.json"
    swagger = f"{ASSETS_PATH}/swagger-ui"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{swagger}/swagger-ui-bundle.js",
            swagger_css_url=f"{swagger}/swagger-ui.css",
            swagger_favicon_url=f"{swagger}/favicon-32x32.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS_PATH}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{swagger}/favicon-32x32.png",
            with_google_fonts=False,
        )

    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="docs-assets")
