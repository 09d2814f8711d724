"""Asset hrefs resolve to real files, served with range requests, ETag and Content-Length."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest


async def served_item(client: httpx.AsyncClient, item: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"/collections/{item['collection']}/items/{item['id']}")
    assert response.status_code == 200
    return response.json()


async def test_every_asset_of_an_item_is_real(
    client: httpx.AsyncClient, demo_items: list[dict[str, Any]], storage_root: Path
) -> None:
    item = await served_item(client, demo_items[10])
    for key, asset in item["assets"].items():
        response = await client.get(asset["href"])
        assert response.status_code == 200, key
        relative = asset["href"].removeprefix("http://testserver/assets/")
        assert response.content == (storage_root / relative).read_bytes()
    data = await client.get(item["assets"]["data"]["href"])
    assert data.content[:4] in (b"II*\x00", b"MM\x00*")  # a TIFF


async def test_range_requests_for_cog_readers(
    client: httpx.AsyncClient, demo_items: list[dict[str, Any]], storage_root: Path
) -> None:
    href = (await served_item(client, demo_items[11]))["assets"]["data"]["href"]
    whole = await client.get(href)
    assert whole.headers["accept-ranges"] == "bytes"
    assert int(whole.headers["content-length"]) == len(whole.content)
    etag = whole.headers["etag"]

    part = await client.get(href, headers={"Range": "bytes=0-16383"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 0-16383/{len(whole.content)}"
    assert part.content == whole.content[:16384]

    head = await client.head(href)
    assert head.status_code == 200 and head.headers["etag"] == etag
    assert int(head.headers["content-length"]) == len(whole.content)

    stale = await client.get(href, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert stale.status_code == 200 and len(stale.content) == len(whole.content)

    beyond = await client.get(href, headers={"Range": f"bytes={len(whole.content) + 10}-"})
    assert beyond.status_code == 416


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param("/assets/demo/nope.tif", 404, id="missing"),
        pytest.param("/assets/..%2F..%2Fetc%2Fpasswd", 400, id="dot-dot-encoded"),
        pytest.param("/assets/demo/../../../etc/passwd", 404, id="dot-dot-normalised"),
        pytest.param("/assets/%2Fetc%2Fpasswd", 404, id="absolute"),
        pytest.param("/assets/demo", 404, id="folder"),
    ],
)
async def test_nothing_outside_the_storage_is_served(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await client.get(path)
    assert response.status_code == status
    assert set(response.json()) == {"code", "description"}
