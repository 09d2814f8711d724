"""One real PostgreSQL + PostGIS for the whole session, pgstac migrated once, a deterministic
demo archive loaded once, and the app built by the production factory. `make test` runs the
files in a few processes (pytest-xdist), each such a session of its own."""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pypgstac.load import Methods

from extensions.areas import GeometrySettings
from extensions.assets import StorageSettings
from extensions.federation.settings import OneAtlasSettings
from extensions.jobs import JobSettings
from extensions.mail import MailSettings
from extensions.plugins import DEFAULT_PLUGINS, load_plugins, migrate_all
from extensions.ratelimit import RateLimitSettings
from extensions.settings import ApiSettings, Settings
from extensions.web.settings import WebSettings
from ingest.loader import load_items
from pgstac.cluster import EmbeddedCluster, free_port
from pgstac.settings import ClusterSettings, DatabaseSettings
from simulators.archive import generate_items
from simulators.archive.rasters import ensure_demo_rasters
from simulators.registry import load_registry_demo
from stac_api.app import create_app

TEST_SEED = 7
TEST_ITEMS = 1500
ADMIN_TOKEN = secrets.token_urlsafe(32)
TEST_SECRET = secrets.token_urlsafe(32)
# Every app of the session signs with it (tests sign URLs themselves with `Signer`).
os.environ["DINAMIS_SECRET_KEY"] = TEST_SECRET


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """A database the tests are given is one for all: its tests run in this process alone."""
    if os.environ.get("DINAMIS_TEST_DATABASE_URL") and hasattr(config.option, "dist"):
        config.option.dist = "no"
        config.option.numprocesses = 0


@pytest.fixture(scope="session")
def home() -> Iterator[Path]:
    """A scratch DINAMIS_HOME; world-traversable so the unprivileged cluster user reaches it."""
    path = Path(tempfile.mkdtemp(prefix="dinamis-test-"))
    path.chmod(0o755)
    # The asset storage (and the registry's files in it) of the demo's loaders, as the apps'.
    os.environ["DINAMIS_STORAGE_ROOT"] = str(path / "storage")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def database(home: Path) -> Iterator[str]:
    """DSN of a migrated database: DINAMIS_TEST_DATABASE_URL, or an embedded cluster."""
    if url := os.environ.get("DINAMIS_TEST_DATABASE_URL"):
        migrate_all(url, load_plugins(DEFAULT_PLUGINS))
        yield url
        return
    cluster = EmbeddedCluster(ClusterSettings(home=home / "cluster"))
    status = cluster.start()
    assert status.dsn is not None
    migrate_all(status.dsn, load_plugins(DEFAULT_PLUGINS))
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


S3_REGION = "eu-west-3"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3-protocol server on 127.0.0.1 (moto's server mode), for one test module."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_environment(env: pytest.MonkeyPatch, endpoint: str) -> None:
    """The asset storage's S3 settings (DINAMIS_S3_…) and credentials, for that server."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "DINAMIS_S3_ENDPOINT_URL": endpoint,
        "DINAMIS_S3_REGION_NAME": S3_REGION,
    }.items():
        env.setenv(name, value)


def new_bucket(endpoint: str, name: str) -> Any:
    """A boto3 client of that server, with a new bucket `name` on it."""
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": S3_REGION})
    return s3


@pytest.fixture
def rate_limit_counters(database: str) -> None:
    """Rate limits count in the database, shared by every app of the session: a test of the
    limits starts from none counted."""
    import psycopg

    with psycopg.connect(database) as conn:
        conn.execute("DELETE FROM dinamis.rate_limits")


def make_settings(
    database: str,
    storage_root: Path,
    rate_limits: RateLimitSettings | None = None,
    web: WebSettings | None = None,
    storage: StorageSettings | None = None,
    oneatlas: OneAtlasSettings | None = None,
    geometries: GeometrySettings | None = None,
    mail: MailSettings | None = None,
    jobs: JobSettings | None = None,
    mode: str = "development",
    **api: Any,
) -> Settings:
    """The settings of a test app; rate limits are off unless a test sets its own, and the
    app runs no job worker unless the test gives it one (`jobs=JobSettings()`): tests share
    one database, and a worker runs any job of its queue, with its own app's settings."""
    return Settings(
        mode=mode,
        api=ApiSettings(**{"admin_token": ADMIN_TOKEN, **api}),
        database=DatabaseSettings(url=database),
        storage=storage or StorageSettings(root=storage_root),
        rate_limits=rate_limits or RateLimitSettings(enabled=False),
        web=web or WebSettings(),
        oneatlas=oneatlas or OneAtlasSettings(),
        geometries=geometries or GeometrySettings(),
        mail=mail or MailSettings(),
        jobs=jobs or JobSettings(worker="none"),
    )


def make_app(database: str, storage_root: Path, **options: Any) -> FastAPI:
    return create_app(make_settings(database, storage_root, **options))


@pytest.fixture(scope="session")
def registry_demo(database: str) -> list[str]:
    """The registry's demo: the seed's training entities and accounts."""
    return load_registry_demo(database)


@pytest.fixture(scope="session")
async def app(
    database: str, storage_root: Path, demo_items: list[dict[str, Any]], registry_demo: list[str]
) -> AsyncIterator[FastAPI]:
    """The app most tests share, started once (with no job worker, as every test app)."""
    application = make_app(database, storage_root)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def pages(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the shared app, with cookies of its own."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        yield browser


@pytest.fixture(scope="session")
def live_url(
    database: str,
    storage_root: Path,
    home: Path,
    demo_items: list[dict[str, Any]],
    registry_demo: list[str],
) -> Iterator[str]:
    """A real `dinamis serve` on a free port, as `make run` starts it, but with rate limits
    off and no job worker: the tests' own app runs the jobs of the shared database."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "DINAMIS_HOME": str(home),
        "DINAMIS_STORAGE_ROOT": str(storage_root),
        "DINAMIS_API_ADMIN_TOKEN": ADMIN_TOKEN,
        "DINAMIS_RATE_LIMIT_ENABLED": "false",
        "DINAMIS_JOBS_WORKER": "none",
    }
    dinamis = Path(sys.executable).parent / "dinamis"
    log = home / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(dinamis), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}_mgmt/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            raise AssertionError(f"server did not start:\n{log.read_text()[-5000:]}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def print_tasks(loop: asyncio.AbstractEventLoop, nodeid: str) -> None:
    print(f"\n--- asyncio tasks of {nodeid}, still running ---", file=sys.stderr)
    for task in asyncio.all_tasks(loop):
        print(repr(task), file=sys.stderr)
        task.print_stack(limit=12, file=sys.stderr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test still running shortly before its timeout prints what its asyncio tasks wait
    on (pytest-timeout shows only the threads' stacks, and an async test's are all alike)."""

    def report() -> None:
        for loop in (o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop)):
            if loop.is_running():
                loop.call_soon_threadsafe(print_tasks, loop, item.nodeid)

    timeout = float(item.config.getini("timeout") or 0)
    timer = threading.Timer(max(timeout - 20, 1), report) if timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer:
            timer.cancel()
