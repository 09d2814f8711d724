"""Against a live `dinamis serve`: the official STAC API validator, pystac-client, and GDAL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from pystac_client import Client

from tests.oracle import expected_ids

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


def test_gdal_reads_a_cog_over_http(live_url: str, storage_root: Path) -> None:
    """GDAL's /vsicurl/ reads a window with range requests, as QGIS does."""
    item = next(Client.open(live_url).search(collections=["spot67"], max_items=1).items())
    href = item.assets["data"].href
    with (
        rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"),
        rasterio.open(f"/vsicurl/{href}") as remote,
    ):
        window = rasterio.windows.Window(100, 100, 64, 64)
        pixels = remote.read(window=window)
        overview = remote.overviews(1)
    with rasterio.open(storage_root / href.split("/assets/", 1)[1]) as local:
        assert np.array_equal(pixels, local.read(window=window))
        assert overview == local.overviews(1)
