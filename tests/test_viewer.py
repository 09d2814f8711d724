"""The catalogue viewer's server side: the page a browser lands on (content negotiation with
the STAC landing page, language, configuration), the footprint tiles of a whole result set
(the same items as the search, for the same caller) and the offline basemap."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import mapbox_vector_tile
import morecantile
import orjson
import pytest
import shapely
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from shapely.geometry import shape

from extensions.search.execute import matching_terms
from extensions.viewer.pages import LOCALES
from extensions.viewer.settings import ViewerSettings
from extensions.viewer.tiles import drawn_from_mirror
from stac_api.app import create_app
from stac_api.search import DinamisSearch
from tests.conftest import make_settings
from tests.oracle import all_pages
from tests.registry import DEMO_PASSWORD, FORMATION_RD, bearer

VIEWER = Path(__file__).parents[1] / "extensions" / "viewer"
TMS = morecantile.tms.get("WebMercatorQuad")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
MONTPELLIER = (3.87, 43.61)
SPOT_ONLY = "sans.pleiades@autre.example"
"""An account whose entity holds the SPOT licences, not the Pléiades ones."""


def config_of(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="viewer-config">(.*?)</script>', html)
    assert found, html[:500]
    return dict(json.loads(found.group(1)))


@pytest.mark.parametrize(
    ("accept", "query", "viewer"),
    [
        (BROWSER, "", True),
        ("text/html", "", True),
        ("application/json", "", False),
        ("*/*", "", False),
        ("", "", False),
        ("application/json;q=1, text/html;q=0.5", "", False),
        (BROWSER, "?f=json", False),
        ("application/json", "?f=html", True),
    ],
)
async def test_a_browser_lands_on_the_viewer_and_clients_on_the_landing_page(
    client: httpx.AsyncClient, accept: str, query: str, viewer: bool
) -> None:
    response = await client.get(f"/{query}", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.text
    assert "Accept" in response.headers.get("vary", "")
    if viewer:
        assert response.headers["content-type"].startswith("text/html")
        assert config_of(response.text)["api"] == "http://testserver"
    else:
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["type"] == "Catalog"


async def test_the_viewer_speaks_the_language_asked_for(pages: httpx.AsyncClient) -> None:
    french = config_of((await pages.get("/catalogue")).text)
    assert french["lang"] == "fr" and french["messages"] == {}
    english = await pages.get("/catalogue", headers={"Accept-Language": "en-GB,en;q=0.9"})
    config = config_of(english.text)
    assert config["lang"] == "en"
    assert config["messages"]["Résultats"] == "Results"
    assert '<html lang="en">' in english.text
    # The switch is remembered: the cookie wins over the browser's language afterwards.
    switched = await pages.get("/catalogue?lang=fr", headers={"Accept-Language": "en"})
    assert config_of(switched.text)["lang"] == "fr"
    assert (
        config_of((await pages.get("/catalogue", headers={"Accept-Language": "en"})).text)["lang"]
        == "fr"
    )


async def test_the_viewer_knows_who_is_signed_in(client: httpx.AsyncClient) -> None:
    anonymous = config_of((await client.get("/catalogue")).text)
    assert anonymous["user"] is None
    assert anonymous["links"]["signIn"] == "/connexion"
    assert [m["id"] for m in anonymous["missions"]] == [
        "spot-1-5",
        "spot-6-7",
        "pleiades",
        "pleiades-neo",
    ]
    assert anonymous["basemaps"][0]["id"] == "osm"
    signed_in = config_of(
        (await client.get("/catalogue", headers=await bearer(client, FORMATION_RD))).text
    )
    assert signed_in["user"]["name"] == "Jane Doe"


def test_every_message_of_the_viewer_has_its_english() -> None:
    with (LOCALES / "en" / "LC_MESSAGES" / "viewer.po").open("rb") as handle:
        english = {m.id: m.string for m in read_po(handle) if m.id}
    method_map = [("src/**.js", "javascript"), ("src/**.jsx", "javascript")]
    used = {
        message
        for _, _, message, _, _ in extract_from_dir(
            VIEWER, method_map, options_map={"src/**.jsx": {"jsx": "true"}}, keywords={"t": None}
        )
    }
    assert len(used) > 100
    for source in (VIEWER / "src").glob("*.js*"):  # what the extractor cannot see
        assert "${t(" not in source.read_text(), f"{source.name}: t() inside a template string"
    assert sorted(m for m in used if not english.get(m)) == []
    assert sorted(set(english) - used) == [], "messages no longer used: `make messages`"


def layer(tile: bytes, name: str) -> list[dict[str, Any]]:
    decoded = mapbox_vector_tile.decode(tile)
    return list(decoded[name]["features"]) if name in decoded else []


def tile_around(z: int) -> morecantile.Tile:
    return TMS.tile(*MONTPELLIER, z)


def bounds(tile: morecantile.Tile, margin: float) -> list[float]:
    """The tile's bounds in degrees, grown (margin > 0) or shrunk (< 0) by a share of its size."""
    west, south, east, north = TMS.bounds(tile)
    dx, dy = (east - west) * margin, (north - south) * margin
    return [west - dx, south - dy, east + dx, north + dy]


