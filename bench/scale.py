"""The archive's scale (issue 18): ours beside the plain stack as the archive grows to 16 M items.

Builds an archive with the seed's mission mix (`SEED_MIX`) and the demo's realism (each
platform's life, France and overseas, seasons, clouds, angles: simulators/archive), loads it
through our bulk loader (`ingest.loader.BulkLoader`, the harvester's `insert` mode, the
generator in a second process) in steps, and at each step measures, one request at a time,
interleaved in random order, after a warm-up:
- `load`: the step's load rate, items/s (the settling that keeps the facets rollup fast
  included), and the rate of its last 100,000 items;
- `search`: viewer-like searches (bench/search.py) by plain stac-fastapi-pgstac and by ours,
  anonymous and signed in (bench/access.py), p50/p95/p99 and the ratios: the same searches
  asked again after the warm-up, whose counts ours keeps (`count` and `pages` give new ones);
- `count`: the exact `numberMatched` of new queries (never asked before, pgstac's cached
  counts emptied before each): ours against plain with `"conf": {"context": "on"}`, and
  against plain without a count;
- `pages`: pages 2 and 3 of new queries, followed by their `next` links: ours with the exact
  count against plain without one;
- `facets`: count + per collection + per month, ours `POST /aggregate` against plain GROUP BY
  (bench/facets.py);
- `tiles`: footprint tiles, ours `/footprints/{z}/{x}/{y}` against tipg (bench/viewer.py);
- `size`: the database's size, total and per million items.
Every query runs under a `statement_timeout` (`--timeout`, ours and plain alike); a
measurement that fails keeps its error in the report and the run goes on.

The report (`--out`, bench/results/scale.json) is written after each measurement, with a
plot of each figure against N beside it (.png). A run resumes where the last one stopped: the
archive and the cluster stay in `--home`, a step already measured is skipped.

    .venv/bin/python bench/scale.py                        # 1, 4, 8, 16 M: about 5 hours
    .venv/bin/python bench/scale.py --steps 0.05,0.1 --home .dinamis-scale-smoke \\
        --out bench/results/scale-smoke.json               # smoke run: about 9 minutes

Durations measured on this machine (2 cores, 24 GB): the loads took 7 minutes to 1 M, then
22, 41 and 113 minutes to 4, 8 and 16 M (2.3 k items/s falling to 1.2 k); the 16 M step's
measurements 48 minutes (search 4, count 2, facets 13, tiles 30: tipg's tiles over France
reach the 30 s timeout). Disk: 46.5 GB at 16 M (`df -h` first). The 1 M step's measurements
alone, on an archive already loaded: search 75 s, count 31 s, pages 48 s, facets 44 s, tiles
177 s.
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
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from typing import Any

import asyncpg
import httpx
from psycopg import sql
from psycopg.types.json import Jsonb
from pypgstac.load import Methods

from bench import access, facets, viewer
from bench.search import RESULTS, database, plain_app, serving, summary, viewer_searches
from extensions.assets import StorageSettings
from extensions.plugins import DEFAULT_PLUGINS, load_plugins, migrate_all
from extensions.settings import ApiSettings, Settings
from ingest.loader import BulkLoader
from pgstac.db import SEARCH_PATH, connect
from pgstac.settings import DatabaseSettings
from simulators.archive.generator import PLATFORMS, Platform, generate_item
from simulators.archive.rasters import ensure_demo_rasters
from simulators.registry import load_registry_demo
from stac_api.app import create_app

SEED_MIX: dict[tuple[str, str], float] = {
    # The seed's catalogue, millions of scenes: SPOT 2 4.05, PLEIADES 3.56, SPOT 5 3.49 + 0.003,
    # SPOT 4 3.13 + 1.02, SPOT 1 0.76, SPOT 3 0.36, SPOT 6/7 0.008. Pléiades and SPOT 6/7 are
    # split between their platforms (and Pléiades' World Heritage) as the demo splits them.
    # The seed lists no Pléiades Neo: 0.1 M, so that its searches find some.
    ("spot-1", "spot-swh"): 0.762,
    ("spot-2", "spot-swh"): 4.05,
    ("spot-3", "spot-swh"): 0.361,
    ("spot-4", "spot-swh"): 4.15,
    ("spot-5", "spot-swh"): 3.493,
    ("spot-6", "spot67"): 0.0042,
    ("spot-7", "spot67"): 0.0035,
    ("pleiades-1a", "pleiades"): 1.712,
    ("pleiades-1b", "pleiades"): 1.335,
    ("pleiades-1a", "pleiades-pwh"): 0.300,
    ("pleiades-1b", "pleiades-pwh"): 0.213,
    ("pleiades-neo-3", "pleiades-neo"): 0.053,
    ("pleiades-neo-4", "pleiades-neo"): 0.047,
}
MIX: tuple[Platform, ...] = tuple(
    replace(p, weight=SEED_MIX[p.platform, p.collection]) for p in PLATFORMS
)
MEASURES = ("size", "search", "count", "pages", "facets", "tiles")
BATCH = 100_000
"""Items loaded between two records of the progress (an interrupted load resumes there)."""
GENERATED = 5_000
"""Items the generator process makes per task."""


def generated(seed: int, start: int, stop: int) -> list[dict[str, Any]]:
    return [generate_item(seed, index, MIX) for index in range(start, stop)]


def generated_items(
    pool: ProcessPoolExecutor, seed: int, start: int, stop: int
) -> Iterator[dict[str, Any]]:
    """Items start..stop made in the pool while the loader writes, at most 3 tasks ahead."""
    pending: deque[Future[list[dict[str, Any]]]] = deque()
    for first in range(start, stop, GENERATED):
        pending.append(pool.submit(generated, seed, first, min(first + GENERATED, stop)))
        if len(pending) > 2:
            yield from pending.popleft().result()
    while pending:
        yield from pending.popleft().result()


def load_name(seed: int) -> str:
    return f"scale-{seed}"


def loaded_count(dsn: str, seed: int) -> tuple[int, bool]:
    """Items loaded by the last runs, and whether items past them may be there (a run stopped
    while loading)."""
    with connect(dsn) as conn:
        row = conn.execute(
            "SELECT item_count FROM dinamis.loads WHERE name = %s", [load_name(seed)]
        ).fetchone()
        loaded = int(row[0]) if row else 0
        if loaded:
            return loaded, True
        any_item = conn.execute("SELECT EXISTS (SELECT FROM pgstac.items)").fetchone()
        return 0, bool(any_item and any_item[0])


def record_loaded(dsn: str, seed: int, count: int) -> None:
    with connect(dsn) as conn:
        conn.execute(
            "INSERT INTO dinamis.loads (name, parameters, item_count, started_at) "
            "VALUES (%(name)s, %(parameters)s, %(count)s, now()) "
            "ON CONFLICT (name) DO UPDATE SET item_count = EXCLUDED.item_count, "
            "finished_at = now()",
            {
                "name": load_name(seed),
                "parameters": Jsonb({"seed": seed, "mix": mix_report()}),
                "count": count,
            },
        )


def load_step(dsn: str, seed: int, start: int, target: int, resuming: bool) -> dict[str, Any]:
    """Items start..target through the bulk loader, then its settling of the tables.

    Items are copied straight in (`insert`, as the harvester loads new products), except the
    first batch after an interrupted run, which may be in part (`ignore`: kept as they are).
    """
    began = time.perf_counter()
    last_rate = 0.0
    loader = BulkLoader(dsn)
    try:
        with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:
            for first in range(start, target, BATCH):
                stop = min(first + BATCH, target)
                mode = Methods.ignore if resuming and first == start else Methods.insert
                batch_began = time.perf_counter()
                loader.load(generated_items(pool, seed, first, stop), mode)
                last_rate = (stop - first) / (time.perf_counter() - batch_began)
                record_loaded(dsn, seed, stop)
                print(f"  loaded {stop:,} items ({last_rate:,.0f} items/s)", flush=True)
    finally:
        settling = time.perf_counter()
        loader.close()
    ended = time.perf_counter()
    return {
        "items": target - start,
        "seconds": round(ended - began, 1),
        "settle_seconds": round(ended - settling, 1),
        "items_per_s": round((target - start) / (ended - began)),
        "last_batch_items_per_s": round(last_rate),
    }


def database_size(dsn: str, items: int) -> dict[str, Any]:
    with connect(dsn) as conn:
        total = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]
        schemas = conn.execute(
            "SELECT n.nspname, sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') "
            "AND n.nspname IN ('pgstac', 'facets', 'tiles') GROUP BY 1 ORDER BY 1"
        ).fetchall()
    gb = 1024**3
    return {
        "total_gb": round(total / gb, 3),
        "gb_per_million_items": round(total / gb / (items / 1e6), 3),
        "schemas_gb": {name: round(int(size) / gb, 3) for name, size in schemas},
    }


def bound_statements(dsn: str, timeout_ms: int | None) -> None:
    """Every new session of the database gets this statement_timeout (None: none, for
    loading): plain stac-fastapi-pgstac, tipg and the GROUP BY connection take no setting."""
    with connect(dsn, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        if timeout_ms is None:
            conn.execute(
                sql.SQL("ALTER DATABASE {} RESET statement_timeout").format(sql.Identifier(name))
            )
        else:
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET statement_timeout = {}").format(
                    sql.Identifier(name), sql.Literal(timeout_ms)
                )
            )


async def new_counts(
    ours: httpx.AsyncClient, plain: httpx.AsyncClient, dsn: str, queries: int, seed: int
) -> dict[str, Any]:
    """Searches neither side has seen (pgstac's cached counts emptied before each request):
    ours with its exact numberMatched, plain with pgstac's exact count, and plain without a
    count (the issue's yardstick for a search with its count)."""
    bodies = viewer_searches(queries, seed)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SEARCH_PATH})
    times: dict[str, list[float]] = {"dinamis": [], "plain": [], "plain_without_count": []}
    conf = {"dinamis": None, "plain": "on", "plain_without_count": "off"}
    clients = {"dinamis": ours, "plain": plain, "plain_without_count": plain}
    mismatches = 0
    rng = random.Random(seed + 1)
    try:
        for body in bodies:
            matched = {}
            for name in rng.sample(list(clients), len(clients)):
                await conn.execute("DELETE FROM pgstac.search_wheres")
                payload = body if conf[name] is None else {**body, "conf": {"context": conf[name]}}
                start = time.perf_counter()
                response = await clients[name].post("/search", json=payload)
                times[name].append(time.perf_counter() - start)
                response.raise_for_status()
                matched[name] = response.json().get("numberMatched")
            mismatches += matched["dinamis"] != matched["plain"]
    finally:
        await conn.close()
    result: dict[str, Any] = {"queries": queries, "mismatches": mismatches}
    for name, values in times.items():
        result[name] = summary(values)
    for q in ("p50", "p95"):
        ours_ms = result["dinamis"][f"{q}_ms"]
        result[f"ratio_{q}"] = round(ours_ms / result["plain"][f"{q}_ms"], 3)
        result[f"ratio_{q}_without_count"] = round(
            ours_ms / result["plain_without_count"][f"{q}_ms"], 3
        )
    return result


