"""The one bulk loader of items into pgstac: pypgstac's Loader, streamed in chunks, written by
a few connections at once (each kept across loads)."""

from __future__ import annotations

import math
import zlib
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from pypgstac.db import PgstacDB
from pypgstac.load import Loader, Methods

from pgstac.db import close_pgstac_db, settle_after_load

CHUNK_SIZE = 10_000
WRITERS = 2
"""Connections writing at once: while one's backend writes a chunk (PostgreSQL's side, about
70 % of a load), the loader formats another (pypgstac's Python side)."""
SETTLE_AFTER = 10_000
"""Items loaded by one loader after which it settles the tables (smaller loads: autovacuum)."""
BY_YEAR = (
    "SELECT id, partition_trunc IS NOT NULL"
    " AND to_regclass(format('pgstac._items_%s', key)) IS NOT NULL FROM collections"
)
"""Whether each collection's items may go to writers by year (`partition_key`)."""
INFERRED_RELS = frozenset(("self", "item", "parent", "collection", "root", "items", "child"))
"""Links the API derives for every item (stac-fastapi-pgstac's): not worth storing."""


def anchor(item: dict[str, Any]) -> tuple[str, int, int]:
    """The collection and the 1° cell of the footprint's first vertex: where the facets'
    mirror files the item (`facets.cell`, migration 0005). Each chunk is loaded in this order:
    the rows of one area then share pages of the mirror, which area counts read together
    (measured at a million items: the pages a region's count reads, 31,000 in arrival order,
    13,700 in cell order)."""
    coordinates: Any = (item.get("geometry") or {}).get("coordinates")
    while isinstance(coordinates, list) and coordinates and isinstance(coordinates[0], list):
        coordinates = coordinates[0]
    if not (isinstance(coordinates, list) and len(coordinates) >= 2):
        return (str(item.get("collection")), 0, 0)
    return (str(item.get("collection")), math.floor(coordinates[1]), math.floor(coordinates[0]))


def partition_key(item: dict[str, Any], by_year: dict[str, bool]) -> str:
    """A key that holds each pgstac partition whole: the collection, and the year when its
    partitions are made by year or month (a year holds its months) under a table of the
    collection that exists already (two pgstac loads creating it at once both fail)."""
    collection = str(item.get("collection"))
    if not by_year.get(collection, False):
        return collection
    properties = item.get("properties") or {}
    when = properties.get("datetime") or properties.get("start_datetime") or ""
    return f"{collection}/{str(when)[:4]}"


def without_inferred_links(item: dict[str, Any]) -> dict[str, Any]:
    links = item.get("links")
    if links and any(link.get("rel") in INFERRED_RELS for link in links):
        item = {**item, "links": [lnk for lnk in links if lnk.get("rel") not in INFERRED_RELS]}
    return item


class Writer:
    """One connection, pypgstac's Loader on it, and the thread that drives them."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="loader")
        self.pending: deque[Future[int]] = deque()
        self._open()

    def _open(self) -> None:
        self.db = PgstacDB(dsn=self.dsn)
        self.loader = Loader(db=self.db)

    def reopen(self) -> None:
        """A new connection (its transaction aborted, or the database went away)."""
        close_pgstac_db(self.db)
        self._open()

    def _write(self, chunk: list[dict[str, Any]], mode: Methods) -> int:
        chunk.sort(key=anchor)
        try:
            self.loader.load_items(iter(chunk), insert_mode=mode, chunksize=len(chunk))
        except Exception:  # the next chunk starts on a new connection
            self.reopen()
            raise
        return len(chunk)

    def submit(self, chunk: list[dict[str, Any]], mode: Methods) -> None:
        self.pending.append(self.thread.submit(self._write, chunk, mode))

    def close(self) -> None:
        self.thread.shutdown()
        close_pgstac_db(self.db)


class BulkLoader:
    """Loads items through pypgstac on `writers` connections at once, each writing the chunks
    of its own partitions: two pypgstac loads into one partition race on its constraints
    (pgstac's check_partition then refuses one of them)."""

    def __init__(self, dsn: str, chunk_size: int = CHUNK_SIZE, writers: int = WRITERS) -> None:
        self.dsn = dsn
        self.chunk_size = chunk_size
        self.writers = [Writer(dsn) for _ in range(writers)]
        self.loaded = 0
        """Items loaded since the tables were last settled."""

    def load(self, items: Iterable[dict[str, Any]], mode: Methods = Methods.upsert) -> int:
        """Load items (any iterable: nothing is written to disk); returns how many were read.

        `Methods.insert` copies new items straight into their partitions (the fastest;
        refused when one exists), `Methods.ignore` keeps items already present untouched,
        `Methods.upsert` replaces them. Every chunk is written, or has failed, when it
        returns; the first failure is raised.
        """
        # On a writer's own connection (idle between loads): a harvest that loads a broken
        # chunk one product at a time calls this thousands of times.
        by_year: dict[str, bool] = dict(self.writers[0].db.query(BY_YEAR))
        chunks: list[list[dict[str, Any]]] = [[] for _ in self.writers]
        done = 0
        try:
            for item in items:
                key = partition_key(item, by_year)
                index = zlib.crc32(key.encode()) % len(self.writers)
                chunks[index].append(without_inferred_links(item))
                if len(chunks[index]) >= self.chunk_size:
                    writer = self.writers[index]
                    writer.submit(chunks[index], mode)
                    chunks[index] = []
                    if len(writer.pending) > 1:  # one written, one waiting: no more in memory
                        done += writer.pending.popleft().result()
            for writer, chunk in zip(self.writers, chunks, strict=True):
                if chunk:
                    writer.submit(chunk, mode)
        finally:
            failure: BaseException | None = None
            for writer in self.writers:
                while writer.pending:
                    future = writer.pending.popleft()
                    if (error := future.exception()) is not None:
                        failure = failure or error
                    else:
                        done += future.result()
            self.loaded += done
        if failure is not None:
            raise failure
        return done

    def reopen(self) -> None:
        """New connections for every writer: after the database came back, those of before
        are broken (and so may be the ones their pools still hold)."""
        for writer in self.writers:
            writer.reopen()

    def close(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.loaded >= SETTLE_AFTER:
            settle_after_load(self.dsn, self.loaded)
            self.loaded = 0

    def __enter__(self) -> BulkLoader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def load_items(
    dsn: str,
    items: Iterable[dict[str, Any]],
    mode: Methods = Methods.upsert,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Load items once (see `BulkLoader.load`); returns how many were read."""
    with BulkLoader(dsn, chunk_size) as loader:
        return loader.load(items, mode)
