"""QGIS and GDAL with a token in the URL (issue 20, 2): a collection token from
`GET /token/{collection}` opens a restricted COG over `/vsicurl/` and an item's XYZ tiles with
the URL template QGIS takes, bound to its account and collection, rechecked and audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import morecantile
import numpy as np
import pytest
import rasterio
from rasterio.io import MemoryFile
from rasterio.warp import transform_bounds

from tests.registry import FORMATION_RD, INSTRUCTOR, bearer, member

# The item's natural colours, as its `xyz` link gives them (12-bit bands).
XYZ = (
    "tiles/WebMercatorQuad/{z}/{x}/{y}.png?assets=data&bidx=1&bidx=2&bidx=3" + "&rescale=0,4095" * 3
)


def first(demo_items: list[dict[str, Any]], collection: str, skip: int = 0) -> dict[str, Any]:
    return [i for i in demo_items if i["collection"] == collection][skip]


def xyz(base: str, item: dict[str, Any], token: str) -> str:
    """The URL template a QGIS XYZ layer takes for an item's tiles."""
    return f"{base}collections/{item['collection']}/items/{item['id']}/{XYZ}&token={token}"


def tile_inside(local: Path, zoom: int = 12) -> dict[str, int]:
    with rasterio.open(local) as image:
        west, south, east, north = transform_bounds(image.crs, "EPSG:4326", *image.bounds)
    tile = morecantile.tms.get("WebMercatorQuad").tile((west + east) / 2, (south + north) / 2, zoom)
    return {"z": tile.z, "x": tile.x, "y": tile.y}


@pytest.fixture(scope="module")
def pleiades_token(live_url: str) -> str:
    """bruce.wayne's token for the Pléiades collection, asked as a script asks it."""
    signed_in = httpx.post(
        f"{live_url}auth/token",
        data={"username": "bruce.wayne@formation.example", "password": "Toto@34090"},
    )
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    token: str = httpx.get(f"{live_url}token/pleiades", headers=headers).json()["token"]
    return token


def test_gdal_reads_a_restricted_cog_with_a_token_in_the_url(
    live_url: str, storage_root: Path, demo_items: list[dict[str, Any]], pleiades_token: str
) -> None:
    item = first(demo_items, "pleiades")
    local = storage_root / item["assets"]["data"]["href"]
    address = f"{live_url}collections/pleiades/items/{item['id']}/assets/data"
    window = rasterio.windows.Window(100, 100, 64, 64)
    with (
        rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"),
        rasterio.open(f"/vsicurl/{address}?token={pleiades_token}") as remote,
        rasterio.open(local) as expected,
    ):
        assert np.array_equal(remote.read(window=window), expected.read(window=window))
        assert remote.overviews(1) == expected.overviews(1)
    with pytest.raises(rasterio.errors.RasterioIOError):
        rasterio.open(f"/vsicurl/{address}")
    spot = first(demo_items, "spot67")
    with pytest.raises(rasterio.errors.RasterioIOError):  # a token is for its collection
        rasterio.open(
            f"/vsicurl/{live_url}collections/spot67/items/{spot['id']}/assets/data"
            f"?token={pleiades_token}"
        )


def test_qgis_xyz_template_shows_a_restricted_item_with_a_token(
    live_url: str, storage_root: Path, demo_items: list[dict[str, Any]], pleiades_token: str
) -> None:
    item = first(demo_items, "pleiades")
    tile = tile_inside(storage_root / item["assets"]["data"]["href"])
    template = xyz(live_url, item, pleiades_token)
    shown = httpx.get(template.format(**tile))
    assert shown.status_code == 200, shown.text
    assert shown.headers["content-type"] == "image/png"
    with MemoryFile(shown.content) as png, png.open() as image:
        assert (image.width, image.height) == (256, 256)
        assert image.read(image.count).any()  # pixels, not an empty tile
    anonymous = httpx.get(template.split("&token=")[0].format(**tile))
    assert anonymous.status_code == 401
    forged = httpx.get(template.format(**tile).replace("token=", "token=x"))
    assert forged.status_code == 403 and "Jeton" in forged.json()["description"]
    # A web map's TileJSON hands the token on to every tile it lists.
    tilejson = httpx.get(
        f"{live_url}collections/pleiades/items/{item['id']}/WebMercatorQuad/tilejson.json",
        params={"token": pleiades_token},
    )
    assert tilejson.status_code == 200, tilejson.text
    assert f"token={pleiades_token}" in tilejson.json()["tiles"][0]


async def test_tile_tokens_are_bound_rechecked_and_audited(
    client: httpx.AsyncClient, storage_root: Path, demo_items: list[dict[str, Any]]
) -> None:
    """The account's token shows its collection only, each of its reads is audited, and it
    stops working once the account is deactivated (the signed URLs' recheck)."""
    account_id, _, key = await member(client, "Formation_6_11", ["spot67"])
    token = (await client.get("/token/spot67", headers={"X-API-Key": key})).json()["token"]
    spot, other_spot = first(demo_items, "spot67"), first(demo_items, "spot67", skip=1)
    tile = tile_inside(storage_root / spot["assets"]["data"]["href"])
    shown = await client.get(xyz("/", spot, token).format(**tile))
    assert shown.status_code == 200, shown.text
    pleiades = first(demo_items, "pleiades")
    elsewhere = await client.get(xyz("/", pleiades, token).format(**tile))
    assert elsewhere.status_code == 403
    instructor = await bearer(client, INSTRUCTOR)
    downloads = (
        await client.get("/access/downloads", params={"account": account_id}, headers=instructor)
    ).json()
    assert [(d["collection"], d["item"], d["asset"], d["requests"]) for d in downloads] == [
        ("spot67", spot["id"], "data", 1)
    ]
    rd = await bearer(client, FORMATION_RD)
    deactivated = await client.post(f"/registry/accounts/{account_id}/deactivate", headers=rd)
    assert deactivated.status_code == 200, deactivated.text
    revoked = await client.get(xyz("/", other_spot, token).format(**tile))
    assert revoked.status_code == 403 and "ne peut plus" in revoked.json()["description"]
