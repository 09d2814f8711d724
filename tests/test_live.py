"""Against a live `dinamis serve`: the official STAC API validator, pystac-client, and GDAL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import numpy as np
import pytest
import rasterio
from dinamis_client import Session
from pystac_client import Client

from tests.oracle import expected_ids
from tests.registry import DEMO_PASSWORD

PROJECT = Path(__file__).resolve().parent.parent
FRANCE = {"type": "Polygon", "coordinates": [[[-5.2, 41.3], [9.6, 41.3], [9.6, 51.1], [-5.2, 51.1], [-5.2, 41.3]]]}  # fmt: skip


@pytest.mark.validator
def test_official_stac_api_validator(live_url: str) -> None:
    conformance = ["core", "collections", "features", "item-search", "filter", "item-search#sort", "item-search#fields"]  # fmt: skip
    command = [
        sys.executable, "-m", "tests.offline_schemas",
        "--root-url", live_url,
        *(arg for c in conformance for arg in ("--conformance", c)),
        "--collection", "spot67",
        "--geometry", json.dumps(FRANCE),
        "--fields-nested-property", "properties.eo:cloud_cover",
        "--log-level", "ERROR",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=900)
    report = result.stdout + result.stderr
    assert "Errors: none" in report, report[-5000:]
    assert result.returncode == 0, report[-5000:]


def test_pystac_client_searches_and_pages(live_url: str, demo_items: list[dict[str, Any]]) -> None:
    client = Client.open(live_url)
    assert {c.id for c in client.get_collections()} >= {"spot67", "pleiades"}
    search = client.search(
        collections=["pleiades", "pleiades-neo"],
        bbox=[-5.2, 41.3, 9.6, 51.1],
        datetime="2015-01-01/2026-12-31",
        limit=25,
    )
    ids = [item.id for item in search.items()]
    expected = expected_ids(
        demo_items,
        collections=["pleiades", "pleiades-neo"],
        bbox=[-5.2, 41.3, 9.6, 51.1],
        start="2015-01-01T00:00:00Z",
        end="2026-12-31T23:59:59Z",
    )
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert len(expected) > 25  # more than one page
    assert search.matched() == len(expected)


def first_demo_id(demo_items: list[dict[str, Any]], collection: str) -> str:
    """A demo item's id: its files are in the storage (the first item of a collection may be
    one another test delivered, when that test ran first in this process)."""
    return next(str(i["id"]) for i in demo_items if i["collection"] == collection)


def api_key(url: str, email: str) -> str:
    token = httpx.post(f"{url}auth/token", data={"username": email, "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    created = httpx.post(f"{url}auth/api-keys", json={"name": "live tests"}, headers=headers)
    key: str = created.json()["key"]
    return key


def test_pystac_client_modifier_and_gdal_read_signed_cogs(
    live_url: str, storage_root: Path, demo_items: list[dict[str, Any]]
) -> None:
    """bruce.wayne's API key signs items through the client's pystac-client; GDAL's /vsicurl/
    then reads a window of the Pléiades COG with range requests, as QGIS does."""
    session = Session(live_url, api_key=api_key(live_url, "bruce.wayne@formation.example"))
    catalogue = session.catalogue()
    pleiades = first_demo_id(demo_items, "pleiades")
    item = next(catalogue.search(ids=[pleiades], max_items=1).items())
    href = item.assets["data"].href
    assert "sig=" in href and item.assets["data"].extra_fields["dinamis:expires"]
    local_path = storage_root / unquote(urlsplit(href).path).split("/assets/", 1)[1]
    part = httpx.get(href, headers={"Range": "bytes=0-1023"})
    assert part.status_code == 206 and part.content == local_path.read_bytes()[:1024]
    with (
        rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"),
        rasterio.open(f"/vsicurl/{href}") as remote,
    ):
        window = rasterio.windows.Window(100, 100, 64, 64)
        pixels = remote.read(window=window)
        overview = remote.overviews(1)
    with rasterio.open(local_path) as local:
        assert np.array_equal(pixels, local.read(window=window))
        assert overview == local.overviews(1)

    # Without the modifier the same item carries no usable location.
    anonymous = next(Client.open(live_url).search(ids=[item.id], max_items=1).items())
    refused = httpx.get(anonymous.assets["data"].href)
    assert refused.status_code == 401
    with pytest.raises(rasterio.errors.RasterioIOError):
        rasterio.open(f"/vsicurl/{anonymous.assets['data'].href}")


def test_sans_pleiades_cannot_fetch_pleiades_data(
    live_url: str, demo_items: list[dict[str, Any]]
) -> None:
    session = Session(live_url, api_key=api_key(live_url, "sans.pleiades@autre.example"))
    pleiades = first_demo_id(demo_items, "pleiades")
    item = next(Client.open(live_url).search(ids=[pleiades], max_items=1).items())
    with pytest.raises(PermissionError, match="licence"):
        session.sign_inplace(item)
    signing = Client.open(live_url, modifier=session.sign_inplace)
    spot = next(signing.search(ids=[first_demo_id(demo_items, "spot67")], max_items=1).items())
    part = httpx.get(
        spot.assets["data"].href, headers={"Range": "bytes=0-99"}, follow_redirects=True
    )
    assert part.status_code == 206