def next_link(page: dict[str, Any]) -> dict[str, Any] | None:
    return next((link for link in page.get("links", []) if link.get("rel") == "next"), None)


async def next_pages(
    ours: httpx.AsyncClient, plain: httpx.AsyncClient, queries: int, pages: int, seed: int
) -> dict[str, Any]:
    """The pages after the first of searches neither side has seen, followed by their `next`
    links: ours with the exact numberMatched (counted for the first page, kept since), plain
    without a count. Only the following pages are timed."""
    bodies = viewer_searches(queries, seed)
    times: dict[str, list[float]] = {"dinamis": [], "plain": []}
    clients = {"dinamis": ours, "plain": plain}
    rng = random.Random(seed + 1)
    followed = mismatches = 0
    for body in bodies:
        ids = {}
        for name in rng.sample(list(clients), len(clients)):
            response = await clients[name].post("/search", json=body)
            response.raise_for_status()
            seen = []
            for _ in range(pages):
                link = next_link(response.json())
                if link is None:
                    break
                start = time.perf_counter()
                if link.get("method") == "POST":
                    response = await clients[name].post(link["href"], json=link["body"])
                else:
                    response = await clients[name].get(link["href"])
                times[name].append(time.perf_counter() - start)
                response.raise_for_status()
                seen += [f["id"] for f in response.json()["features"]]
            ids[name] = seen
        followed += len(ids["dinamis"]) > 0
        mismatches += ids["dinamis"] != ids["plain"]
    result: dict[str, Any] = {"queries": queries, "followed": followed, "mismatches": mismatches}
    for name, values in times.items():
        result[name] = summary(values)
    for q in ("p50", "p95"):
        result[f"ratio_{q}"] = round(result["dinamis"][f"{q}_ms"] / result["plain"][f"{q}_ms"], 3)
    return result


