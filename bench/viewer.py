"""The viewer's server side at scale: footprint tiles against tipg, and one filter change.

1. Footprint tiles: the viewer draws a whole result set from `/footprints/{z}/{x}/{y}`
   (PostGIS `ST_AsMVT` over pgstac's items, with the search's terms). tipg, an existing
   PostGIS vector-tile server, serves the same table (`pgstac.items`) with the same limit of
   features per tile and the same buffer: a seeded set of tiles over France from zoom 5 to
   11, half of them with a period, a third with one collection, is asked of both, in one
   process, interleaved in random order after a warm-up pass; p50/p95 and their ratio.
2. A filter change: what the viewer asks after each change, side by side — the first page
   (50 items, not counted again: `"conf": {"context": "off"}`), one count of the whole search
   (`/aggregate`: total, per platform, per month) and, when the search has a period, the
   timeline without it — timed from the first request to the last answer, for a seeded set
   of viewer-like searches; and a change of the period only (the timeline, counted without
   the period, is the viewer's already: page and count).

    .venv/bin/python bench/viewer.py --items 1000000

It uses its own embedded cluster under .dinamis-bench/ (--home; DATABASE_URL for another
database) and writes bench/results/viewer-<items>.json as it goes.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import asyncio
import json
import logging
import os
import random
import time
from typing import Any

import httpx
import mapbox_vector_tile
import morecantile

from bench.search import RESULTS, database, serving, summary, viewer_searches
from extensions.assets import StorageSettings
from extensions.plugins import DEFAULT_PLUGINS, load_plugins, migrate_all
from extensions.settings import ApiSettings, Settings
from pgstac.settings import DatabaseSettings
from simulators.archive import load_demo_archive
from stac_api.app import create_app

TMS = morecantile.tms.get("WebMercatorQuad")
PER_TILE = 10_000
BUFFER = 64
IDENTITY = {"Accept-Encoding": "identity"}  # both servers compress; the tiles are compared


def tile_requests(count: int, seed: int) -> list[dict[str, Any]]:
    """Tiles a person browsing France asks for, with the terms of their search."""
    rng = random.Random(seed)
    asked = []
    for _ in range(count):
        z = rng.choice([5, 6, 7, 8, 9, 10, 11])
        tile = TMS.tile(rng.uniform(-1.5, 7.0), rng.uniform(43.2, 50.0), z)
        terms: dict[str, str] = {}
        if rng.random() < 0.5:
            start = rng.randint(1986, 2022)
            end = min(2026, start + rng.choice([1, 2, 5]))
            terms["datetime"] = f"{start}-01-01T00:00:00Z/{end}-12-31T23:59:59Z"
        if rng.random() < 1 / 3:
            terms["collection"] = rng.choice(["spot-swh", "spot67", "pleiades", "pleiades-neo"])
        asked.append({"z": tile.z, "x": tile.x, "y": tile.y, **terms})
    return asked


def ours_url(t: dict[str, Any]) -> tuple[str, dict[str, str]]:
    params = {"product_type": "downloadable"}
    if "datetime" in t:
        params["datetime"] = t["datetime"]
    if "collection" in t:
        params["collections"] = t["collection"]
    return f"/footprints/{t['z']}/{t['x']}/{t['y']}", params


def tipg_url(t: dict[str, Any]) -> tuple[str, dict[str, str]]:
    params = {"properties": "id,collection,datetime", "limit": str(PER_TILE)}
    if "datetime" in t:
        params["datetime"] = t["datetime"]
    if "collection" in t:
        params |= {"filter": f"collection='{t['collection']}'", "filter-lang": "cql2-text"}
    path = f"/collections/pgstac.items/tiles/WebMercatorQuad/{t['z']}/{t['x']}/{t['y']}"
    return path, params


def save(out: Path, report: dict[str, Any]) -> None:
    """Results are written as they come: a long run stopped half-way keeps its first half."""
    with out.open("w") as handle:
        json.dump(report, handle, indent=2)


def features(tile: bytes) -> int:
    return sum(len(layer["features"]) for layer in mapbox_vector_tile.decode(tile).values())


async def timed_tile(
    client: httpx.AsyncClient, url: tuple[str, dict[str, str]], may_fail: bool = False
) -> tuple[float, bytes | None]:
    """The time a tile took, and the tile; None when a server that `may_fail` failed (a 5xx:
    at 16 M items tipg's tile queries reach the statement timeout), a result, not a stop."""
    start = time.perf_counter()
    response = await client.get(url[0], params=url[1], headers=IDENTITY)
    elapsed = time.perf_counter() - start
    if may_fail and response.is_server_error:
        return elapsed, None
    response.raise_for_status()
    return elapsed, response.content


def tipg_app(dsn: str) -> Any:
    """tipg as shipped, serving pgstac's items table with our tiles' limit and buffer."""
    os.environ.update(
        DATABASE_URL=dsn,
        TIPG_DB_SCHEMAS='["pgstac"]',
        TIPG_DB_TABLES='["pgstac.items"]',
        TIPG_MAX_FEATURES_PER_TILE=str(PER_TILE),
        TIPG_TILE_BUFFER=str(BUFFER),
        TIPG_DB_SPATIAL_EXTENT="false",
        TIPG_DB_DATETIME_EXTENT="false",
    )
    from tipg.main import app

    return app


async def bench_tiles(
    ours: httpx.AsyncClient, tipg: httpx.AsyncClient, count: int, rounds: int, seed: int
) -> dict[str, Any]:
    asked = tile_requests(count, seed)
    urls = {"dinamis": ours_url, "tipg": tipg_url}
    clients = {"dinamis": ours, "tipg": tipg}
    times: dict[str, list[float]] = {"dinamis": [], "tipg": []}
    compared = different = full = failed = 0
    for t in asked:  # warm-up, and the same features in both (below the limit)
        ours_tile = (await timed_tile(ours, ours_url(t)))[1]
        tipg_tile = (await timed_tile(tipg, tipg_url(t), may_fail=True))[1]
        if ours_tile is None or tipg_tile is None:
            continue  # no tipg tile to compare with
        compared += 1
        sizes = {"dinamis": features(ours_tile), "tipg": features(tipg_tile)}
        if max(sizes.values()) >= PER_TILE:
            full += 1
        elif sizes["dinamis"] != sizes["tipg"]:
            different += 1
    rng = random.Random(seed + 1)
    for _ in range(rounds):
        for t in asked:
            order = list(clients)
            rng.shuffle(order)
            for name in order:
                elapsed, tile = await timed_tile(clients[name], urls[name](t), name == "tipg")
                # A failure's time counts too, tipg's 30 s timeout: it is what a map waits.
                times[name].append(elapsed)
                failed += tile is None
    result: dict[str, Any] = {
        "tiles": count,
        "rounds": rounds,
        "compared": compared,
        "full_tiles": full,
        "different_counts": different,
        "tipg_failed": failed,
    }
    for name, values in times.items():
        result[name] = summary(values)
    result["ratio_p50"] = round(result["dinamis"]["p50_ms"] / result["tipg"]["p50_ms"], 3)
    result["ratio_p95"] = round(result["dinamis"]["p95_ms"] / result["tipg"]["p95_ms"], 3)
    return result


async def filter_change(
    client: httpx.AsyncClient, body: dict[str, Any], timeline: bool = True
) -> float:
    """What the viewer asks after a change, side by side: the first page (not counted again),
    one count of the whole search (number of results, missions' counts, and the timeline when
    the search has no period), and the timeline without the period when it has one."""
    page = {**body, "limit": 50, "sortby": [{"field": "datetime", "direction": "desc"}]}
    page["conf"] = {"context": "off"}
    aggregations = ["total_count", "platform_frequency"]
    requests = [client.post("/search", json=page)]
    if "datetime" in body:
        if timeline:  # a change of the period only: the viewer has the timeline already
            other = {k: v for k, v in body.items() if k != "datetime"}
            requests.append(
                client.post("/aggregate", json={**other, "aggregations": ["datetime_frequency"]})
            )
    else:
        aggregations.append("datetime_frequency")
    requests.append(client.post("/aggregate", json={**body, "aggregations": aggregations}))
    start = time.perf_counter()
    answers = await asyncio.gather(*requests)
    elapsed = time.perf_counter() - start
    for answer in answers:
        answer.raise_for_status()
    return elapsed


async def bench_changes(
    ours: httpx.AsyncClient, count: int, rounds: int, seed: int
) -> dict[str, Any]:
    """Any change (every search new), and a change of the period only (the searches that
    have one: the timeline, counted without the period, is the viewer's already)."""
    searches = [{k: v for k, v in s.items() if k != "limit"} for s in viewer_searches(count, seed)]
    periods = [s for s in searches if "datetime" in s]
    for body in searches:
        await filter_change(ours, body)
    times = [await filter_change(ours, body) for _ in range(rounds) for body in searches]
    period = [await filter_change(ours, b, timeline=False) for _ in range(rounds) for b in periods]
    return {
        "changes": count,
        "rounds": rounds,
        **summary(times),
        "period_only": {"changes": len(periods), **summary(period)},
    }


async def run(
    dsn: str, storage_root: Path, args: argparse.Namespace, out: Path, report: dict[str, Any]
) -> None:
    settings = Settings(
        api=ApiSettings(),
        database=DatabaseSettings(url=dsn),
        storage=StorageSettings(root=storage_root),
    )
    async with serving(create_app(settings)) as ours, serving(tipg_app(dsn)) as tipg:
        if args.only != "changes":
            report["footprint_tiles"] = await bench_tiles(
                ours, tipg, args.tiles, args.rounds, args.seed
            )
            save(out, report)
            print_tiles(report["footprint_tiles"])
        if args.only != "tiles":
            report["filter_change"] = await bench_changes(
                ours, args.changes, args.rounds, args.seed
            )
            save(out, report)
            print_changes(report["filter_change"])


def print_tiles(tiles: dict[str, Any]) -> None:
    print(
        f"footprint tiles: {tiles['tiles']} tiles x {tiles['rounds']} rounds "
        f"({tiles['compared']} compared: {tiles['full_tiles']} full, "
        f"{tiles['different_counts']} with other counts; tipg failed {tiles['tipg_failed']})"
    )
    for name in ("dinamis", "tipg"):
        print(
            f"  {name:8s} p50 {tiles[name]['p50_ms']:8.2f} ms   p95 {tiles[name]['p95_ms']:8.2f} ms"
        )
    print(f"  ratio    p50 {tiles['ratio_p50']:.3f}        p95 {tiles['ratio_p95']:.3f}")


def print_changes(change: dict[str, Any]) -> None:
    print(
        f"filter change (page + counts + timeline): p50 {change['p50_ms']:.1f} ms   "
        f"p95 {change['p95_ms']:.1f} ms"
    )
    period = change["period_only"]
    print(
        f"period change only ({period['changes']} searches, timeline kept): "
        f"p50 {period['p50_ms']:.1f} ms   p95 {period['p95_ms']:.1f} ms"
    )


def main() -> None:
    logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--tiles", type=int, default=200)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--home", type=Path, default=Path(".dinamis-bench"))
    parser.add_argument("--only", choices=["tiles", "changes"], help="run one part only")
    args = parser.parse_args()

    dsn = database(args.home)
    migrate_all(dsn, load_plugins(DEFAULT_PLUGINS))
    started = time.perf_counter()
    loaded = load_demo_archive(dsn, args.home / "storage", items=args.items, seed=args.seed)
    print(
        f"archive: {loaded.total} items ({loaded.loaded} loaded in {time.perf_counter() - started:.0f} s)"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"viewer-{loaded.total}.json"
    report: dict[str, Any] = {"items": loaded.total}
    asyncio.run(run(dsn, args.home / "storage", args, out, report))


if __name__ == "__main__":
    main()
