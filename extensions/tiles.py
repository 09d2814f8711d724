"""Tiles for web maps: titiler's endpoints for an item's image under
`/collections/{c}/items/{i}` (`?asset=data` by default), with the same rights as downloads:
no pixels of a product the caller may not download.

Every endpoint (tiles, TileJSON, preview, info, statistics, point) reads the image through
one dependency that fetches the item from pgstac, checks the caller's rights, and hands
rio-tiler the file's real location, which never reaches the client. One asset is one COG:
rio-tiler's plain reader, as fast as titiler on the file itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Path, Query, Request
from rio_tiler.errors import (
    InvalidAssetName,
    InvalidBandName,
    InvalidColorFormat,
    InvalidExpression,
    InvalidFormat,
    MissingAssets,
    MissingBands,
    PointOutsideBounds,
    TileOutsideBounds,
)
from starlette import status
from titiler.core.errors import BadRequestError, TileNotFoundError
from titiler.core.factory import TilerFactory

from extensions.access import require_downloadable
from extensions.assets.hrefs import is_relative, is_web
from extensions.errors import NotFound
from extensions.services import services_of

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
    PointOutsideBounds: status.HTTP_400_BAD_REQUEST,
    TileNotFoundError: status.HTTP_404_NOT_FOUND,
    MissingBands: status.HTTP_400_BAD_REQUEST,
    MissingAssets: status.HTTP_400_BAD_REQUEST,
    InvalidColorFormat: status.HTTP_400_BAD_REQUEST,
    InvalidAssetName: status.HTTP_404_NOT_FOUND,
    InvalidBandName: status.HTTP_404_NOT_FOUND,
    InvalidExpression: status.HTTP_400_BAD_REQUEST,
    InvalidFormat: status.HTTP_400_BAD_REQUEST,
}


async def readable_asset(
    request: Request,
    collection_id: Annotated[str, Path(description="Collection")],
    item_id: Annotated[str, Path(description="Item")],
    asset: Annotated[str, Query(description="The item's image asset")] = "data",
) -> str:
    """Where rio-tiler reads the asset, if the caller may download the item."""
    services = services_of(request)
    key = (collection_id, item_id, asset)
    location = services.hrefs.read_locations.get(key)  # the rights are checked every time
    href = None
    if location is None:
        async with services.database.read() as conn:
            href = await conn.fetchval(
                "SELECT content->'assets'->$3->>'href' FROM pgstac.items WHERE collection = $1 AND id = $2",
                collection_id,
                item_id,
                asset,
            )
        if not isinstance(href, str):
            raise NotFound(f"No asset {asset!r} in item {collection_id}/{item_id}.")
    await require_downloadable(request, collection_id, item_id)
    if location is None:
        assert href is not None
        storage = services.hrefs.storage
        if is_relative(href):
            location = storage.read_location(href, READ_SECONDS)
        elif is_web(href):
            location = href
        else:  # a local path outside the storage: not ours to read
            raise NotFound(f"The image of {collection_id}/{item_id} is not served here.")
        services.hrefs.read_locations[key] = location
    return location


def add_tiles(app: FastAPI) -> None:
    tiler = TilerFactory(
        path_dependency=readable_asset,
        router_prefix=ITEM_PREFIX,
        add_part=False,
        add_viewer=False,
        environment_dependency=lambda: GDAL_ENVIRONMENT,
    )
    app.include_router(tiler.router, prefix=ITEM_PREFIX, tags=["Tiles"])
