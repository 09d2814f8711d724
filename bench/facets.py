"""Facets: DINAMIS STAC's /aggregate vs plain pgstac GROUP BY queries on the same database.

For viewer-like searches (an area from a commune to all of France, 0-3 missions, often a
period, sometimes a cloud-cover bound), the viewer needs three numbers: the count, the count
per collection and the count per month. Plain: three GROUP BY queries over pgstac's items
with pgstac's own WHERE clause for the search. Ours: one POST /aggregate through the app (the
facets rollup, extensions/facets.py), timed twice: counted anew (the counts the app keeps
forgotten before: `dinamis`, the figure compared with plain) and asked again at once (the
kept counts: `dinamis_repeated`). All must give the same numbers; prints p50/p95 and the
ratios.

    .venv/bin/python bench/facets.py --items 1000000
    .venv/bin/python bench/facets.py --copies 5        # the archive 5 times over (see below)

`--copies K` replicates the loaded archive K times in SQL (each copy shifted by a few km, new
ids), through pgstac's items table with the facets triggers on: a scale test of millions of
items without generating them one by one.
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
import random
import time
from collections import Counter
from typing import Any

import asyncpg
import psycopg

from bench.search import COLLECTIONS, RESULTS, database, serving, summary
from extensions import facets
from extensions.assets import StorageSettings
from extensions.plugins import DEFAULT_PLUGINS, load_plugins, migrate_all
from extensions.settings import ApiSettings, Settings
from pgstac.db import SEARCH_PATH
from pgstac.settings import DatabaseSettings
from simulators.archive import load_demo_archive
from stac_api.app import create_app

AGGREGATIONS = ["total_count", "collection_frequency", "datetime_frequency"]


def facet_searches(count: int, seed: int) -> list[dict[str, Any]]:
    """Searches like the viewer's: an area from a commune (~10 km) to all of France."""
    rng = random.Random(seed)
    searches = []
    for _ in range(count):
        half = rng.choice([0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, None])
        if half is None:  # all of metropolitan France
            bbox = [-5.2, 41.3, 9.6, 51.1]
        else:
            lon, lat = rng.uniform(-1.5, 7.0), rng.uniform(43.2, 50.0)
            bbox = [lon - half, lat - half, lon + half, lat + half]
        body: dict[str, Any] = {"bbox": [round(v, 4) for v in bbox]}
        if rng.random() < 0.7:
            start = rng.randint(1986, 2024)
            end = min(2026, start + rng.choice([1, 2, 5, 10]))
            body["datetime"] = (
                f"{start}-{rng.randint(1, 12):02d}-01T00:00:00Z/{end}-12-31T23:59:59Z"
            )
        if rng.random() < 0.5:
            bound = rng.choice([5, 10, 20, 30, 50])
            body["filter"] = {"op": "<=", "args": [{"property": "eo:cloud_cover"}, bound]}
            body["filter-lang"] = "cql2-json"
        if missions := rng.sample(COLLECTIONS, rng.choice([0, 0, 1, 2, 3])):
            body["collections"] = missions
        searches.append(body)
    return searches


PLAIN = {
    "total": "SELECT '', count(*) FROM items WHERE {}",
    "collections": "SELECT collection, count(*) FROM items WHERE {} GROUP BY 1",
    "months": "SELECT to_char(datetime AT TIME ZONE 'UTC', 'YYYY-MM'), count(*) FROM items "
    "WHERE {} GROUP BY 1",
}


async def plain(conn: asyncpg.Connection, body: dict[str, Any]) -> tuple[float, Any]:
    """The three numbers by plain pgstac SQL."""
    start = time.perf_counter()
    where = await conn.fetchval("SELECT stac_search_to_where($1::text::jsonb)", json.dumps(body))
    answers = [
        dict(await conn.fetch(sql.format(where)))  # type: ignore[arg-type]
        for sql in PLAIN.values()
    ]
    return time.perf_counter() - start, (answers[0][""], answers[1], answers[2])


