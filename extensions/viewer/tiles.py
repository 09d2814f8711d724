"""Vector tiles for the catalogue viewer: the footprints of a whole result set, and the
embedded offline basemap.

A search may match a million scenes: the viewer cannot load them as pages, so the map draws
them from tiles that PostGIS makes (`tiles.footprints`, migration 0007) with exactly the
search's terms, planned like any other search (extensions.search): same parameters as
`GET /search`, same `product_type`, `place` and `downloadable`, same rights. The
commandable archive is not held here: its scenes are drawn from the result pages. Where a
search has more footprints than a tile may hold, every tile of a zoom draws the same share of
them, the same footprints on both sides of an edge (migration 0011).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from cachetools import TTLCache
from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import Response

from extensions import facets
from extensions.database import Database
from extensions.errors import NotFound
from extensions.i18n import _
from extensions.search import plan_search
from extensions.search.execute import matching_terms
from extensions.services import ServicesDep

if TYPE_CHECKING:
    from stac_fastapi.pgstac.types.search import PgstacSearch

MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22
BASEMAP_SECONDS = 86_400
"""The basemap changes only when the gazetteer is loaded again."""
SHARE_SECONDS = 300
"""How long a search's footprint share at a zoom is kept (it moves only as items are loaded)."""
TILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {MVT: {}}, "description": "A Mapbox Vector Tile"}
}

DRAW_LEVELS = tuple(4.0**-k for k in range(1, 7))
"""The draws the facets' mirror indexes its footprints under (migration 0013)."""
DRAWN_FROM_MIRROR = """
SELECT ST_AsMVT(f, 'footprints', 4096, 'geom') FROM (
    SELECT id, collection, nullif(platform, '') AS platform,
           to_char(datetime AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS datetime,
           cloud,
           ST_AsMVTGeom(ST_Transform(geometry, 3857), {envelope}, 4096, 64, true) AS geom
    FROM (
        SELECT id, collection, platform, datetime, cloud, geometry FROM facets.items
        WHERE ST_Intersects(geometry, ST_Transform({envelope}, 4326)) AND {terms}
        ORDER BY tiles.sample(id)
        LIMIT {most}
    ) drawn
) f
"""
"""The mirror holds all a footprint's properties (migration 0015): joined to pgstac's items
for them, the planner read every partition of the archive."""


def drawn_from_mirror(
    held: PgstacSearch, matching: dict[str, Any], z: int, x: int, y: int, most: int, share: float
) -> tuple[str, list[Any]] | None:
    """A thinned tile (share < 1) made from the facets' mirror, whose footprints are indexed
    by their draw (migration 0013): only those under the level above the share are read, not
    every footprint the tile crosses; the same footprints as `tiles.footprints` draws. None
    when the search's terms are not the mirror's (extensions.facets)."""
    terms = facets.read_terms(matching, held.start_date, held.end_date)
    if terms is None or (terms.area is not None and facets.area_shape(terms.area) is None):
        return None
    query = facets.Query()
    clauses = facets.exact_terms(terms, query)
    if terms.area is not None:
        area = query.arg(orjson.dumps(terms.area).decode(), "text")
        clauses.append(f"ST_Intersects(geometry, ST_SetSRID(ST_GeomFromGeoJSON({area}), 4326))")
    # A constant, which the planner matches with a level's index.
    level = min((level for level in DRAW_LEVELS if level >= share), default=None)
    if level is not None:
        clauses.append(f"tiles.sample(id) < {level!r}")
    clauses.append(f"tiles.sample(id) < {query.arg(share, 'float8')}")
    text = DRAWN_FROM_MIRROR.format(
        envelope=f"ST_TileEnvelope({int(z)}, {int(x)}, {int(y)})",
        terms=" AND ".join(clauses),
        most=int(most),
    )
    return text, query.args


SearchReader = Callable[..., Awaitable[Any]]
"""A dependency that reads a GET search's parameters into the search model."""

Zoom = Annotated[int, Path(ge=0, le=MAX_ZOOM, description="Zoom level")]
Column = Annotated[int, Path(ge=0, description="Tile column")]
Row = Annotated[int, Path(ge=0, description="Tile row")]


def check_tile(z: int, x: int, y: int) -> None:
    if x >= 2**z or y >= 2**z:
        raise NotFound(
            _(
                "Pas de tuile %(z)s/%(x)s/%(y)s : au zoom %(z)s, x et y sont inférieurs à %(n)s.",
                z=z,
                x=x,
                y=y,
                n=2**z,
            )
        )


def tile_response(tile: bytes | None, cache: str) -> Response:
    return Response(tile or b"", media_type=MVT, headers={"Cache-Control": cache})


