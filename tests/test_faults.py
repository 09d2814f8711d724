"""Faults, with real parts and bounded in time: PostgreSQL restarted under searches and a
harvest, the Airbus archive slow, down or answering garbage, the SMTP server down then back,
a job worker killed in the middle of a delivery, and a full disk under a delivery.

Each test says what it asked and what it got (`-s` shows the figures)."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from extensions.plugins import DEFAULT_PLUGINS, load_plugins, migrate_all
from ingest.harvest import HarvestOptions, HarvestReport, harvest
from ingest.loader import load_items
from ingest.sources import SourceSpec
from pgstac.cluster import EmbeddedCluster
from pgstac.db import connect
from pgstac.settings import ClusterSettings
from simulators.archive import generate_items
from tests.conftest import make_app

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "dimap" / "v2"
SPOT6 = SAMPLES / "DIM_SPOT6_PMS_202012141415240_ORT_5588528101.XML"
PRODUCTS = 400
PRODUCT_PREFIX = "SPOT6_PMS_202012141415240_ORT_9"


def tally(outcomes: list[tuple[str, int]]) -> str:
    counts = Counter(f"{path} {status}" for path, status in outcomes)
    return ", ".join(f"{key}: {n}" for key, n in sorted(counts.items()))


# -- PostgreSQL restarted ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_cluster(home: Path) -> Iterator[EmbeddedCluster]:
    """A cluster of this module's own, which the restart test stops and starts again without
    disturbing the session's."""
    cluster = EmbeddedCluster(ClusterSettings(home=home / "faults-cluster"))
    status = cluster.start()
    assert status.dsn is not None
    migrate_all(status.dsn, load_plugins(DEFAULT_PLUGINS))
    load_items(status.dsn, list(generate_items(50, 3)))
    yield cluster
    cluster.stop()


@pytest.fixture
def products(tmp_path: Path) -> Path:
    """PRODUCTS copies of a real SPOT 6 product, each under a name of its own (the item id)."""
    if not SPOT6.exists():
        pytest.skip(f"the real DIMAP samples ({SAMPLES}) are not on this machine")
    root = tmp_path / "archive"
    image = "IMG_SPOT6_PMS_202012141415240_ORT_5588528101_R1C1.JP2"
    for n in range(PRODUCTS):
        folder = root / f"p{n:03d}"
        folder.mkdir(parents=True)
        shutil.copy(SPOT6, folder / f"DIM_{PRODUCT_PREFIX}{n:03d}.XML")
        (folder / image).write_bytes(b"jp2")
    return root


def catalogue_counts(dsn: str) -> tuple[int, int, int, int]:
    """Items, harvested products, their distinct items, and the other items."""
    with connect(dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM items WHERE id LIKE %(p)s),"
            " (SELECT count(*) FROM dinamis.harvested WHERE key LIKE 'faults/%%'),"
            " (SELECT count(DISTINCT item_id) FROM dinamis.harvested WHERE key LIKE 'faults/%%'),"
            " (SELECT count(*) FROM items WHERE id NOT LIKE %(p)s)",
            {"p": PRODUCT_PREFIX + "%"},
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2], row[3]


async def test_postgresql_restarted_under_searches_and_a_harvest(
    own_cluster: EmbeddedCluster, storage_root: Path, products: Path
) -> None:
    """Searches and pages answer 503 with Retry-After while PostgreSQL is down, never 500,
    and answer again once it is back, without restarting the API; the interrupted harvest,
    run again, loads what it had not, and nothing is lost or doubled."""
    dsn = own_cluster.status().dsn
    assert dsn is not None
    others = catalogue_counts(dsn)[3]
    options = HarvestOptions(href_prefix="faults/", workers=1, chunk_size=5)
    app = make_app(dsn, storage_root)
    outcomes: list[tuple[str, int]] = []
    unclear: list[str] = []
    paths = ["/search?limit=5", "/collections/spot67/items?limit=2", "/registry/entities"]
    page = "/portail"

    async def ask(http: httpx.AsyncClient, path: str) -> int:
        response = await http.get(path, headers={"Accept": "text/html"} if path == page else {})
        outcomes.append((path, response.status_code))
        if response.status_code != 200 and not (
            response.status_code == 503
            and response.headers.get("retry-after", "").isdigit()
            and (path == page or response.json()["code"] == "ServiceUnavailable")
        ):
            unclear.append(f"{path}: {response.status_code} {response.text[:300]}")
        return response.status_code

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://t",
        ) as http,
    ):
        for path in [*paths, page]:
            assert await ask(http, path) == 200, unclear

        started = threading.Event()
        interrupted: list[BaseException] = []

        def first_harvest() -> HarvestReport | None:
            def progress(done: int, total: int) -> None:
                if done >= 20:
                    started.set()

            try:
                return harvest(SourceSpec(str(products)), dsn, options, progress=progress)
            except Exception as exc:  # the database went away under it
                interrupted.append(exc)
                return None
            finally:
                started.set()

        harvesting = asyncio.create_task(asyncio.to_thread(first_harvest))
        restarted = asyncio.Event()

        async def restart() -> None:
            await asyncio.to_thread(started.wait, 30)
            await asyncio.to_thread(own_cluster.stop)
            await asyncio.sleep(2)  # down for a while: every request meanwhile says so
            await asyncio.to_thread(own_cluster.start)
            restarted.set()

        restarting = asyncio.create_task(restart())
        deadline = time.monotonic() + 40
        while not restarted.is_set():
            assert time.monotonic() < deadline, "PostgreSQL did not restart"
            for path in [*paths, page]:
                await ask(http, path)
            await asyncio.sleep(0.05)
        await restarting
        during = len(outcomes)
        back: dict[str, float] = {}
        while len(back) < len(paths) + 1:
            assert time.monotonic() < deadline, f"not answering again: {outcomes[-8:]}"
            for path in [*paths, page]:
                if await ask(http, path) == 200:
                    back.setdefault(path, time.monotonic())
            await asyncio.sleep(0.05)
        first = await harvesting

    print(
        f"\nrestart: {len(outcomes)} requests ({during} until PostgreSQL was back): "
        f"{tally(outcomes)}; first harvest: "
        f"{interrupted[0] if interrupted else first}"
    )
    assert not unclear, unclear
    assert any(status == 503 for _, status in outcomes), "the fault was not seen"
    assert interrupted or (first is not None and first.failed), "the harvest was not interrupted"

    again = harvest(SourceSpec(str(products)), dsn, options)
    print(f"second harvest: {again.skipped} skipped, {again.loaded} loaded")
    assert again.failed == 0, again.failures
    assert again.skipped + again.loaded + again.updated == PRODUCTS
    assert catalogue_counts(dsn) == (PRODUCTS, PRODUCTS, PRODUCTS, others)
    assert harvest(SourceSpec(str(products)), dsn, options).skipped == PRODUCTS
