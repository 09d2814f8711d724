"""Tiles for web maps: titiler's item endpoints under `/collections/{c}/items/{i}`, with the
same rights as downloads (no pixels of a product the caller may not download).

Every endpoint (tiles, TileJSON, preview, info, statistics, point) reads the item through one
dependency that fetches it from pgstac, checks the caller's rights, and hands rio-tiler the
asset files' real locations, which never reach the client.
"""

from __future__ import annotations

import warnings
from typing import Annotated, Any, cast

import attr
import pystac
from fastapi import FastAPI, Path, Request
from rio_tiler.errors import (
    InvalidAssetName,
    InvalidBandName,
    InvalidColorFormat,
    InvalidExpression,
    InvalidFormat,
    MissingAssets,
    MissingBands,
    TileOutsideBounds,
)
from rio_tiler.io import STACReader
from starlette import status
from titiler.core.errors import BadRequestError, TileNotFoundError
from titiler.core.factory import MultiBaseTilerFactory

from extensions.access import DOWNLOADABLE, SIGN_IN, decide, get_rights
from extensions.assets.extension import REFUSALS
from extensions.assets.hrefs import AssetHrefs, is_relative
from extensions.assets.storage import S3Storage
from extensions.errors import AuthenticationRequired, NotFound, PermissionDenied

# rio-tiler warns for every item whose bands carry no statistics (ours describe wavelengths):
# the warning says nothing about a request.
warnings.filterwarnings("ignore", "Some statistics data in STAC are invalid", UserWarning)

ITEM_PREFIX = "/collections/{collection_id}/items/{item_id}"
READ_SECONDS = 3600
# GDAL reads one known file per asset: no directory listing, bounded network waits.
GDAL_ENVIRONMENT = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_TIMEOUT": "30",
    "GDAL_HTTP_CONNECTTIMEOUT": "10",
    "GDAL_HTTP_MAX_RETRY": "2",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "VSI_CACHE": "TRUE",
}

# Errors rio-tiler and titiler raise for what a client asked.
STATUS_CODES: dict[type[Exception], int] = {
    BadRequestError: status.HTTP_400_BAD_REQUEST,
    TileOutsideBounds: status.HTTP_404_NOT_FOUND,
    TileNotFoundError: status.HTTP_404_NOT_FOUND,
    MissingBands: status.HTTP_400_BAD_REQUEST,
    MissingAssets: status.HTTP_400_BAD_REQUEST,
    InvalidColorFormat: status.HTTP_400_BAD_REQUEST,
    InvalidAssetName: status.HTTP_404_NOT_FOUND,
    InvalidBandName: status.HTTP_404_NOT_FOUND,
    InvalidExpression: status.HTTP_400_BAD_REQUEST,
    InvalidFormat: status.HTTP_400_BAD_REQUEST,
}


@attr.s
class CatalogueItemReader(STACReader):
    """rio-tiler's STAC reader over an item already fetched and checked: its `input` is the
    item as a dict (titiler passes what the path dependency returns)."""

    def __attrs_post_init__(self) -> None:
        self.item = pystac.Item.from_dict(cast(dict[str, Any], self.input))
        super().__attrs_post_init__()


async def readable_item(
    request: Request,
    collection_id: Annotated[str, Path(description="Collection")],
    item_id: Annotated[str, Path(description="Item")],
) -> dict[str, Any]:
    """The item, if the caller may download it, with its files' locations for rio-tiler."""
    async with request.app.state.get_connection(request, "r") as conn:
        item = await conn.fetchval("SELECT pgstac.get_item($1, $2)", item_id, collection_id)
    if item is None:
        raise NotFound(f"No item {collection_id}/{item_id}.")
    rights = await get_rights(request)
    verdict = (await decide(request, rights, [(collection_id, item_id)]))[(collection_id, item_id)]
    if verdict == SIGN_IN:
        raise AuthenticationRequired(REFUSALS[SIGN_IN])
    if verdict != DOWNLOADABLE:
        raise PermissionDenied(REFUSALS.get(verdict, verdict))
    hrefs: AssetHrefs = request.app.state.asset_hrefs
    storage = hrefs.storage
    for asset in (item.get("assets") or {}).values():
        href = asset.get("href")
        if isinstance(href, str) and is_relative(href):
            if isinstance(storage, S3Storage):
                asset["href"] = storage.presign(href, READ_SECONDS)
            else:
                asset["href"] = str(storage.path(href))
    item.setdefault("links", [])
    return dict(item)


def add_tiles(app: FastAPI) -> None:
    tiler = MultiBaseTilerFactory(
        reader=CatalogueItemReader,
        path_dependency=readable_item,
        router_prefix=ITEM_PREFIX,
        add_part=False,
        add_viewer=False,
        environment_dependency=lambda: GDAL_ENVIRONMENT,
    )
    app.include_router(tiler.router, prefix=ITEM_PREFIX, tags=["Tiles"])
