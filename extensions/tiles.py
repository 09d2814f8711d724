"""Tiles for web maps: titiler's endpoints for an item's image under
`/collections/{c}/items/{i}` (`?assets=data` by default, titiler-pgstac's parameter; the
former `asset=` still works), with the same rights as downloads:
no pixels of a product the caller may not download.

Every endpoint (tiles, TileJSON, preview, info, statistics, point) reads the image through
one dependency that fetches the item from pgstac, checks the caller's rights, and hands
rio-tiler the file's real location, which never reaches the client. One asset is one COG:
rio-tiler's plain reader, as fast as titiler on the file itself.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

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
from extensions.assets.extension import no_asset, record_download, token_grant
from extensions.assets.hrefs import is_relative, is_web
from extensions.errors import InvalidRequest, NotFound
from extensions.i18n import _
from extensions.services import services_of
from pgstac.missions import white_level

ITEM_PREFIX = "/collections/{collection_id}/items/{item_id}"
DEFAULT_ASSET = "data"
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
    assets: Annotated[
        list[str] | None,
        Query(description="The item's image asset (one; titiler-pgstac's name): `data`"),
    ] = None,
    asset: Annotated[
        str | None, Query(description="Former name of `assets`", deprecated=True)
    ] = None,
    token: Annotated[
        str | None,
        Query(description="A token from GET /token/{collection}, for QGIS and other web maps"),
    ] = None,
) -> str:
    """Where rio-tiler reads the asset, if the caller (or the collection token, audited) may
    download the item."""
    if assets and len(assets) > 1:
        raise InvalidRequest(
            _("Un seul asset par image ici, pas %(count)s : `assets=data`.", count=len(assets))
        )
    asset = assets[0] if assets else asset or DEFAULT_ASSET
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
            raise NotFound(no_asset(asset, collection_id, item_id))
    if token:  # a URL template without headers (QGIS XYZ layers): checked and audited
        grant = await token_grant(services, token, "", collection_id, item_id, asset)
        await record_download(services.database, grant, f"{token} tiles {item_id} {asset}", 0)
    else:
        await require_downloadable(request, collection_id, item_id)
    if location is None:
        assert href is not None
        storage = services.hrefs.storage
        if is_relative(href):
            location = storage.read_location(href, READ_SECONDS)
        elif is_web(href):
            location = href
        else:  # a local path outside the storage: not ours to read
            raise NotFound(
                _(
                    "L'image de %(collection)s/%(item)s n'est pas servie ici.",
                    collection=collection_id,
                    item=item_id,
                )
            )
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


RENDER_SCHEMA = "https://stac-extensions.github.io/render/v2.0.0/schema.json"
WEB_MAP_LINKS_SCHEMA = "https://stac-extensions.github.io/web-map-links/v1.2.0/schema.json"
TILE_MATRIX_SET = "WebMercatorQuad"


def item_render(item: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The item's image as web maps draw it (render extension): natural colours when it has
    red, green and blue bands, else near-infrared false colours; None without an image."""
    data = (item.get("assets") or {}).get(DEFAULT_ASSET)
    if not isinstance(data, dict):
        return None
    bands = [band.get("eo:common_name") for band in data.get("bands") or []]
    name, colours = "natural-colour", ["red", "green", "blue"]
    if not all(c in bands for c in colours):
        name, colours = "false-colour", ["nir", "red", "green"]
    bidx = [bands.index(c) + 1 for c in colours if c in bands]
    # 12-bit products (SPOT 6/7, Pléiades, Pléiades Neo) are written on 16 bits; SPOT 1-5 on 8.
    eight_bits = (data.get("bands") or [{}])[0].get("data_type") == "uint8"
    bits = 255 if eight_bits else white_level((item.get("properties") or {}).get("platform"))
    render: dict[str, Any] = {
        "title": "Natural colours" if name == "natural-colour" else "Near-infrared false colours",
        "assets": [DEFAULT_ASSET],
        "rescale": [[0, bits]] * max(len(bidx), 1),
    }
    if bidx:
        render["bidx"] = bidx
    return name, render


def add_web_maps(item: dict[str, Any], base_url: str) -> None:
    """`renders` and web-map links (XYZ, TileJSON) for an item whose tiles the caller may
    see, so that STAC viewers and QGIS find them."""
    found = item_render(item)
    collection, item_id = item.get("collection"), item.get("id")
    if found is None or not isinstance(collection, str) or not isinstance(item_id, str):
        return
    name, render = found
    query = [("assets", DEFAULT_ASSET), *(("bidx", str(b)) for b in render.get("bidx", []))]
    query += [("rescale", ",".join(map(str, r))) for r in render["rescale"]]
    prefix = f"{base_url}collections/{quote(collection)}/items/{quote(item_id)}"
    if isinstance(item.get("properties"), dict):
        item["properties"]["renders"] = {name: render}
    item.setdefault("links", []).extend(
        [
            {
                "rel": "xyz",
                "href": f"{prefix}/tiles/{TILE_MATRIX_SET}/{{z}}/{{x}}/{{y}}.png?{urlencode(query)}",
                "type": "image/png",
                "title": render["title"],
                "render": name,
            },
            {
                "rel": "tilejson",
                "href": f"{prefix}/{TILE_MATRIX_SET}/tilejson.json?{urlencode(query)}",
                "type": "application/json",
                "title": render["title"],
                "render": name,
            },
        ]
    )
    extensions = item.setdefault("stac_extensions", [])
    extensions += [s for s in (RENDER_SCHEMA, WEB_MAP_LINKS_SCHEMA) if s not in extensions]
