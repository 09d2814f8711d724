"""One real PostgreSQL + PostGIS for the whole session, pgstac migrated once, a deterministic
demo archive loaded once, and the app built by the production factory."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pypgstac.load import Methods

from extensions.assets import StorageSettings
from ingest.demo import generate_items
from ingest.demo.rasters import ensure_demo_rasters
from ingest.loader import load_items
from pgstac.cluster import EmbeddedCluster
from pgstac.migrate import migrate
from pgstac.settings import ClusterSettings, DatabaseSettings
from stac_api.app import create_app
from stac_api.settings import ApiSettings, Settings

TEST_SEED = 7
TEST_ITEMS = 1500
ADMIN_TOKEN = secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def home() -> Iterator[Path]:
    """A scratch DINAMIS_HOME; world-traversable so the unprivileged cluster user reaches it."""
    path = Path(tempfile.mkdtemp(prefix="dinamis-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def database(home: Path) -> Iterator[str]:
    """DSN of a migrated database: DINAMIS_TEST_DATABASE_URL, or an embedded cluster."""
    if url := os.environ.get("DINAMIS_TEST_DATABASE_URL"):
        migrate(url)
        yield url
        return
    cluster = EmbeddedCluster(ClusterSettings(home=home / "cluster"))
    status = cluster.start()
    assert status.dsn is not None
    migrate(status.dsn)
    yield status.dsn
    cluster.stop()


@pytest.fixture(scope="session")
def storage_root(home: Path) -> Path:
    root = home / "storage"
    ensure_demo_rasters(root)
    return root


@pytest.fixture(scope="session")
def demo_items(database: str, storage_root: Path) -> list[dict[str, Any]]:
    """The items every read-only test searches: the first TEST_ITEMS of the demo archive."""
    items = list(generate_items(TEST_ITEMS, TEST_SEED))
    load_items(database, items, mode=Methods.upsert)
    return items


def make_settings(database: str, storage_root: Path, **api: Any) -> Settings:
    return Settings(
        api=ApiSettings(**{"admin_token": ADMIN_TOKEN, **api}),
        database=DatabaseSettings(url=database),
        storage=StorageSettings(root=storage_root),
    )


def make_app(database: str, storage_root: Path, **api: Any) -> FastAPI:
    return create_app(make_settings(database, storage_root, **api))


@pytest.fixture(scope="session")
async def client(
    database: str, storage_root: Path, demo_items: list[dict[str, Any]]
) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(database, storage_root)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        yield http
