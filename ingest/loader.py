"""The one bulk loader of items into pgstac: pypgstac's Loader, streamed in chunks, on one
connection kept across loads."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

from pypgstac.db import PgstacDB
from pypgstac.load import Loader, Methods

from pgstac.db import close_pgstac_db, settle_after_load

CHUNK_SIZE = 10_000
SETTLE_AFTER = 10_000
"""Items loaded by one loader after which it settles the tables (smaller loads: autovacuum)."""
INFERRED_RELS = frozenset(("self", "item", "parent", "collection", "root", "items", "child"))
"""Links the API derives for every item (stac-fastapi-pgstac's): not worth storing."""


def anchor(item: dict[str, Any]) -> tuple[str, int, int]:
    """The collection and the 1° cell of the footprint's first vertex: where the facets'
    mirror files the item (`facets.cell`, migration 0005)."""
    coordinates: Any = (item.get("geometry") or {}).get("coordinates")
    while isinstance(coordinates, list) and coordinates and isinstance(coordinates[0], list):
        coordinates = coordinates[0]
    if not (isinstance(coordinates, list) and len(coordinates) >= 2):
        return (str(item.get("collection")), 0, 0)
    return (str(item.get("collection")), math.floor(coordinates[1]), math.floor(coordinates[0]))


def in_cell_order(items: Iterable[dict[str, Any]], size: int) -> Iterator[dict[str, Any]]:
    """The items in chunks of `size` (pypgstac's), each chunk in cell order: the rows of one
    area then share pages of the facets' mirror, which area counts read together (measured
    at a million items: the pages a region's count reads, 31,000 in arrival order, 13,700)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        chunk.sort(key=anchor)
        yield from chunk


def without_inferred_links(item: dict[str, Any]) -> dict[str, Any]:
    links = item.get("links")
    if links and any(link.get("rel") in INFERRED_RELS for link in links):
        item = {**item, "links": [lnk for lnk in links if lnk.get("rel") not in INFERRED_RELS]}
    return item


class BulkLoader:
    """Loads items through pypgstac on one connection; after a failed load (its transaction
    aborted) the next load starts on a new one."""

    def __init__(self, dsn: str, chunk_size: int = CHUNK_SIZE) -> None:
        self.dsn = dsn
        self.chunk_size = chunk_size
        self.loaded = 0
        """Items loaded since the tables were last settled."""
        self._open()

    def _open(self) -> None:
        self.db = PgstacDB(dsn=self.dsn)
        self.loader = Loader(db=self.db)

    def load(self, items: Iterable[dict[str, Any]], mode: Methods = Methods.upsert) -> int:
        """Load items (any iterable: nothing is written to disk); returns how many were read.

        `Methods.insert` copies new items straight into their partitions (the fastest;
        refused when one exists), `Methods.ignore` keeps items already present untouched,
        `Methods.upsert` replaces them.
        """
        count = 0

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal count
            for item in in_cell_order(items, self.chunk_size):
                count += 1
                yield without_inferred_links(item)

        try:
            self.loader.load_items(counted(), insert_mode=mode, chunksize=self.chunk_size)
        except Exception:
            self.close()
            self._open()
            raise
        self.loaded += count
        return count

    def close(self) -> None:
        close_pgstac_db(self.db)
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