async def footprint_ids(
    client: httpx.AsyncClient, tile: morecantile.Tile, params: dict[str, str], **options: Any
) -> set[str]:
    response = await client.get(f"/footprints/{tile.z}/{tile.x}/{tile.y}", params=params, **options)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    features = layer(response.content, "footprints")
    assert all(
        {"id", "collection", "platform", "datetime"} <= f["properties"].keys() for f in features
    )
    return {f["properties"]["id"] for f in features}


async def searched_ids(client: httpx.AsyncClient, body: dict[str, Any], **options: Any) -> set[str]:
    if options:
        response = await client.post("/search", json={**body, "limit": 1000}, **options)
        assert response.status_code == 200, response.text
        assert "next" not in {link["rel"] for link in response.json()["links"]}
        return {f["id"] for f in response.json()["features"]}
    return set((await all_pages(client, "/search", body={**body, "limit": 1000}))[0])


FILTERED = {
    "filter": {
        "op": "and",
        "args": [
            {"op": "<=", "args": [{"property": "eo:cloud_cover"}, 30]},
            {"op": "in", "args": [{"property": "platform"}, ["spot-6", "spot-7", "pleiades-1a"]]},
        ],
    },
    "datetime": "2015-01-01T00:00:00Z/2024-12-31T23:59:59Z",
}


@pytest.mark.parametrize("terms", [{}, FILTERED], ids=["everything", "filtered"])
async def test_a_footprint_tile_holds_the_items_the_search_finds_there(
    client: httpx.AsyncClient, terms: dict[str, Any]
) -> None:
    tile = tile_around(7)
    params = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in terms.items()}
    if "filter" in params:
        params["filter-lang"] = "cql2-json"
    drawn = await footprint_ids(client, tile, params)
    # Footprints are cut to the tile plus a buffer (64/4096 of its width, each side).
    near = await searched_ids(client, {**terms, "bbox": bounds(tile, 64 / 4096)})
    inside = await searched_ids(client, {**terms, "bbox": bounds(tile, -0.01)})
    assert inside, "the test needs items in this tile"
    assert inside <= drawn <= near


