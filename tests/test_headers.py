"""Security headers (issue 15, defect 10 and the headers it asks for): no page can be framed
(clickjacking), pages run only this site's scripts (CSP without inline code), no referrer
leaves with a single-use link, HSTS in production."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from extensions.assets import S3Settings, StorageSettings
from extensions.mail.settings import MailSettings
from extensions.ratelimit import RateLimitSettings
from extensions.settings import Settings
from extensions.viewer.settings import Basemap, ViewerSettings
from extensions.web.headers import page_policy, storage_origins
from extensions.web.settings import WebSettings
from stac_api.app import create_app
from tests.conftest import make_settings

ROOT = Path(__file__).parents[1]
TEMPLATES = [
    ROOT / "extensions" / "web" / "templates",
    ROOT / "extensions" / "viewer" / "templates",
    ROOT / "registry_plugin" / "templates",
    ROOT / "ordering_plugin" / "templates",
]


def directives(response: httpx.Response) -> dict[str, list[str]]:
    csp = response.headers["content-security-policy"]
    parsed = {}
    for part in csp.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_not_framed(response: httpx.Response) -> None:
    assert response.headers["x-frame-options"] == "DENY"
    assert directives(response)["frame-ancestors"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/catalogue", "/connexion", "/portail", "/?f=html"])
async def test_pages_run_only_this_sites_scripts(pages: httpx.AsyncClient, path: str) -> None:
    response = await pages.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert_not_framed(response)
    csp = directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    # MapLibre's workers; the default online basemaps' hosts, for their tiles.
    assert "blob:" in csp["worker-src"]
    for host in ("https://tile.openstreetmap.org", "https://data.geopf.fr"):
        assert host in csp["img-src"] and host in csp["connect-src"]
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "strict-transport-security" not in response.headers  # development, over http


async def test_error_pages_too(pages: httpx.AsyncClient) -> None:
    response = await pages.get("/registre/instruction/999")  # anonymous: to the sign-in
    assert response.status_code == 303
    assert_not_framed(response)
    missing = await pages.get("/commandes/demandes/2147483647")
    assert missing.status_code in (303, 404)
    assert_not_framed(missing)


async def test_the_json_api_loads_nothing_and_is_never_framed(client: httpx.AsyncClient) -> None:
    for path in ("/", "/collections", "/search?limit=1", "/collections/nowhere"):
        response = await client.get(path)
        assert "json" in response.headers["content-type"]
        assert_not_framed(response)
        assert directives(response)["default-src"] == ["'none'"]


async def test_asset_and_static_files_too(
    client: httpx.AsyncClient, demo_items: list[dict[str, Any]]
) -> None:
    item = demo_items[0]
    served = await client.get(f"/collections/{item['collection']}/items/{item['id']}")
    thumbnail = await client.get(served.json()["assets"]["thumbnail"]["href"])
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"].startswith("image/")
    # The address holds a signature: it is never sent on as a referrer.
    assert thumbnail.headers["referrer-policy"] == "no-referrer"
    for response in (thumbnail, await client.get("/static/forms.js")):
        assert_not_framed(response)
        assert directives(response)["default-src"] == ["'none'"]


async def test_a_body_refused_before_the_app_has_them(client: httpx.AsyncClient) -> None:
    response = await client.post("/search", content=b"x" * (2 << 20))
    assert response.status_code == 413
    assert_not_framed(response)


@pytest.mark.parametrize(
    "path",
    [
        "/connexion/nouveau-mot-de-passe/not-a-real-token",
        "/portail/verification/not-a-real-token",
        "/portail/adhesion/validation/not-a-real-token",
    ],
)
async def test_single_use_links_send_no_referrer(pages: httpx.AsyncClient, path: str) -> None:
    """The password reset, e-mail verification and RL e-validation pages hold their token in
    their address: a link followed from them must not carry it to another site."""
    response = await pages.get(path)
    assert "text/html" in response.headers["content-type"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert_not_framed(response)


async def test_the_swagger_ui_runs_under_the_page_policy(client: httpx.AsyncClient) -> None:
    """Swagger UI is served from this site (a static initializer, no CDN): its page needs no
    exception to the pages' policy."""
    response = await client.get("/api.html")
    assert response.status_code == 200
    assert_not_framed(response)
    csp = directives(response)
    assert csp["script-src"] == ["'self'"]
    assert "https://cdn.jsdelivr.net" not in response.text


async def test_hsts_in_production_or_over_https(database: str, storage_root: Path) -> None:
    """Static files need no services: the app is built by the factory and not started."""
    https = WebSettings(secret_key=SecretStr("s" * 40), public_url="https://dinamis.example")
    cases = {
        "production": make_settings(
            database, storage_root, mode="production", web=https, admin_token="x" * 40,
            mail=MailSettings(smtp_host="127.0.0.1"), rate_limits=RateLimitSettings(),
        ),
        "https": make_settings(database, storage_root, web=https),
        "development": make_settings(database, storage_root),
    }  # fmt: skip
    sent = {}
    for name, settings in cases.items():
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/static/dinamis.css")
        assert response.status_code == 200
        sent[name] = response.headers.get("strict-transport-security")
    assert sent == {
        "production": "max-age=31536000; includeSubDomains",
        "https": "max-age=31536000; includeSubDomains",
        "development": None,
    }


def test_images_may_come_from_the_configured_basemaps_and_storage() -> None:
    viewer = ViewerSettings(
        basemaps=[Basemap(id="ortho", name="Ortho", tiles="https://tiles.example.org/{z}/{x}/{y}")]
    )
    local = Settings(viewer=viewer)
    assert "img-src 'self' data: blob: https://tiles.example.org;" in page_policy(local)
    assert "openstreetmap" not in page_policy(local)
    assert "openstreetmap" not in page_policy(Settings(viewer=ViewerSettings(basemaps=[])))

    s3 = Settings(storage=StorageSettings(s3_url="s3://dinamis-assets/prod"))
    assert storage_origins(s3, S3Settings(region_name="eu-west-3")) == [
        "https://dinamis-assets.s3.amazonaws.com",
        "https://dinamis-assets.s3.eu-west-3.amazonaws.com",
    ]
    minio = S3Settings(endpoint_url="http://127.0.0.1:9000/")
    assert storage_origins(s3, minio) == ["http://127.0.0.1:9000"]
    assert storage_origins(local) == []


INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"  # code in the page
    r"|\son[a-z]+\s*="  # event handler attributes
    r"|javascript:"
    r"|\sstyle\s*="  # inline styles (style-src 'self')
    r"|<style",
    re.IGNORECASE,
)


def test_templates_hold_no_inline_code_or_style() -> None:
    """What the pages' CSP would refuse: inline scripts and handlers, `javascript:` URLs,
    inline styles (JSON data blocks are fine)."""
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for folder in TEMPLATES
        for path in folder.rglob("*.html")
        for match in INLINE_CODE.finditer(path.read_text())
    ]
    assert found == []
