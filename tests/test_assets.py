"""Asset hrefs resolve to real files, served with range requests, ETag and Content-Length,
only through signed URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest

from extensions.signing import Signer
from tests.conftest import TEST_SECRET
from tests.registry import INSTRUCTOR, bearer


async def served_item(client: httpx.AsyncClient, item: dict[str, Any]) -> dict[str, Any]:
    """The item as an instructor (who may download everything) sees it."""
    response = await client.get(
        f"/collections/{item['collection']}/items/{item['id']}",
        headers=await bearer(client, INSTRUCTOR),
    )
    assert response.status_code == 200
    return response.json()


def signed(path: str) -> str:
    """A public signature of `path` (slashes encoded, as a client could send them)."""
    return f"/assets/{quote(path, safe='')}?{urlencode(Signer([TEST_SECRET]).public(path))}"


async def test_every_asset_of_an_item_is_real(
    client: httpx.AsyncClient, demo_items: list[dict[str, Any]], storage_root: Path
) -> None:
    item = await served_item(client, demo_items[10])
    for key, asset in item["assets"].items():
        response = await client.get(asset["href"])
        assert response.status_code == 200, key
        relative = urlsplit(asset["href"]).path.removeprefix("/assets/")
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
        pytest.param("demo/nope.tif", 404, id="missing"),
        pytest.param("../../etc/passwd", 400, id="dot-dot"),
        pytest.param("/etc/passwd", 404, id="absolute"),
        pytest.param("demo", 404, id="folder"),
    ],
)
async def test_nothing_outside_the_storage_is_served(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    """Even with a genuine signature, nothing outside the storage root is served."""
    response = await client.get(signed(path))
    assert response.status_code == status
    assert set(response.json()) == {"code", "description"}


async def test_unsigned_paths_are_refused(
    client: httpx.AsyncClient, demo_items: list[dict[str, Any]]
) -> None:
    path = demo_items[0]["assets"]["thumbnail"]["href"]
    assert (await client.get(f"/assets/{path}")).status_code == 401
    assert (await client.get(signed(path))).status_code == 200
    assert (await client.get(signed(path).replace("sig=", "sig=x"))).status_code == 403
