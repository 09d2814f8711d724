"""The demo archive (`dinamis demo`): a realistic synthetic archive and its image files,
loaded once and idempotently."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from psycopg.types.json import Jsonb
from pypgstac.load import Methods
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ingest.loader import load_items
from pgstac.db import connect
from simulators.archive.generator import generate_item, generate_items
from simulators.archive.rasters import ensure_demo_rasters

__all__ = ["DemoResult", "generate_item", "generate_items", "load_demo_archive"]

GENERATOR_VERSION = 1


@dataclass(frozen=True)
class DemoResult:
    loaded: int
    total: int
    seconds: float
    skipped: bool


def load_demo_archive(
    dsn: str, storage_root: Path, items: int, seed: int, progress: bool = True
) -> DemoResult:
    """Write the demo image files, then load the first `items` items of the archive.

    The archive's items depend only on (seed, index): a larger archive extends a smaller one,
    so only the missing items are generated; an archive already that large is left alone.
    """
    ensure_demo_rasters(storage_root)
    name = f"demo-{seed}-v{GENERATOR_VERSION}"
    with connect(dsn) as conn:
        row = conn.execute(
            "SELECT item_count FROM dinamis.loads WHERE name = %s", [name]
        ).fetchone()
    already = int(row[0]) if row else 0
    if already >= items:
        return DemoResult(loaded=0, total=already, seconds=0.0, skipped=True)

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    stream = generate_items(items, seed, start=already)
    with Progress(
        TextColumn("[bold]demo archive"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        disable=not progress,
    ) as bar:
        task = bar.add_task("load", total=items - already, rate="")

        def tracked():
            for n, item in enumerate(stream, 1):
                if n % 1000 == 0:
                    rate = n / (time.perf_counter() - t0)
                    bar.update(task, completed=n, rate=f"{rate:,.0f} items/s")
                yield item
            bar.update(task, completed=items - already)

        # `ignore`: an interrupted run left some of these items in place; keep them as they are.
        loaded = load_items(dsn, tracked(), mode=Methods.ignore)
    with connect(dsn) as conn:
        conn.execute(
            "INSERT INTO dinamis.loads (name, parameters, item_count, started_at) "
            "VALUES (%(name)s, %(parameters)s, %(count)s, %(started)s) "
            "ON CONFLICT (name) DO UPDATE SET parameters = EXCLUDED.parameters, "
            "item_count = EXCLUDED.item_count, started_at = EXCLUDED.started_at, "
            "finished_at = now()",
            {
                "name": name,
                "parameters": Jsonb({"seed": seed, "items": items, "version": GENERATOR_VERSION}),
                "count": items,
                "started": started,
            },
        )
    return DemoResult(loaded, items, time.perf_counter() - t0, skipped=False)
