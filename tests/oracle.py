"""The expected answer to a search, computed directly from the generated items.

An independent evaluation (shapely for space, Python for time and properties) that the API's
results are compared with, id for id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import httpx
from shapely.geometry import box, shape

Item = dict[str, Any]


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def interval(item: Item) -> tuple[datetime, datetime]:
    p = item["properties"]
    return when(p.get("start_datetime") or p["datetime"]), when(
        p.get("end_datetime") or p["datetime"]
    )


def expected_ids(
    items: Iterable[Item],
    *,
    collections: Iterable[str] | None = None,
    bbox: list[float] | None = None,
    geometry: dict[str, Any] | None = None,
    start: str | None = None,
    end: str | None = None,
    where: Callable[[dict[str, Any]], bool] | None = None,
) -> set[str]:
    area = box(*bbox) if bbox else shape(geometry) if geometry else None
    low, high = (when(start) if start else None), (when(end) if end else None)
    chosen = set(collections) if collections else None
    result = set()
    for item in items:
        if chosen is not None and item["collection"] not in chosen:
            continue
        if area is not None and not area.intersects(shape(item["geometry"])):
            continue
        first, last = interval(item)
        if (low and last < low) or (high and first > high):
            continue
        if where and not where(item["properties"]):
            continue
        result.add(item["id"])
    return result


async def all_pages(
    client: httpx.AsyncClient,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    max_pages: int = 200,
) -> tuple[list[str], int]:
    """Every id of a search, following `next` links; returns (ids in order, pages)."""
    ids: list[str] = []
    if body is not None:
        response = await client.post(path, json=body)
    else:
        response = await client.get(path, params=params)
    for page in range(1, max_pages + 1):
        assert response.status_code == 200, response.text
        payload = response.json()
        ids.extend(f["id"] for f in payload["features"])
        link = next((lnk for lnk in payload["links"] if lnk["rel"] == "next"), None)
        if link is None:
            return ids, page
        if link.get("method") == "POST":
            response = await client.post(
                link["href"], json={**(body or {}), **link.get("body", {})}
            )
        else:
            response = await client.get(link["href"])
    raise AssertionError(f"more than {max_pages} pages")
