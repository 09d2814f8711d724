"""`GET /places?q=` (suggestions while typing) and `GET /places/{id}` (one place with its
outline), for the viewer's place box and for scripts that want a place's id for `place=`."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Path, Query
from pydantic import BaseModel
from starlette.responses import JSONResponse

from extensions.errors import NotFound
from extensions.i18n import _
from extensions.places.search import get_place, suggest
from extensions.services import ServicesDep


class PlaceSummary(BaseModel):
    id: str
    name: str
    kind: str
    code: str
    context: str | None = None
    population: int | None = None
    bbox: list[float]


class PlaceSuggestions(BaseModel):
    places: list[PlaceSummary]


class GeoJSONResponse(JSONResponse):
    """A Feature whose outline is already GeoJSON text (orjson writes it as it is)."""

    media_type = "application/geo+json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def list_places(
    services: ServicesDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="The start of a name: accents, case, hyphens and apostrophes ignored",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    """Communes, départements, régions, overseas territories and countries matching `q`."""
    async with services.database.read() as conn:
        return {"places": await suggest(conn, q, limit)}


async def read_place(
    services: ServicesDep,
    place_id: Annotated[str, Path(description="e.g. commune:34172, departement:34, country:FRA")],
) -> GeoJSONResponse:
    """One place as a GeoJSON Feature with its outline."""
    async with services.database.read() as conn:
        feature = await get_place(conn, place_id)
    if feature is None:
        raise NotFound(
            _(
                "Aucun lieu d'id %(id)r : les ids ont la forme commune:34172, departement:34, "
                "region:76, territory:987 ou country:FRA ; GET /places?q=<nom> les trouve.",
                id=place_id,
            )
        )
    return GeoJSONResponse(feature)


def add_places(app: FastAPI) -> None:
    router = APIRouter(tags=["Places"])
    router.add_api_route(
        "/places",
        list_places,
        methods=["GET"],
        name="Place suggestions",
        response_model=PlaceSuggestions,
    )
    router.add_api_route(
        "/places/{place_id}",
        read_place,
        methods=["GET"],
        name="Place",
        response_class=GeoJSONResponse,
        responses={200: {"content": {"application/geo+json": {}}}},
    )
    app.include_router(router, prefix=getattr(app.state, "router_prefix", "") or "")
