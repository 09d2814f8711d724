"""Search latency: DINAMIS STAC vs plain stac-fastapi-pgstac on the same database.

Loads N demo items (once: the load is idempotent), then runs a fixed, seeded set of
viewer-like searches against both apps, in one process, interleaved in random order, after
a warm-up pass; checks that both return the same ids in the same order; prints p50/p95 of
each and their ratio.

    .venv/bin/python bench/search.py --items 1000000

By default it uses its own embedded cluster under .dinamis-bench/ (DATABASE_URL to use
another database).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/…`, this folder would come first on sys.path and its scripts would
# shadow the project's packages (bench/ingest.py is `ingest`): put the project's root there.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI

from extensions.assets import StorageSettings
from extensions.plugins import DEFAULT_PLUGINS, load_plugins, migrate_all
from extensions.settings import ApiSettings, Settings
from pgstac.cluster import EmbeddedCluster
from pgstac.settings import ClusterSettings, DatabaseSettings
from simulators.archive import load_demo_archive
from stac_api.app import create_app

COLLECTIONS = ["spot-swh", "spot67", "pleiades", "pleiades-pwh", "pleiades-neo"]
RESULTS = Path(__file__).parent / "results"


def viewer_searches(count: int, seed: int) -> list[dict[str, Any]]:
    """Searches like the viewer's: an area from a commune to a region over metropolitan
    France, often a period, sometimes a cloud bound, 0-2 missions, a page of 50."""
    rng = random.Random(seed)
    searches = []
    for _ in range(count):
        lon, lat = rng.uniform(-1.5, 7.0), rng.uniform(43.2, 50.0)
        half = rng.choice([0.05, 0.1, 0.25, 0.5, 1.0, 2.0])  # ~10 km to ~400 km wide
        bbox = [lon - half, lat - half, lon + half, lat + half]
        body: dict[str, Any] = {"bbox": [round(v, 4) for v in bbox], "limit": 50}
        if rng.random() < 0.7:
            start = rng.randint(1986, 2024)
            end = min(2026, start + rng.choice([1, 2, 5, 10]))
            body["datetime"] = f"{start}-01-01T00:00:00Z/{end}-12-31T23:59:59Z"
        if rng.random() < 0.5:
            bound = rng.choice([5, 10, 20, 30, 50])
            body["filter"] = {"op": "<=", "args": [{"property": "eo:cloud_cover"}, bound]}
            body["filter-lang"] = "cql2-json"
        if missions := rng.sample(COLLECTIONS, rng.choice([0, 0, 1, 1, 2])):
            body["collections"] = missions
        searches.append(body)
    return searches


def plain_app(dsn: str) -> FastAPI:
    """stac-fastapi-pgstac as shipped, reading its connection from the PG* variables."""
    parts = urlsplit(dsn)
    os.environ.update(
        PGUSER=parts.username or "", PGPASSWORD=parts.password or "",
        PGHOST=parts.hostname or "", PGPORT=str(parts.port), PGDATABASE=parts.path.lstrip("/"),
    )  # fmt: skip
    from stac_fastapi.pgstac.app import instantiate_api
    from stac_fastapi.pgstac.config import Settings as PlainSettings

    return instantiate_api(settings=PlainSettings()).app


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c,
    ):
        yield c


async def timed(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[float, list[str]]:
    start = time.perf_counter()
    response = await client.post("/search", json=body)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed, [f["id"] for f in response.json()["features"]]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summary(values: list[float], digits: int = 2) -> dict[str, float]:
    """p50, p95 and p99 of durations in seconds, in milliseconds."""
    return {
        "p50_ms": round(statistics.median(values) * 1000, digits),
        "p95_ms": round(percentile(values, 95) * 1000, digits),
        "p99_ms": round(percentile(values, 99) * 1000, digits),
    }


async def run(dsn: str, storage_root: Path, queries: int, rounds: int, seed: int) -> dict[str, Any]:
    ours_app = create_app(
        Settings(
            api=ApiSettings(), database=DatabaseSettings(url=dsn),
            storage=StorageSettings(root=storage_root),
        )
    )  # fmt: skip
    searches = viewer_searches(queries, seed)
    times: dict[str, list[float]] = {"dinamis": [], "plain": []}
    async with serving(ours_app) as ours, serving(plain_app(dsn)) as plain:
        clients = {"dinamis": ours, "plain": plain}
        for body in searches:  # warm-up: both apps see every search once
            for client in clients.values():
                await timed(client, body)
        rng = random.Random(seed + 1)
        mismatches = 0
        for _ in range(rounds):
            for body in searches:
                order = list(clients)
                rng.shuffle(order)
                ids = {}
                for name in order:
                    elapsed, ids[name] = await timed(clients[name], body)
                    times[name].append(elapsed)
                if ids["dinamis"] != ids["plain"]:
                    mismatches += 1
    result: dict[str, Any] = {"queries": queries, "rounds": rounds, "mismatches": mismatches}
    for name, values in times.items():
        result[name] = summary(values)
    result["ratio_p50"] = round(result["dinamis"]["p50_ms"] / result["plain"]["p50_ms"], 3)
    result["ratio_p95"] = round(result["dinamis"]["p95_ms"] / result["plain"]["p95_ms"], 3)
    return result


def database(home: Path) -> str:
    if os.environ.get("DATABASE_URL"):
        return DatabaseSettings().dsn()
    status = EmbeddedCluster(ClusterSettings(home=home)).start()
    assert status.dsn
    return status.dsn


def main() -> None:
    logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--home", type=Path, default=Path(".dinamis-bench"))
    args = parser.parse_args()

    dsn = database(args.home)
    migrate_all(dsn, load_plugins(DEFAULT_PLUGINS))
    storage_root = args.home / "storage"
    started = time.perf_counter()
    loaded = load_demo_archive(dsn, storage_root, items=args.items, seed=args.seed)
    took = time.perf_counter() - started
    print(f"archive: {loaded.total} items ({loaded.loaded} loaded in {took:.0f} s)")

    summary = asyncio.run(run(dsn, storage_root, args.queries, args.rounds, args.seed))
    summary["items"] = loaded.total
    print(
        f"{summary['queries']} searches x {summary['rounds']} rounds, interleaved; "
        f"{summary['mismatches']} with different results"
    )
    for name in ("dinamis", "plain"):
        p50, p95 = summary[name]["p50_ms"], summary[name]["p95_ms"]
        print(f"  {name:8s} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms")
    print(f"  ratio    p50 {summary['ratio_p50']:.3f}        p95 {summary['ratio_p95']:.3f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"search-{summary['items']}.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