async def measure(
    dsn: str,
    storage_root: Path,
    args: argparse.Namespace,
    step: dict[str, Any],
    save: Callable[[], None],
) -> None:
    """The step's measurements not made yet, each saved as soon as it is made."""

    async def kept(name: str, measurement: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        if name in step:
            return
        started = time.perf_counter()
        try:
            step[name] = await measurement()
        except Exception as error:  # a timeout or a 5xx at this size is a result too
            step[name] = {"error": f"{type(error).__name__}: {error}"[:500]}
        step[name]["seconds"] = round(time.perf_counter() - started, 1)
        save()
        print(f"  {name}: {brief(step[name])}", flush=True)

    seed, items = args.seed, step["items"]
    settings = Settings(
        api=ApiSettings(),
        database=DatabaseSettings(url=dsn, statement_timeout_ms=args.timeout * 1000),
        storage=StorageSettings(root=storage_root),
    )
    async with (
        serving(create_app(settings)) as ours,
        serving(plain_app(dsn)) as plain,
        serving(viewer.tipg_app(dsn)) as tipg,
    ):
        key = await access.api_key(ours)
        clients = {
            "plain": (plain, {}),
            "anonymous": (ours, {}),
            "signed-in": (ours, {"X-API-Key": key}),
        }
        await kept("search", lambda: access.searches(clients, args.queries, args.rounds, seed))
        # New queries at each step: seeded by the archive's size.
        await kept("count", lambda: new_counts(ours, plain, dsn, args.queries, seed * 31 + items))
        await kept("pages", lambda: next_pages(ours, plain, args.queries, 2, seed * 37 + items))
        await kept("facets", lambda: facets.run(dsn, storage_root, args.queries, 1, seed))
        await kept("tiles", lambda: viewer.bench_tiles(ours, tipg, args.tiles, args.rounds, seed))


def brief(result: dict[str, Any]) -> str:
    if "error" in result:
        return result["error"]
    shown = []
    for name, value in result.items():
        if isinstance(value, dict) and "p50_ms" in value:
            shown.append(
                f"{name} {value['p50_ms']:.0f}/{value['p95_ms']:.0f}/{value['p99_ms']:.0f} ms"
            )
        elif name in (
            "items_per_s",
            "total_gb",
            "gb_per_million_items",
            "mismatches",
            "tipg_failed",
        ):
            shown.append(f"{name} {value}")
    return ", ".join(shown)


def mix_report() -> dict[str, float]:
    total = sum(SEED_MIX.values())
    return {f"{c}/{p}": round(w / total, 5) for (p, c), w in SEED_MIX.items()}


def plot(report: dict[str, Any], path: Path) -> None:
    """Each figure against the archive's size, ours beside plain."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = sorted((s for s in report["steps"].values()), key=lambda s: s["items"])
    panels: list[tuple[str, str, list[tuple[str, tuple[str, ...]]]]] = [
        (
            "load rate",
            "items/s",
            [
                ("ours", ("load", "items_per_s")),
                ("ours, last 100 k", ("load", "last_batch_items_per_s")),
            ],
        ),
        (
            "database size",
            "GB",
            [
                ("total", ("size", "total_gb")),
                ("per million items", ("size", "gb_per_million_items")),
            ],
        ),
    ]
    for q in ("p50", "p95", "p99"):
        panels.append(
            (
                f"search {q}",
                "ms",
                [
                    (f"plain {q}", ("search", "plain", f"{q}_ms")),
                    (f"ours, anonymous {q}", ("search", "anonymous", f"{q}_ms")),
                    (f"ours, signed in {q}", ("search", "signed-in", f"{q}_ms")),
                ],
            )
        )
    for name, title, other in (
        ("count", "numberMatched of a new query", "plain, context on"),
        ("facets", "count + collections + months", "plain GROUP BY"),
        ("tiles", "footprint tiles", "tipg"),
    ):
        key = "tipg" if name == "tiles" else "plain"
        panels.append(
            (
                title,
                "ms",
                [
                    (f"{other} p50", (name, key, "p50_ms")),
                    (f"{other} p95", (name, key, "p95_ms")),
                    ("ours p50", (name, "dinamis", "p50_ms")),
                    ("ours p95", (name, "dinamis", "p95_ms")),
                ],
            )
        )
    panels.append(
        ("ours / plain, p95", "ratio", [
            ("search, anonymous", ("search", "ratio_p95", "anonymous")),
            ("search, signed in", ("search", "ratio_p95", "signed-in")),
            ("numberMatched", ("count", "ratio_p95")),
            ("search, new query / plain without count", ("count", "ratio_p95_without_count")),
            ("pages 2-3 / plain without count", ("pages", "ratio_p95")),
            ("facets", ("facets", "ratio_p95")),
            ("tiles (tipg)", ("tiles", "ratio_p95")),
        ])
    )  # fmt: skip
    figure, axes = plt.subplots(3, 3, figsize=(15, 12))
    for axis, (title, unit, series) in zip(axes.flat, panels, strict=True):
        for label, keys in series:
            points = [
                (s["items"] / 1e6, value) for s in steps if (value := dig(s, keys)) is not None
            ]
            if points:
                axis.plot(*zip(*points, strict=True), marker="o", label=label, **style(label))
        axis.set_title(title)
        axis.set_xlabel("items (millions)")
        axis.set_ylabel(unit)
        if unit == "ratio":
            axis.axhline(1.0, color="grey", linewidth=0.8)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        if axis.lines:
            axis.legend(fontsize="small")
    figure.suptitle(f"DINAMIS STAC at scale: ours beside the plain stack ({report['machine']})")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def style(label: str) -> dict[str, str]:
    """One colour per side (plain, ours anonymous, ours signed in), one line per percentile."""
    if not label.endswith(("p50", "p95", "p99")):
        return {}
    side = "C0" if label.startswith(("plain", "tipg")) else "C2" if "signed" in label else "C1"
    return {"color": side, "linestyle": "--" if label.endswith("p95") else "-"}


def dig(step: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    value: Any = step
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value)


def machine(dsn: str) -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    with connect(dsn) as conn:
        settings = [
            f"{name} {conn.execute(sql.SQL('SHOW {}').format(sql.Identifier(name))).fetchone()[0]}"  # type: ignore[index]
            for name in ("shared_buffers", "work_mem")
        ]
    return f"{os.cpu_count()} cores, {memory:.0f} GB; " + ", ".join(settings)


def main() -> None:
    # Ctrl-C stops at once (asyncio's cancellation was swallowed mid-measurement): every
    # result is saved as it is made, and the next run resumes.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", default="1,4,8,16", help="archive sizes, millions of items")
    parser.add_argument("--queries", type=int, default=100, help="searches per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the searches and tiles")
    parser.add_argument("--tiles", type=int, default=100)
    parser.add_argument("--timeout", type=int, default=30, help="statement_timeout, seconds")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--home", type=Path, default=Path(".dinamis-scale"))
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    args = parser.parse_args()
    targets = sorted({round(float(step) * 1_000_000) for step in args.steps.split(",")})

    dsn = database(args.home)
    bound_statements(dsn, None)  # a run stopped while measuring left it set
    migrate_all(dsn, load_plugins(DEFAULT_PLUGINS))
    load_registry_demo(dsn)
    storage_root = args.home / "storage"
    ensure_demo_rasters(storage_root)

    report: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    home = str(args.home.resolve())
    if report and (report.get("home"), report.get("seed")) != (home, args.seed):
        sys.exit(
            f"{args.out} reports another archive ({report.get('home')}, seed "
            f"{report.get('seed')}): give another --out, or remove it to start again"
        )
    report.update(
        home=home, seed=args.seed, machine=machine(dsn), mix=mix_report(),
        statement_timeout_ms=args.timeout * 1000,
        queries=args.queries, rounds=args.rounds, tiles=args.tiles,
    )  # fmt: skip
    report.setdefault("steps", {})
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        args.out.write_text(json.dumps(report, indent=2))
        plot(report, args.out.with_suffix(".png"))

    os.environ["DINAMIS_DB_STATEMENT_TIMEOUT_MS"] = str(args.timeout * 1000)  # bench/facets' app
    first_load = True  # this process knows what the next ones load
    for target in targets:
        step = report["steps"].setdefault(str(target), {"items": target})
        if all(name in step for name in ("load", *MEASURES)):
            print(f"{target:,} items: measured already")
            continue
        loaded, resuming = loaded_count(dsn, args.seed)
        resuming = resuming and first_load
        if loaded > target:
            print(f"{target:,} items: the archive holds {loaded:,} already, step left out")
            step["left_out"] = f"the archive held {loaded} items already"
            save()
            continue
        print(f"{target:,} items", flush=True)
        if loaded < target:
            step["load"] = load_step(dsn, args.seed, loaded, target, resuming)
            first_load = False
        step.setdefault("load", {"note": "loaded by an earlier run"})
        save()
        print(f"  load: {brief(step['load'])}", flush=True)
        if "size" not in step:
            step["size"] = database_size(dsn, target)
            save()
        bound_statements(dsn, args.timeout * 1000)
        try:
            asyncio.run(measure(dsn, storage_root, args, step, save))
        finally:
            bound_statements(dsn, None)
    save()
    print(f"report: {args.out}, plot: {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