def draws_all(reading: asyncio.Future[float]) -> bool:
    """Whether a share read says that every footprint is drawn."""
    done = reading.done() and not reading.cancelled() and reading.exception() is None
    return done and reading.result() >= 1


def add_viewer_tiles(app: FastAPI, prefix: str, read_search: SearchReader) -> None:
    router = APIRouter(prefix=prefix, tags=["Viewer"])
    shares: TTLCache[tuple[str, int, int], asyncio.Future[float]] = TTLCache(
        maxsize=1024, ttl=SHARE_SECONDS
    )

    def footprint_share(
        database: Database,
        held: PgstacSearch,
        matching: dict[str, Any],
        terms: str,
        z: int,
        most: int,
    ) -> Awaitable[float]:
        """The share of the search's footprints every tile of zoom z draws, read once for all
        the tiles of a view: the tiles asked for together wait for the same reading. The
        densest tile is estimated from the facets' rollup (extensions.facets), or by a pass
        over the search's items when its terms are not the rollup's (migration 0011). A tile
        holds no more than its parent: once a zoom draws them all, the closer ones do too,
        unread."""
        for lower in range(z):
            known = shares.get((terms, lower, most))
            if known is not None and draws_all(known):
                return known
        key = (terms, z, most)
        if key not in shares:

            async def read() -> float:
                async with database.read() as conn:
                    densest = await facets.densest_tile(
                        conn, matching, held.start_date, held.end_date, z
                    )
                    if densest is not None:
                        return min(1.0, 0.9 * most / max(densest, 1.0))
                    share = await conn.fetchval(
                        "SELECT tiles.footprint_share($1::text::jsonb, $2, $3)", terms, z, most
                    )
                return float(share)

            def forget_failure(done: asyncio.Future[float]) -> None:
                if done.cancelled() or done.exception() is not None:
                    shares.pop(key, None)

            shares[key] = asyncio.ensure_future(read())
            shares[key].add_done_callback(forget_failure)
        return asyncio.shield(shares[key])

    @router.get(
        "/footprints/{z}/{x}/{y}",
        response_class=Response,
        responses=TILE_RESPONSE,
        summary="Footprints of a search's items, as a vector tile",
    )
    async def footprints(
        request: Request,
        z: Zoom,
        x: Column,
        y: Row,
        services: ServicesDep,
        search: Any = Depends(read_search),
    ) -> Response:
        """The footprints of the items held here that a search matches, in one Mapbox Vector
        Tile (layer `footprints`: id, collection, platform, datetime, cloud). Takes the
        parameters of `GET /search` (its page aside); at most `DINAMIS_VIEWER_FOOTPRINTS_PER_TILE`
        footprints per tile, the same share of the search's in every tile of a zoom."""
        check_tile(z, x, y)
        plan = await plan_search(search, request, services)
        private = plan.rights is not None
        cache = "private, no-store" if private else "public, max-age=60"
        if plan.held is None:  # only the commandable archive: drawn from its pages
            return tile_response(None, cache)
        matching = matching_terms(plan.held)  # the search as pgstac reads it, once per tile
        terms = orjson.dumps(matching).decode()
        most = services.settings.viewer.footprints_per_tile
        share = await footprint_share(services.database, plan.held, matching, terms, z, most)
        drawn = drawn_from_mirror(plan.held, matching, z, x, y, most, share) if share < 1 else None
        async with services.database.read() as conn:
            if drawn is not None:
                await conn.execute(facets.CUSTOM_PLANS)
                tile = await conn.fetchval(drawn[0], *drawn[1])
            else:
                tile = await conn.fetchval(
                    "SELECT tiles.footprints($1::text::jsonb, $2, $3, $4, $5, $6)",
                    terms,
                    z,
                    x,
                    y,
                    most,
                    share,
                )
        return tile_response(tile, cache)

    @router.get(
        "/basemap/{z}/{x}/{y}",
        response_class=Response,
        responses=TILE_RESPONSE,
        summary="The embedded offline basemap, as a vector tile",
    )
    async def basemap(z: Zoom, x: Column, y: Row, services: ServicesDep) -> Response:
        """Country and territory outlines, then régions (zoom 4), départements (6) and
        communes (9), from the gazetteer (layer `places`: kind, name): a map with no
        internet."""
        check_tile(z, x, y)
        async with services.database.read() as conn:
            tile = await conn.fetchval("SELECT tiles.basemap($1, $2, $3)", z, x, y)
        return tile_response(tile, f"public, max-age={BASEMAP_SECONDS}")

    app.include_router(router)