async def ours(client: Any, body: dict[str, Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    response = await client.post("/aggregate", json={**body, "aggregations": AGGREGATIONS})
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    found = {a["name"]: a for a in response.json()["aggregations"]}
    by_collection = {b["key"]: b["frequency"] for b in found["collection_frequency"]["buckets"]}
    months = {b["key"][:7]: b["frequency"] for b in found["datetime_frequency"]["buckets"]}
    return elapsed, (found["total_count"]["value"], by_collection, months)


async def run(dsn: str, storage_root: Path, queries: int, rounds: int, seed: int) -> dict[str, Any]:
    app = create_app(
        Settings(
            api=ApiSettings(),
            database=DatabaseSettings(url=dsn),
            storage=StorageSettings(root=storage_root),
        )
    )
    searches = facet_searches(queries, seed)
    times: dict[str, list[float]] = {"dinamis": [], "dinamis_repeated": [], "plain": []}
    by_size: dict[str, list[float]] = {}
    mismatches = 0
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SEARCH_PATH})
    async with serving(app) as client:
        for body in searches:  # warm-up
            await ours(client, body)
            await plain(conn, body)
        rng = random.Random(seed + 1)
        for _ in range(rounds):
            for body in searches:
                answers = {}
                for name in rng.sample(["dinamis", "plain"], 2):
                    if name == "plain":
                        elapsed, answers[name] = await plain(conn, body)
                        times[name].append(elapsed)
                        continue
                    facets.REMEMBERED.clear()
                    elapsed, answers[name] = await ours(client, body)
                    times[name].append(elapsed)
                    width = round(body["bbox"][2] - body["bbox"][0], 1)
                    by_size.setdefault(f"{width:g}", []).append(elapsed)
                    elapsed, answers["dinamis_repeated"] = await ours(client, body)
                    times["dinamis_repeated"].append(elapsed)
                if any(
                    Counter(answers[name][1]) != Counter(answers["plain"][1])
                    or answers[name][0] != answers["plain"][0]
                    or answers[name][2] != answers["plain"][2]
                    for name in ("dinamis", "dinamis_repeated")
                ):
                    mismatches += 1
    await conn.close()
    result: dict[str, Any] = {"queries": queries, "rounds": rounds, "mismatches": mismatches}
    for name, values in times.items():
        result[name] = summary(values)
    result["ratio_p50"] = round(result["dinamis"]["p50_ms"] / result["plain"]["p50_ms"], 4)
    result["ratio_p95"] = round(result["dinamis"]["p95_ms"] / result["plain"]["p95_ms"], 4)
    result["ratio_p95_repeated"] = round(
        result["dinamis_repeated"]["p95_ms"] / result["plain"]["p95_ms"], 4
    )
    result["dinamis_by_width_deg"] = {
        k: summary(v)
        for k, v in sorted(by_size.items(), key=lambda kv: float(kv[0]))
        if len(v) >= 2
    }
    return result


COPY = """
INSERT INTO pgstac.items (id, geometry, collection, datetime, end_datetime, content, private)
SELECT id || '-copy{k}', ST_Translate(geometry, {dx}, {dy}), collection, datetime,
       end_datetime, content, private
FROM pgstac.items WHERE id NOT LIKE '%-copy%'
ON CONFLICT DO NOTHING
"""


def replicate(dsn: str, copies: int) -> int:
    """The original items `copies` times in all (copies shifted by a few km)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        sample = conn.execute("SELECT id FROM pgstac.items WHERE id NOT LIKE '%-copy%' LIMIT 1")
        original = sample.fetchone()[0]  # type: ignore[index]
        for k in range(1, copies):
            made = conn.execute("SELECT 1 FROM pgstac.items WHERE id = %s", [f"{original}-copy{k}"])
            if made.fetchone():
                continue
            started = time.perf_counter()
            conn.execute(COPY.format(k=k, dx=0.03 * k, dy=-0.02 * k))  # type: ignore[arg-type]
            print(f"copy {k}: {time.perf_counter() - started:.0f} s", flush=True)
        conn.execute("ANALYZE facets.items")
        conn.execute("ANALYZE facets.cells")
        return int(conn.execute("SELECT count(*) FROM pgstac.items").fetchone()[0])  # type: ignore[index]


def main() -> None:
    logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--home", type=Path, default=Path(".dinamis-bench"))
    args = parser.parse_args()

    dsn = database(args.home)
    migrate_all(dsn, load_plugins(DEFAULT_PLUGINS))
    storage_root = args.home / "storage"
    load_demo_archive(dsn, storage_root, items=args.items, seed=args.seed)
    total = replicate(dsn, args.copies)
    print(f"archive: {total} items")

    result = asyncio.run(run(dsn, storage_root, args.queries, args.rounds, args.seed))
    result["items"] = total
    print(
        f"{result['queries']} searches x {result['rounds']} rounds, interleaved; "
        f"{result['mismatches']} with different numbers"
    )
    for name in ("dinamis", "plain"):
        p50, p95 = result[name]["p50_ms"], result[name]["p95_ms"]
        print(f"  {name:8s} p50 {p50:9.2f} ms   p95 {p95:9.2f} ms")
    print(f"  ratio    p50 {result['ratio_p50']:.4f}       p95 {result['ratio_p95']:.4f}")
    for width, values in result["dinamis_by_width_deg"].items():
        print(
            f"  ours, bbox {width:>5s}° wide: p50 {values['p50_ms']:8.2f} ms  p95 {values['p95_ms']:8.2f} ms"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"facets-{total}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
