"""`GET /assets/{path}`: asset files with HTTP range requests, ETag and Content-Length.

Range support is what lets GDAL/QGIS read a Cloud-Optimized GeoTIFF in place over /vsicurl/.
"""

from __future__ import annotations

from typing import Annotated

import attr
from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.responses import FileResponse
from stac_fastapi.types.extension import ApiExtension

from extensions.assets.hrefs import ASSETS_PATH
from extensions.assets.storage import LocalStorage


def get_storage(request: Request) -> LocalStorage:
    return request.app.state.storage


async def get_asset(
    request: Request,
    path: Annotated[str, Path(description="Asset path relative to the storage root")],
) -> FileResponse:
    """An asset file; supports `Range`, `If-Range`, `HEAD`, ETag and Content-Length."""
    file = get_storage(request).path(path)
    return FileResponse(file, headers={"Cache-Control": "private, max-age=3600"})


@attr.s
class AssetsExtension(ApiExtension):
    """Serves the files of the local asset storage."""

    # A product-specific route: no STAC conformance class to declare.
    conformance_classes: list[str] = attr.ib(factory=list)
    schema_href: str | None = attr.ib(default=None)

    def register(self, app: FastAPI) -> None:
        router = APIRouter(prefix=app.state.router_prefix, tags=["Assets"])
        router.add_api_route(
            f"/{ASSETS_PATH}/{{path:path}}",
            get_asset,
            methods=["GET", "HEAD"],
            name="Get asset file",
            response_class=FileResponse,
            responses={
                200: {"description": "The file, or the requested byte ranges (206)."},
                404: {"description": "No such asset."},
            },
        )
        app.include_router(router)
