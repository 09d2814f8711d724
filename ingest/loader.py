"""Bulk loading of STAC items into pgstac through pypgstac's Loader, streamed in chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pypgstac.db import PgstacDB
from pypgstac.load import Loader, Methods
from stac_fastapi.pgstac.models.links import INFERRED_LINK_RELS

CHUNK_SIZE = 10_000
INFERRED_RELS = frozenset(INFERRED_LINK_RELS)
"""Links the API derives for every item: not worth storing."""


def without_inferred_links(item: dict[str, Any]) -> dict[str, Any]:
    links = item.get("links")
    if links and any(link.get("rel") in INFERRED_RELS for link in links):
        item = {**item, "links": [lnk for lnk in links if lnk.get("rel") not in INFERRED_RELS]}
    return item


def load_items(
    dsn: str,
    items: Iterable[dict[str, Any]],
    mode: Methods = Methods.upsert,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Load items (any iterable: nothing is written to disk); returns how many were read.

    `Methods.ignore` keeps items already present untouched, `Methods.upsert` replaces them.
    """
    count = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal count
        for item in items:
            count += 1
            yield without_inferred_links(item)

    db = PgstacDB(dsn=dsn)
    try:
        Loader(db=db).load_items(counted(), insert_mode=mode, chunksize=chunk_size)
    finally:
        db.close()
    return count