@pytest.fixture(scope="module")
async def thinned(
    database: str, storage_root: Path, demo_items: list[dict[str, Any]]
) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose footprint tiles hold at most 100 footprints: the test archive is thinned
    at low zooms as a large one is at its default."""
    settings = make_settings(database, storage_root)
    settings.viewer = ViewerSettings(footprints_per_tile=100)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_thinned_tiles_draw_the_same_footprints_on_both_sides_of_their_edge(
    thinned: httpx.AsyncClient, demo_items: list[dict[str, Any]]
) -> None:
    """Longitude 0 is the edge of two tiles at every zoom, across France: each side used to
    keep its own 100 footprints, so those crossing it were cut there, and each side had its
    own density (a seam). Both tiles keep the same share of the search: the same footprints."""
    west, east = morecantile.Tile(15, 11, 5), morecantile.Tile(16, 11, 5)
    crossing = {
        item["id"]
        for item in demo_items
        if shape(item["geometry"]).intersects(shapely.box(*TMS.bounds(west)))
        and shape(item["geometry"]).intersects(shapely.box(*TMS.bounds(east)))
    }
    drawn_west = await footprint_ids(thinned, west, {})
    drawn_east = await footprint_ids(thinned, east, {})
    assert len(drawn_east) <= 100 and len(crossing) > 20, "the test needs a thinned seam"
    assert drawn_west & crossing
    assert drawn_west & crossing == drawn_east & crossing


THINNED_SEARCHES: list[dict[str, Any]] = [
    {},
    {
        "collections": ["spot67", "spot-swh"],
        "filter": {"op": "<=", "args": [{"property": "eo:cloud_cover"}, 20]},
    },
    {"datetime": "2014-03-10T00:00:00Z/2022-12-31T23:59:59Z", "bbox": [2.0, 42.0, 5.0, 45.0]},
]


@pytest.mark.parametrize("body", THINNED_SEARCHES, ids=["all", "missions-clouds", "period-area"])
async def test_a_thinned_tile_from_the_mirror_draws_what_pgstac_draws(
    database: str, demo_items: list[dict[str, Any]], body: dict[str, Any]
) -> None:
    """A thinned tile reads the facets' mirror, its footprints indexed by their draw
    (migration 0013): the same footprints as `tiles.footprints` draws from pgstac's items,
    with the same properties (0015), with a share above the first level and one under it."""
    held = DinamisSearch(**body)
    terms = orjson.dumps(matching_terms(held)).decode()
    conn = await asyncpg.connect(database, server_settings={"search_path": "pgstac,public"})
    try:
        for z, share in ((5, 0.3), (5, 0.05), (7, 0.004)):
            tile = tile_around(z)
            drawn = drawn_from_mirror(
                held, matching_terms(held), tile.z, tile.x, tile.y, 100, share
            )
            assert drawn is not None
            ours = await conn.fetchval(drawn[0], *drawn[1])
            theirs = await conn.fetchval(
                "SELECT tiles.footprints($1::text::jsonb, $2, $3, $4, $5, $6)",
                *(terms, tile.z, tile.x, tile.y, 100, share),
            )
            drawn = [
                sorted(sorted(f["properties"].items()) for f in layer(t, "footprints"))
                for t in (ours, theirs)
            ]
            assert drawn[0] == drawn[1], (z, share)  # the same footprints, and properties
            assert drawn[0] or share < 0.01, (z, share)
    finally:
        await conn.close()


async def test_footprint_tiles_follow_the_callers_rights(client: httpx.AsyncClient) -> None:
    tile = tile_around(6)
    only = {"downloadable": "true"}
    assert await footprint_ids(client, tile, only) == set()  # anonymous: nothing to download
    rd = await bearer(client, SPOT_ONLY, DEMO_PASSWORD)
    response = await client.get(f"/footprints/{tile.z}/{tile.x}/{tile.y}", params=only, headers=rd)
    assert response.headers["cache-control"] == "private, no-store"
    drawn = {f["properties"]["id"] for f in layer(response.content, "footprints")}
    body = {"downloadable": True, "bbox": bounds(tile, -0.01)}
    allowed = await searched_ids(client, body, headers=rd)
    assert allowed and allowed <= drawn
    everything = await footprint_ids(client, tile, {})
    assert drawn < everything
    public = await client.get(f"/footprints/{tile.z}/{tile.x}/{tile.y}")
    assert public.headers["cache-control"] == "public, max-age=60"


async def test_a_place_and_the_commandable_archive_in_footprint_tiles(
    client: httpx.AsyncClient,
) -> None:
    tile = tile_around(9)
    in_place = await footprint_ids(client, tile, {"place": "commune:34172"})
    assert in_place == await searched_ids(client, {"place": "commune:34172"}) & await footprint_ids(
        client, tile, {}
    )
    # The Airbus archive is not held here: its scenes are drawn from the result pages.
    assert await footprint_ids(client, tile, {"product_type": "commandable"}) == set()


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/footprints/3/8/1", 404, "x et y sont inférieurs à 8"),
        ("/footprints/23/0/0", 400, "z"),
        ("/footprints/5/16/11?collections=nope", 400, "Collection(s) inconnue(s)"),
        ("/footprints/5/16/11?filter=cloud%20%3C", 400, "Filtre"),
        ("/footprints/5/16/11?product_type=everything", 400, "product_type"),
        ("/footprints/5/16/11?place=atlantis-sur-mer", 400, "atlantis"),
        ("/basemap/2/4/0", 404, "x et y sont inférieurs à 4"),
    ],
)
async def test_bad_tiles_are_told_why(
    client: httpx.AsyncClient, path: str, status: int, says: str
) -> None:
    response = await client.get(path)
    assert response.status_code == status, response.text
    assert says in response.text


async def test_the_offline_basemap_draws_countries_then_french_outlines(
    client: httpx.AsyncClient,
) -> None:
    world = await client.get("/basemap/0/0/0")
    assert world.status_code == 200
    assert world.headers["cache-control"] == "public, max-age=86400"
    kinds = {f["properties"]["kind"] for f in layer(world.content, "places")}
    assert kinds == {"country", "territory"} or kinds == {"country"}
    names = {f["properties"]["name"] for f in layer(world.content, "places")}
    assert "France" in names
    tile = tile_around(10)
    local = layer((await client.get(f"/basemap/{tile.z}/{tile.x}/{tile.y}")).content, "places")
    assert {"region", "departement", "commune"} <= {f["properties"]["kind"] for f in local}
    assert "Montpellier" in {f["properties"]["name"] for f in local}


async def test_every_page_links_to_the_catalogue(pages: httpx.AsyncClient) -> None:
    portal = await pages.get("/portail")
    assert 'href="/catalogue"' in portal.text


async def test_the_fewest_scenes_that_cover_a_zone(client: httpx.AsyncClient) -> None:
    zone = {
        "type": "Polygon",
        "coordinates": [[[3.6, 43.5], [4.1, 43.5], [4.1, 43.8], [3.6, 43.8], [3.6, 43.5]]],
    }
    response = await client.post("/coverage", json={"intersects": zone})
    assert response.status_code == 200, response.text
    found = response.json()
    scenes = found["scenes"]
    assert scenes and 0 < found["covered"] <= found["reachable"] <= 1
    shares = [s["covered"] for s in scenes]
    assert shares == sorted(shares) and all(s["adds"] > 0 for s in scenes)
    assert [s["adds"] for s in scenes] == sorted((s["adds"] for s in scenes), reverse=True)
    union = shapely.union_all([shape(s["geometry"]) for s in scenes])
    # Degrees, not metres: the same within a percent over a zone this small.
    assert abs(union.intersection(shape(zone)).area / shape(zone).area - found["covered"]) < 0.01
    # The scenes are those of the search: with a filter, only scenes that pass it.
    cloudless = {"op": "<=", "args": [{"property": "eo:cloud_cover"}, 5]}
    filtered = await client.post("/coverage", json={"intersects": zone, "filter": cloudless})
    assert all(s["cloud"] <= 5 for s in filtered.json()["scenes"])
    few = await client.post("/coverage?max_scenes=1", json={"place": "commune:34172"})
    assert len(few.json()["scenes"]) == 1


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "Donnez la zone à couvrir"),
        ({"intersects": {"type": "Point", "coordinates": [3.8, 43.6]}}, "pas de surface"),
        ({"bbox": [3.6, 43.5, 4.1, 43.8], "product_type": "commandable"}, "pas détenue ici"),
        ({"bbox": [3.6, 43.5, 4.1]}, "bbox"),
    ],
)
async def test_a_zone_that_cannot_be_covered_is_told_why(
    client: httpx.AsyncClient, body: dict[str, Any], says: str
) -> None:
    response = await client.post("/coverage", json=body)
    assert response.status_code == 400, response.text
    assert says in response.text


async def test_a_page_asked_without_its_count(client: httpx.AsyncClient) -> None:
    """The viewer has the count from /aggregate: pgstac's switch spares counting it twice."""
    body = {"bbox": [3.6, 43.5, 4.1, 43.8], "limit": 5}
    counted = (await client.post("/search", json=body)).json()
    assert counted["numberMatched"] > 5
    spared = (await client.post("/search", json={**body, "conf": {"context": "off"}})).json()
    assert "numberMatched" not in spared
    assert [f["id"] for f in spared["features"]] == [f["id"] for f in counted["features"]]
    everything = {**body, "product_type": "all", "conf": {"context": "off"}}
    assert "numberMatched" not in (await client.post("/search", json=everything)).json()
