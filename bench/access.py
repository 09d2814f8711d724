"""Access control's cost: signed-in search vs anonymous vs plain stac-fastapi-pgstac, signatures
per second, and item tiles vs plain titiler on the same COG.

On the bench database (the demo archive, N items, and the registry's demo accounts):
- the viewer-like searches of bench/search.py, interleaved in random order, by plain
  stac-fastapi-pgstac, by DINAMIS STAC anonymously, and by DINAMIS STAC signed in with
  bruce.wayne's API key (rights filter evaluated, every data href signed and audited); the
  three must return the same ids;
- signatures per second: the signer alone, and `GET /sign` end to end;
- tiles of one item's COG by plain titiler (`TilerFactory`, the file's path) and by our item
  tiles (rights checked, the item read from pgstac), interleaved.

    .venv/bin/python bench/access.py --items 1000000
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
import random
import time
from typing import Any

import httpx
import morecantile
import rasterio
from fastapi import FastAPI
from pypgstac.load import Methods
from rasterio.warp import transform_bounds
from titiler.core.factory import TilerFactory

from bench.search import RESULTS, database, plain_app, serving, summary, viewer_searches
from extensions.assets import StorageSettings
from extensions.plugins import DEFAULT_PLUGINS, load_plugins, migrate_all
from extensions.settings import ApiSettings, Settings
from extensions.signing import Grant, Signer
from ingest.loader import load_items
from pgstac.settings import DatabaseSettings
from simulators.archive import load_demo_archive
from simulators.registry import load_registry_demo
from stac_api.app import create_app

USER = "bruce.wayne@formation.example"


async def api_key(client: httpx.AsyncClient) -> str:
    token = await client.post("/auth/token", data={"username": USER, "password": "Toto@34090"})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    created = await client.post("/auth/api-keys", json={"name": "bench"}, headers=headers)
    key: str = created.json()["key"]
    return key


async def searches(
    clients: dict[str, tuple[httpx.AsyncClient, dict[str, str]]],
    queries: int,
    rounds: int,
    seed: int,
) -> dict[str, Any]:
    bodies = viewer_searches(queries, seed)
    times: dict[str, list[float]] = {name: [] for name in clients}
    signed = 0

    async def one(name: str, body: dict[str, Any]) -> list[str]:
        nonlocal signed
        client, headers = clients[name]
        start = time.perf_counter()
        response = await client.post("/search", json=body, headers=headers)
        times[name].append(time.perf_counter() - start)
        response.raise_for_status()
        features = response.json()["features"]
        if name == "signed-in":
            signed += sum("dinamis:expires" in f["assets"].get("data", {}) for f in features)
        return [f["id"] for f in features]

    for body in bodies:  # warm-up
        for name in clients:
            await one(name, body)
    for values in times.values():
        values.clear()
    rng = random.Random(seed + 1)
    mismatches = 0
    for _ in range(rounds):
        for body in bodies:
            order = list(clients)
            rng.shuffle(order)
            ids = {name: await one(name, body) for name in order}
            mismatches += len({tuple(v) for v in ids.values()}) > 1
    result: dict[str, Any] = {name: summary(values) for name, values in times.items()}
    plain = result["plain"]["p50_ms"]
    result["ratio_p50"] = {
        n: round(result[n]["p50_ms"] / plain, 3) for n in ("anonymous", "signed-in")
    }
    result["ratio_p95"] = {
        n: round(result[n]["p95_ms"] / result["plain"]["p95_ms"], 3)
        for n in ("anonymous", "signed-in")
    }
    result["mismatches"] = mismatches
    result["data_hrefs_signed"] = signed
    return result


async def signatures(
    ours: httpx.AsyncClient, key: str, item: dict[str, Any], count: int
) -> dict[str, float]:
    signer = Signer("bench-secret-" + "x" * 32)
    start = time.perf_counter()
    for n in range(count):
        signer.sign(
            Grant(
                f"demo/pleiades/scene-{n}.tif",
                "pleiades",
                f"item-{n}",
                "data",
                1,
                2,
                signer.expires(),
            )
        )
    alone = count / (time.perf_counter() - start)
    href = f"http://bench/collections/{item['collection']}/items/{item['id']}/assets/data"
    requests = max(count // 100, 200)
    start = time.perf_counter()
    for _ in range(requests):
        response = await ours.get("/sign", params={"href": href}, headers={"X-API-Key": key})
        response.raise_for_status()
    endpoint = requests / (time.perf_counter() - start)
    return {"signer_per_s": round(alone), "sign_endpoint_per_s": round(endpoint, 1)}


def tiles_of(path: Path, zoom: int, count: int, seed: int) -> list[morecantile.Tile]:
    with rasterio.open(path) as cog:
        west, south, east, north = transform_bounds(cog.crs, "EPSG:4326", *cog.bounds)
    dx, dy = (east - west) * 0.05, (north - south) * 0.05  # no tile on the very edge
    inside = list(
        morecantile.tms.get("WebMercatorQuad").tiles(
            west + dx, south + dy, east - dx, north - dy, [zoom]
        )
    )
    return random.Random(seed).sample(inside, min(count, len(inside)))


async def tiles(
    ours: httpx.AsyncClient,
    plain: httpx.AsyncClient,
    key: str,
    item: dict[str, Any],
    path: Path,
    zoom: int,
    count: int,
    rounds: int,
    seed: int,
) -> dict[str, Any]:
    chosen = tiles_of(path, zoom, count, seed)
    style = {"rescale": "0,3000"}
    ours_url = f"/collections/{item['collection']}/items/{item['id']}/tiles/WebMercatorQuad"
    times: dict[str, list[float]] = {"dinamis": [], "titiler": []}

    async def one(name: str, tile: morecantile.Tile) -> bytes:
        start = time.perf_counter()
        if name == "dinamis":
            response = await ours.get(
                f"{ours_url}/{tile.z}/{tile.x}/{tile.y}.png",
                params={"bidx": [1, 2, 3], **style},
                headers={"X-API-Key": key},
            )
        else:
            response = await plain.get(
                f"/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png",
                params={"url": str(path), "bidx": [1, 2, 3], **style},
            )
        times[name].append(time.perf_counter() - start)
        response.raise_for_status()
        return response.content

    for tile in chosen:
        for name in times:
            await one(name, tile)
    for values in times.values():
        values.clear()
    rng = random.Random(seed + 2)
    different = 0
    for _ in range(rounds):
        for tile in chosen:
            order = list(times)
            rng.shuffle(order)
            images = {name: await one(name, tile) for name in order}
            different += images["dinamis"] != images["titiler"]
    result: dict[str, Any] = {name: summary(values) for name, values in times.items()}
    result["ratio_p50"] = round(result["dinamis"]["p50_ms"] / result["titiler"]["p50_ms"], 3)
    result["ratio_p95"] = round(result["dinamis"]["p95_ms"] / result["titiler"]["p95_ms"], 3)
    result["tiles"], result["different_images"] = len(chosen), different
    return result


def titiler_app() -> FastAPI:
    app = FastAPI()
    app.include_router(TilerFactory().router)
    return app


async def run(dsn: str, storage_root: Path, args: argparse.Namespace) -> dict[str, Any]:
    ours_app = create_app(
        Settings(
            api=ApiSettings(),
            database=DatabaseSettings(url=dsn),
            storage=StorageSettings(root=storage_root),
        )
    )
    async with (
        serving(ours_app) as ours,
        serving(plain_app(dsn)) as plain,
        serving(titiler_app()) as titiler,
    ):
        key = await api_key(ours)
        clients = {
            "plain": (plain, {}),
            "anonymous": (ours, {}),
            "signed-in": (ours, {"X-API-Key": key}),
        }
        result: dict[str, Any] = {
            "search": await searches(clients, args.queries, args.rounds, args.seed)
        }
        found = await ours.post("/search", json={"collections": ["pleiades"], "limit": 1})
        item = found.json()["features"][0]
        path = storage_root / await data_path(dsn, item)
        result["signatures"] = await signatures(ours, key, item, args.signatures)
        item = tile_item(dsn, item, storage_root, path)
        result["tiles"] = await tiles(
            ours, titiler, key, item, path, args.zoom, args.tiles, args.rounds, args.seed
        )
    return result


def tile_item(dsn: str, source: dict[str, Any], storage_root: Path, path: Path) -> dict[str, Any]:
    """An item whose footprint and projection are its COG's (the demo items share a few
    files, so their own metadata does not describe them): both tilers then agree on bounds."""
    with rasterio.open(path) as cog:
        west, south, east, north = transform_bounds(cog.crs, "EPSG:4326", *cog.bounds)
        projection = {
            "proj:code": f"EPSG:{cog.crs.to_epsg()}",
            "proj:shape": [cog.height, cog.width],
            "proj:transform": list(cog.transform)[:6],
        }
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": ["https://stac-extensions.github.io/projection/v2.0.0/schema.json"],
        "id": "BENCH-TILES",
        "collection": source["collection"],
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [west, south, east, north],
        "properties": {"datetime": "2024-06-01T10:30:00Z", **projection},
        "links": [],
        "assets": {
            "data": {
                "href": str(path.relative_to(storage_root)),
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["data"],
            }
        },
    }
    load_items(dsn, [item], mode=Methods.upsert)
    return item


async def data_path(dsn: str, item: dict[str, Any]) -> str:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        href: str = await conn.fetchval(
            "SELECT pgstac.get_item($1, $2)->'assets'->'data'->>'href'",
            item["id"],
            item["collection"],
        )
    finally:
        await conn.close()
    return href


def main() -> None:
    logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--signatures", type=int, default=100_000)
    parser.add_argument("--tiles", type=int, default=40)
    parser.add_argument("--zoom", type=int, default=14)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--home", type=Path, default=Path(".dinamis-bench"))
    args = parser.parse_args()

    dsn = database(args.home)
    migrate_all(dsn, load_plugins(DEFAULT_PLUGINS))
    load_registry_demo(dsn)
    storage_root = args.home / "storage"
    loaded = load_demo_archive(dsn, storage_root, items=args.items, seed=args.seed)
    print(f"archive: {loaded.total} items")

    result = asyncio.run(run(dsn, storage_root, args))
    result["items"] = loaded.total
    search = result["search"]
    print(
        f"{args.queries} searches x {args.rounds} rounds, interleaved; {search['mismatches']} with different ids; "
        f"{search['data_hrefs_signed']} data hrefs signed"
    )
    for name in ("plain", "anonymous", "signed-in"):
        print(
            f"  {name:10s} p50 {search[name]['p50_ms']:8.2f} ms   p95 {search[name]['p95_ms']:8.2f} ms"
        )
    print(f"  ratio to plain: p50 {search['ratio_p50']}  p95 {search['ratio_p95']}")
    sig = result["signatures"]
    print(
        f"signatures: {sig['signer_per_s']:,} /s (signer), {sig['sign_endpoint_per_s']} /s (GET /sign, sequential)"
    )
    tile = result["tiles"]
    print(
        f"tiles ({tile['tiles']} x {args.rounds}, z{args.zoom}, {tile['different_images']} different images):"
    )
    for name in ("titiler", "dinamis"):
        print(
            f"  {name:10s} p50 {tile[name]['p50_ms']:8.2f} ms   p95 {tile[name]['p95_ms']:8.2f} ms"
        )
    print(f"  ratio to titiler: p50 {tile['ratio_p50']}  p95 {tile['ratio_p95']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"access-{loaded.total}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
