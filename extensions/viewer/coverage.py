"""Coverage of an area: the fewest scenes of a search that cover it ("couvrir ma zone").

The search is planned like any other (extensions.search), so the proposal respects every
filter and the caller's rights; its area (`intersects`, `bbox` or `place`) is the zone to
cover. The most recent matching scenes (up to `CANDIDATES`) are read with their footprints,
then chosen greedily, each time the one that covers most of what is still uncovered, in an
equal-area projection centred on the zone, until it is covered or `max_scenes` are chosen.
Greedy set cover is within a small factor of the optimum and answers in milliseconds; the
commandable Airbus archive is not held here and is not proposed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from fastapi import APIRouter, Body, FastAPI, Query, Request
from pydantic import BaseModel, ValidationError
from pyproj import Transformer
from shapely.geometry import mapping, shape

from extensions.errors import InvalidSearch, validation_message
from extensions.facets import bbox_polygon, where_clause
from extensions.i18n import _
from extensions.search import plan_search
from extensions.search.execute import matching_terms
from extensions.services import ServicesDep

CANDIDATES = 3000
ENOUGH = 0.995
"""Covered: the rest is slivers between footprints."""
NEGLIGIBLE = 1e-4
"""A scene adding less than this share of the zone is not worth proposing."""

CANDIDATES_SQL = """
SELECT collection, id, datetime, content->'properties'->>'platform' AS platform,
       (content->'properties'->>'eo:cloud_cover')::float8 AS cloud, ST_AsBinary(geometry) AS wkb
FROM pgstac.items WHERE {} ORDER BY datetime DESC LIMIT {}
"""


class ProposedScene(BaseModel):
    collection: str
    id: str
    platform: str | None
    datetime: str
    cloud: float | None
    adds: float
    """Share of the zone this scene covers that the previous ones did not."""
    covered: float
    """Share of the zone covered by this scene and the previous ones."""
    geometry: dict[str, Any]


class Coverage(BaseModel):
    scenes: list[ProposedScene]
    covered: float
    """Share of the zone the proposed scenes cover."""
    reachable: float
    """Share of the zone that all the candidates together cover."""
    candidates: int
    """Scenes considered: the most recent matching ones, up to 3000."""


def zone_of(search: Any) -> shapely.Geometry:
    if search.intersects is not None:
        zone = shape(search.intersects.model_dump(exclude_none=True))
    elif search.bbox is not None:
        polygon = bbox_polygon(search.bbox)
        if polygon is None:
            raise InvalidSearch(_("Une zone à cheval sur l'antiméridien se donne en `intersects`."))
        zone = shape(polygon)
    else:
        raise InvalidSearch(_("Donnez la zone à couvrir : `intersects`, `bbox` ou `place`."))
    zone = shapely.make_valid(zone)
    if zone.area == 0:
        raise InvalidSearch(_("La zone à couvrir n'a pas de surface (un point ou une ligne)."))
    return zone


def equal_area(zone: shapely.Geometry) -> Callable[[Any], Any]:
    """Coordinates to metres in a Lambert azimuthal equal-area projection centred on the zone."""
    centre = zone.centroid
    to_metres = Transformer.from_crs(
        "EPSG:4326", f"+proj=laea +lat_0={centre.y} +lon_0={centre.x} +units=m", always_xy=True
    )

    def project(geometries: Any) -> Any:
        return shapely.transform(
            geometries, lambda xy: np.column_stack(to_metres.transform(xy[:, 0], xy[:, 1]))
        )

    return project


def greedy(zone: shapely.Geometry, footprints: np.ndarray, max_scenes: int) -> list[int]:
    """Indices of the footprints chosen, in order, each covering most of what is left."""
    total = zone.area
    left = zone
    gains = shapely.area(shapely.intersection(footprints, left))
    chosen: list[int] = []
    while len(chosen) < max_scenes and left.area > total * (1 - ENOUGH):
        best = int(np.argmax(gains))
        if gains[best] <= total * NEGLIGIBLE:
            break
        chosen.append(best)
        left = shapely.difference(left, footprints[best])
        useful = gains > total * NEGLIGIBLE
        gains[~useful] = 0
        gains[useful] = shapely.area(shapely.intersection(footprints[useful], left))
        gains[best] = 0
    return chosen


def add_coverage(app: FastAPI, prefix: str, search_model: type[BaseModel]) -> None:
    router = APIRouter(prefix=prefix, tags=["Viewer"])

    @router.post("/coverage", response_model=Coverage, summary="The fewest scenes covering a zone")
    async def coverage(
        request: Request,
        services: ServicesDep,
        body: dict[str, Any] = Body(description="A search (as POST /search) with its zone"),
        max_scenes: int = Query(default=20, ge=1, le=100),
    ) -> Coverage:
        """The fewest scenes of the search that cover its zone (`intersects`, `bbox` or
        `place`): the most recent matching scenes, chosen one by one for what each adds."""
        try:
            search = search_model.model_validate(body)
        except ValidationError as exc:
            raise InvalidSearch(validation_message(exc.errors())) from exc
        plan = await plan_search(search, request, services)
        if plan.held is None:
            raise InvalidSearch(
                _("L'archive commandable n'est pas détenue ici : choisissez des produits détenus.")
            )
        zone = zone_of(plan.held)
        async with services.database.read() as conn:
            where = await where_clause(conn, matching_terms(plan.held))
            rows = await conn.fetch(CANDIDATES_SQL.format(where, CANDIDATES))
        project = equal_area(zone)
        zone_m = project(zone)
        footprints = project(shapely.from_wkb([r["wkb"] for r in rows]))
        chosen = greedy(zone_m, footprints, max_scenes) if rows else []
        total, covered = zone_m.area, shapely.Polygon()
        scenes = []
        for index in chosen:
            before = covered.area
            covered = shapely.union(covered, shapely.intersection(footprints[index], zone_m))
            row = rows[index]
            scenes.append(
                ProposedScene(
                    collection=row["collection"],
                    id=row["id"],
                    platform=row["platform"],
                    datetime=row["datetime"].isoformat().replace("+00:00", "Z"),
                    cloud=row["cloud"],
                    adds=round((covered.area - before) / total, 4),
                    covered=round(covered.area / total, 4),
                    geometry=mapping(shapely.from_wkb(row["wkb"])),
                )
            )
        reachable = (
            shapely.intersection(shapely.union_all(footprints), zone_m).area / total if rows else 0
        )
        return Coverage(
            scenes=scenes,
            covered=round(covered.area / total, 4),
            reachable=round(reachable, 4),
            candidates=len(rows),
        )

    app.include_router(router)
