"""The API's documentation pages work offline: their scripts and styles come from the
service, vendored in the package with their licences."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from customer_health.service import Settings, create_app
from customer_health.service._pages import ASSETS


class _Links(HTMLParser):
    """The URLs a page loads: scripts, styles, icons."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(str(found["src"]))
        if tag == "link" and found.get("href"):
            self.urls.append(str(found["href"]))


@pytest.fixture(scope="module")
def client() -> TestClient:
    settings = Settings(database_url="sqlite://", worker=False, sample_customers=0, api_keys="k")
    return TestClient(create_app(settings))


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"}),
        ("/redoc", {"redoc.standalone.js", "favicon-32x32.png"}),
    ],
)
def test_the_pages_load_everything_from_the_service(
    client: TestClient, page: str, expected: set[str]
) -> None:
    """Every script, style and icon of the page is a path of the service (no CDN, no
    web fonts), and the service answers it with the file of the package."""
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
    links = _Links()
    links.feed(response.text)
    assert {url.rsplit("/", 1)[-1] for url in links.urls} == expected
    assert not re.search(r"https?://", response.text.split("<body", 1)[0]), response.text
    for url in links.urls:
        assert url.startswith("/docs/assets/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        path = ASSETS / url.removeprefix("/docs/assets/")
        assert asset.content == path.read_bytes()
        kind = {"js": "javascript", "css": "text/css", "png": "image/png"}[url.rsplit(".", 1)[1]]
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])


def test_the_vendored_files_carry_their_licences() -> None:
    """Each vendored package has its licence beside it, and the README names versions."""
    assert "Apache License" in (ASSETS / "swagger-ui" / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in (ASSETS / "redoc" / "LICENSE").read_text(encoding="utf-8")
    readme = (ASSETS / "README.md").read_text(encoding="utf-8")
    assert re.search(r"swagger-ui-dist` \| \d+\.\d+\.\d+", readme)
    assert re.search(r"`redoc` .*\| \d+\.\d+\.\d+", readme)


def test_an_asset_outside_the_folder_is_not_served(client: TestClient) -> None:
    """The static route serves the assets' folder only."""
    assert client.get("/docs/assets/../app.py").status_code == 404
    assert client.get("/docs/assets/%2e%2e/app.py").status_code == 404
