"""Harvesting: read every new or changed product of a source in parallel, load it in chunks.

- Products whose metadata file has the fingerprint recorded at the last harvest are skipped
  without being read.
- Parsing runs in worker processes (all cores by default); loading streams the items through
  pypgstac's Loader in chunks (upsert), then records their fingerprints: an interrupted
  harvest loses nothing and doubles nothing when re-run.
- A bad product is reported with its reason and the rest goes on.
- When the database goes away (a restart, a failover), the harvest waits for it and goes on.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
import psycopg
from pypgstac.load import Methods

from ingest.dimap import DimapError, read_item
from ingest.loader import WRITERS, BulkLoader
from ingest.sources import Candidate, Listing, SourceSpec, open_source
from pgstac.db import connect, unreachable, wait_for_database

CHUNK_SIZE = 10_000
MAX_WARNINGS = 100
RECONNECT_SECONDS = 60.0
"""How long a harvest waits for its database to come back before it stops (nothing is lost:
run again, it loads what it had not)."""


@dataclass(frozen=True)
class HarvestOptions:
    collection: str | None = None
    providers: list[dict[str, Any]] | None = None
    href_prefix: str = ""
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    chunk_size: int = CHUNK_SIZE
    dry_run: bool = False


@dataclass(frozen=True)
class Failure:
    key: str
    reason: str
    message: str


@dataclass
class HarvestReport:
    source: str
    started_at: str
    seconds: float = 0.0
    found: int = 0
    loaded: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    gone: int = 0
    dry_run: bool = False
    failures: list[Failure] = field(default_factory=list)
    missing_files: int = 0
    warnings: list[str] = field(default_factory=list)  # the first MAX_WARNINGS

    def fail(self, key: str, reason: str, message: str) -> None:
        self.failed += 1
        self.failures.append(Failure(key, reason, message))

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)


@dataclass
class Parsed:
    """A product read by a worker: its item as JSON (cheaper to pass between processes than
    a pickled dict, and written as is to --output), or why it could not be read."""

    candidate: Candidate
    document: bytes | None
    failure: tuple[str, str] | None = None
    _item: dict[str, Any] | None = None

    @property
    def item(self) -> dict[str, Any]:
        if self._item is None:
            assert self.document is not None
            self._item = orjson.loads(self.document)
        return self._item


# -- parsing, in worker processes ----------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(spec: SourceSpec, options: HarvestOptions) -> None:
    _worker["source"] = open_source(spec)
    _worker["options"] = options


def _parse(key: str) -> bytes | tuple[str, str]:
    """The item of the product at `key` as JSON, or why it could not be read: all a worker
    sends back (the main process has the candidate)."""
    options: HarvestOptions = _worker["options"]
    directory = key.rpartition("/")[0]
    href_dir = options.href_prefix + (f"{directory}/" if directory else "")
    try:
        data = _worker["source"].read(key)
        item = read_item(
            data,
            key,
            href_dir=href_dir,
            collection=options.collection,
            providers=options.providers,
        )
    except DimapError as exc:
        return (exc.reason, str(exc))
    except OSError as exc:
        return ("unreadable", str(exc))
    except Exception as exc:  # a reader bug must not stop the harvest of the others
        return ("unexpected", f"{type(exc).__name__}: {exc}")
    return orjson.dumps(item)


def parse_all(
    spec: SourceSpec, options: HarvestOptions, candidates: list[Candidate]
) -> Iterator[Parsed]:
    """Parse in order, on `options.workers` processes (in this process when 1)."""
    keys = [c.key for c in candidates]
    if options.workers <= 1 or len(candidates) < 50:
        _init_worker(spec, options)
        yield from _as_parsed(candidates, map(_parse, keys))
        return
    chunksize = max(1, min(256, len(candidates) // (options.workers * 8)))
    with ProcessPoolExecutor(
        options.workers, initializer=_init_worker, initargs=(spec, options)
    ) as pool:
        yield from _as_parsed(candidates, pool.map(_parse, keys, chunksize=chunksize))


def _as_parsed(
    candidates: list[Candidate], results: Iterable[bytes | tuple[str, str]]
) -> Iterator[Parsed]:
    for candidate, result in zip(candidates, results, strict=True):
        if isinstance(result, bytes):
            yield Parsed(candidate, result)
        else:
            yield Parsed(candidate, None, result)


# -- the database side ------------------------------------------------------------------------


def known_fingerprints(dsn: str, prefix: str) -> dict[str, str]:
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with connect(dsn) as conn:
        rows = conn.execute(
            "SELECT key, fingerprint FROM dinamis.harvested WHERE key LIKE %s", [pattern]
        ).fetchall()
    return dict(rows)


def collection_ids(dsn: str) -> set[str]:
    with connect(dsn) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM collections")}


class ChunkLoader:
    """Loads parsed items in chunks, then records their fingerprints."""

    def __init__(self, dsn: str, prefix: str, chunk_size: int = CHUNK_SIZE) -> None:
        self.dsn = dsn
        self.prefix = prefix
        # Each writer gets its share of a chunk: the chunk is loaded, then recorded, at once.
        self.bulk = BulkLoader(dsn, max(1, chunk_size // WRITERS))

    def _load(self, parsed: list[Parsed], mode: Methods) -> None:
        self.bulk.load((p.item for p in parsed), mode)

    def close(self) -> None:
        self.bulk.close()

    def load(self, chunk: list[Parsed], report: HarvestReport, new: bool = False) -> list[Parsed]:
        """Load a chunk, then record it; returns the parsed products that were loaded.

        When the database goes away meanwhile (a restart, a failover), waits for it (up to
        `RECONNECT_SECONDS`, then raises `DatabaseUnavailable`) and loads the chunk again.
        """
        while True:
            try:
                loaded = self._load_or_isolate(chunk, report, new)
                self.record(loaded)
                return loaded
            except Exception as exc:
                if not unreachable(exc):
                    raise
                wait_for_database(self.dsn, RECONNECT_SECONDS)
                self.bulk.reopen()
                new = False  # some of the chunk may be in already

    def _load_or_isolate(
        self, chunk: list[Parsed], report: HarvestReport, new: bool
    ) -> list[Parsed]:
        """A chunk of products never harvested before is first copied straight into its
        partitions (pypgstac's `insert`, the fastest path); if any of them is in the catalogue
        already (an interrupted harvest, a moved folder), the chunk is upserted instead. When
        one product breaks the chunk, the products are loaded one by one to find it."""
        try:
            try:
                self._load(chunk, Methods.insert if new else Methods.upsert)
            except psycopg.errors.UniqueViolation:
                self._load(chunk, Methods.upsert)
            return chunk
        except Exception as exc:
            if unreachable(exc):  # no product is to blame
                raise
        loaded = []
        for parsed in chunk:
            try:
                self._load([parsed], Methods.upsert)
                loaded.append(parsed)
            except Exception as exc:
                if unreachable(exc):
                    raise
                message = str(exc).splitlines()[0]
                report.fail(parsed.candidate.key, "rejected-by-database", message)
        return loaded

    def record(self, loaded: list[Parsed]) -> None:
        """The loaded products' fingerprints, in one statement for the whole chunk."""
        rows = [
            (
                self.prefix + p.candidate.key,
                p.candidate.fingerprint,
                p.item["id"],
                p.item["collection"],
            )
            for p in loaded
        ]
        if not rows:
            return
        columns = [list(column) for column in zip(*rows, strict=True)]
        with connect(self.dsn) as conn:
            conn.execute(
                "INSERT INTO dinamis.harvested (key, fingerprint, item_id, collection) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) "
                "ON CONFLICT (key) DO UPDATE SET "
                "fingerprint = EXCLUDED.fingerprint, item_id = EXCLUDED.item_id, "
                "collection = EXCLUDED.collection, harvested_at = now()",
                columns,
            )


# -- the harvest ------------------------------------------------------------------------------


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Items are trees, without cycles to collect: while a chunk piles up, the collector would
    only rescan its hundreds of thousands of objects again and again (two thirds of the time
    the main process spends decoding the workers' items)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def harvest(
    spec: SourceSpec,
    dsn: str | None,
    options: HarvestOptions,
    output: IO[bytes] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> HarvestReport:
    """Harvest a source into the catalogue (or, with `dry_run`, only into `output`).

    `progress(done, total)` is called as products are handled.
    """
    started = time.perf_counter()
    report = HarvestReport(
        source=spec.location, started_at=datetime.now(UTC).isoformat(), dry_run=options.dry_run
    )
    listing = open_source(spec).listing()
    report.found = len(listing.candidates)
    if options.dry_run or dsn is None:
        known: dict[str, str] = {}
        collections: set[str] | None = None
    else:
        known = known_fingerprints(dsn, options.href_prefix)
        collections = collection_ids(dsn)
    todo = [
        c for c in listing.candidates if known.get(options.href_prefix + c.key) != c.fingerprint
    ]
    report.skipped = report.found - len(todo)
    present = {options.href_prefix + c.key for c in listing.candidates}
    report.gone = sum(1 for key in known if key not in present)

    loader = (
        None
        if options.dry_run or dsn is None
        else ChunkLoader(dsn, options.href_prefix, options.chunk_size)
    )
    chunk: list[Parsed] = []
    seen: dict[str, str] = {}
    done = report.skipped

    def flush() -> None:
        if loader and chunk:
            new = not any(options.href_prefix + p.candidate.key in known for p in chunk)
            for parsed in loader.load(chunk, report, new=new):
                if options.href_prefix + parsed.candidate.key in known:
                    report.updated += 1
                else:
                    report.loaded += 1
        chunk.clear()

    with cycle_collector_paused():
        try:
            for parsed in parse_all(spec, options, todo):
                done += 1
                if progress:
                    progress(done, report.found)
                key = parsed.candidate.key
                if parsed.failure is not None:
                    report.fail(key, *parsed.failure)
                    continue
                item = parsed.item
                if collections is not None and item["collection"] not in collections:
                    report.fail(
                        key,
                        "unknown-collection",
                        f"collection {item['collection']!r} does not exist",
                    )
                    continue
                if (first := seen.setdefault(item["id"], key)) != key:
                    report.fail(key, "duplicate-id", f"{item['id']} is also the id of {first}")
                    continue
                for warning in missing_files(item, listing, options.href_prefix, key):
                    report.missing_files += 1
                    if len(report.warnings) < MAX_WARNINGS:
                        report.warnings.append(warning)
                if output is not None and parsed.document is not None:
                    output.write(parsed.document + b"\n")
                if options.dry_run or loader is None:
                    report.loaded += 1
                    continue
                chunk.append(parsed)
                if len(chunk) >= options.chunk_size:
                    flush()
            flush()
        finally:
            if loader:
                loader.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def missing_files(item: dict[str, Any], listing: Listing, prefix: str, key: str) -> Iterable[str]:
    """Files the metadata names that the source does not hold (metadata-only deliveries)."""
    for name, asset in item["assets"].items():
        relative = asset["href"][len(prefix) :]
        if relative not in listing.keys:
            yield f"{key}: asset {name} refers to {relative}, which is not in the source"


def write_report(report: HarvestReport, path: Path) -> None:
    path.write_bytes(report.to_json())
