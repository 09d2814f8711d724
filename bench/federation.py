"""The commandable archive's cost: our overhead above the upstream's own latency.

The OneAtlas simulator runs in its own process at a fixed latency (200 ms by default). For
each viewer-like search, in random order: the upstream search itself (what our client sends,
straight to the simulator), and `GET /search?product_type=commandable` through DINAMIS STAC
(token, query translation, the upstream call, deduplication against the N held items in one
query, mapping to STAC, signed quicklook URLs). Overhead = ours − upstream, per pair.

    .venv/bin/python bench/federation.py --items 1000000
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
import subprocess
import time
from typing import Any

import httpx

from bench.search import RESULTS, database, serving, summary, viewer_searches
from extensions.assets import StorageSettings
from extensions.federation.settings import OneAtlasSettings
from extensions.federation.stac import to_query
from extensions.plugins import DEFAULT_PLUGINS, load_plugins, migrate_all
from extensions.settings import ApiSettings, Settings
from pgstac.cluster import free_port
from pgstac.settings import DatabaseSettings
from simulators.archive import load_demo_archive
from stac_api.app import create_app
from stac_api.search import DinamisSearch

KEY = "bench-key"


def start_simulator(
    port: int, latency_ms: int, held_items: int, seed: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DINAMIS_SIMULATOR_LATENCY_MS": str(latency_ms),
        "DINAMIS_SIMULATOR_API_KEY": KEY,
        "DINAMIS_SIMULATOR_HELD_ITEMS": str(held_items),
        "DINAMIS_SIMULATOR_HELD_SEED": str(seed),
        "DINAMIS_SIMULATOR_BASE_URL": f"http://127.0.0.1:{port}",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "simulators.oneatlas:create_simulator",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--ws",
        "none",
    ]
    server = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            httpx.post(
                f"http://127.0.0.1:{port}/_simulator", json={"latency_ms": latency_ms}, timeout=2
            )
            return server
        except httpx.TransportError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("the simulator did not start")


async def run(
    dsn: str, storage_root: Path, upstream: str, args: argparse.Namespace
) -> dict[str, Any]:
    oneatlas = OneAtlasSettings(
        api_key=KEY, auth_url=upstream, search_url=upstream, access_url=upstream, timeout_seconds=10
    )
    app = create_app(
        Settings(
            api=ApiSettings(),
            database=DatabaseSettings(url=dsn),
            storage=StorageSettings(root=storage_root),
            oneatlas=oneatlas,
        )
    )
    searches = [
        {k: v for k, v in s.items() if k in ("bbox", "datetime")}
        for s in viewer_searches(args.queries, args.seed)
    ]
    times: dict[str, list[float]] = {"upstream": [], "dinamis": []}
    overheads: list[float] = []
    async with serving(app) as ours, httpx.AsyncClient(base_url=upstream, timeout=30) as direct:
        token = (
            await direct.post(
                "/auth/realms/IDP/protocol/openid-connect/token",
                data={"apikey": KEY, "grant_type": "api_key", "client_id": "IDP"},
            )
        ).json()["access_token"]

        async def upstream_search(body: dict[str, Any]) -> float:
            query = to_query(
                DinamisSearch.model_validate({**body, "limit": args.limit}), args.limit, 1
            )
            start = time.perf_counter()
            response = await direct.post(
                "/api/v2/opensearch", json=query, headers={"Authorization": f"Bearer {token}"}
            )
            response.raise_for_status()
            return time.perf_counter() - start

        async def our_search(body: dict[str, Any]) -> float:
            params = {
                "product_type": "commandable",
                "limit": args.limit,
                "bbox": ",".join(map(str, body["bbox"])),
            }
            if body.get("datetime"):
                params["datetime"] = body["datetime"]
            start = time.perf_counter()
            response = await ours.get("/search", params=params)
            response.raise_for_status()
            return time.perf_counter() - start

        for body in searches[:5]:  # warm-up
            await upstream_search(body)
            await our_search(body)
        rng = random.Random(args.seed)
        for _ in range(args.rounds):
            for body in searches:
                pair = {}
                for name in rng.sample(["upstream", "dinamis"], 2):
                    pair[name] = await (
                        upstream_search(body) if name == "upstream" else our_search(body)
                    )
                    times[name].append(pair[name])
                overheads.append(pair["dinamis"] - pair["upstream"])
    result: dict[str, Any] = {name: summary(v, digits=1) for name, v in times.items()}
    result["overhead"] = summary(overheads, digits=1)
    result.update(
        latency_ms=args.latency, queries=args.queries, rounds=args.rounds, limit=args.limit
    )
    return result


def main() -> None:
    logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument(
        "--held", type=int, default=100_000, help="demo items the simulator shares (of --items)"
    )
    parser.add_argument("--latency", type=int, default=200)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--home", type=Path, default=Path(".dinamis-bench"))
    args = parser.parse_args()

    dsn = database(args.home)
    migrate_all(dsn, load_plugins(DEFAULT_PLUGINS))
    loaded = load_demo_archive(dsn, args.home / "storage", items=args.items, seed=args.seed)
    shared = min(args.held, loaded.total)
    print(
        f"archive: {loaded.total} items; simulator at {args.latency} ms, sharing {shared} of them"
    )
    port = free_port()
    simulator = start_simulator(port, args.latency, shared, args.seed)
    try:
        result = asyncio.run(run(dsn, args.home / "storage", f"http://127.0.0.1:{port}", args))
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    result["items"] = loaded.total
    print(f"{args.queries} searches x {args.rounds} rounds, {args.limit} per page, interleaved:")
    for name in ("upstream", "dinamis", "overhead"):
        print(
            f"  {name:9s} p50 {result[name]['p50_ms']:7.1f} ms   p95 {result[name]['p95_ms']:7.1f} ms"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"federation-{loaded.total}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
