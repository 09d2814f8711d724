"""STAC conventions that let generic clients find what DINAMIS offers (issue 20, 3): our search
terms as CQL2 queryables, licence links, renders and web-map links, the landing page's links,
titiler-pgstac's parameter names, CORS for API keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pystac.validation import validate_dict
from pystac_client import Client

from extensions.tiles import item_render
from tests.offline_schemas import offline_schemas
from tests.registry import bearer
from tests.test_gdal import tile_inside
from tests.test_live import api_key

LICENSED = "bruce.wayne@formation.example"
TERMS = {"product_type", "place", "downloadable"}
QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


@pytest.fixture(scope="module")
async def licensed(client: httpx.AsyncClient) -> dict[str, str]:
    return await bearer(client, LICENSED)


def ids(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return [f["id"] for f in page.json()["features"]]


def local(url: str) -> str:
    """An absolute link of the test app as a path the ASGI client asks."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def test_queryables_list_our_search_terms(client: httpx.AsyncClient) -> None:
    for path in ("/queryables", "/collections/pleiades/queryables"):
        properties = (await client.get(path)).json()["properties"]
        assert set(properties) >= TERMS, path
        assert "pwh" in properties["product_type"]["enum"]
        assert properties["downloadable"]["type"] == "boolean"
        assert properties["place"]["type"] == "string"


async def test_the_openapi_documents_the_terms_as_parameters(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api")).json()
    search = document["paths"]["/search"]
    body = search["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    posted = document["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    for name in TERMS:
        assert posted[name]["description"], name
        assert name in {p["name"] for p in search["get"]["parameters"]}, name


@pytest.mark.parametrize(
    ("parameters", "text", "json_filter"),
    [
        pytest.param(
            {"product_type": "pwh"},
            "product_type = 'pwh'",
            {"op": "=", "args": [{"property": "product_type"}, "pwh"]},
            id="product_type",
        ),
        pytest.param(
            {"place": "departement:34"},
            "place = 'departement:34'",
            {"op": "=", "args": [{"property": "place"}, "departement:34"]},
            id="place",
        ),
        pytest.param(
            {"downloadable": "true"},
            "downloadable = true",
            {"op": "=", "args": [{"property": "downloadable"}, True]},
            id="downloadable",
        ),
    ],
)
async def test_each_term_through_the_filter_finds_what_the_parameter_finds(
    client: httpx.AsyncClient,
    licensed: dict[str, str],
    demo_items: list[dict[str, Any]],
    parameters: dict[str, str],
    text: str,
    json_filter: dict[str, Any],
) -> None:
    """Alone and and-ed with another queryable, in CQL2 text (GET) and CQL2-JSON (POST)."""
    cloudy = {"op": "<", "args": [{"property": "eo:cloud_cover"}, 40]}
    for extra, extra_text in (({}, ""), (cloudy, " AND eo:cloud_cover < 40")):
        common = {"limit": 50, **({"filter": "eo:cloud_cover < 40"} if extra else {})}
        expected = await client.get("/search", params={**common, **parameters}, headers=licensed)
        assert ids(expected), "the parameter finds nothing: the test proves nothing"
        by_text = await client.get(
            "/search", params={"limit": 50, "filter": text + extra_text}, headers=licensed
        )
        cql2 = {"op": "and", "args": [json_filter, extra]} if extra else json_filter
        by_json = await client.post("/search", json={"limit": 50, "filter": cql2}, headers=licensed)
        assert ids(by_text) == ids(expected) == ids(by_json)
        assert by_json.json()["numberMatched"] == expected.json()["numberMatched"]


async def test_downloadable_in_the_filter_narrows_to_the_callers_rights(
    client: httpx.AsyncClient,
) -> None:
    everything = await client.post("/search", json={"limit": 1})
    mine = await client.post(
        "/search",
        json={"limit": 1, "filter": {"op": "=", "args": [{"property": "downloadable"}, True]}},
    )
    assert everything.json()["numberMatched"] > 0
    assert mine.json()["numberMatched"] == 0  # anonymous: nothing is downloadable


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"filter": "product_type = 'pwh' OR eo:cloud_cover < 10"},
            "with `=`",
            id="inside-or",
        ),
        pytest.param({"filter": "product_type <> 'pwh'"}, "with `=`", id="other-operator"),
        pytest.param(
            {"filter": "product_type = 'pwh'", "product_type": "all"},
            "give one",
            id="parameter-and-filter-differ",
        ),
        pytest.param({"filter": "product_type = 'every'"}, "is one of", id="unknown-value"),
        pytest.param({"filter": "downloadable = 'yes'"}, "true or false", id="not-a-boolean"),
        pytest.param({"filter": "place = 'atlantis-sur-mer'"}, "atlantis", id="unknown-place"),
    ],
)
async def test_a_term_the_filter_cannot_take_is_a_clear_400(
    client: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    response = await client.post("/search", json=body, headers={"Accept-Language": "en"})
    assert response.status_code == 400, response.text
    assert message in response.json()["description"]


async def test_the_terms_in_the_filter_also_shape_aggregates(client: httpx.AsyncClient) -> None:
    by_parameter = await client.get(
        "/aggregate", params={"product_type": "pwh", "aggregations": "total_count"}
    )
    by_filter = await client.get(
        "/aggregate", params={"filter": "product_type = 'pwh'", "aggregations": "total_count"}
    )
    assert by_parameter.status_code == by_filter.status_code == 200, by_filter.text
    assert by_parameter.json()["aggregations"] == by_filter.json()["aggregations"]


async def test_collections_link_the_documents_of_their_licences(
    client: httpx.AsyncClient,
) -> None:
    collection = (await client.get("/collections/pleiades")).json()
    licences = [link for link in collection["links"] if link["rel"] == "license"]
    assert collection["license"] == "other"
    codes = {link["href"].rsplit("/", 1)[1] for link in licences}
    assert codes == {"charte", "pleiades-cat1", "pleiades-isis"}
    for link in licences:
        document = await client.get(local(link["href"]))
        assert document.status_code == 200
        assert document.text.startswith(link["title"])
    listed = (await client.get("/collections")).json()["collections"]
    assert all(
        any(k["rel"] == "license" for k in c["links"]) for c in listed if "dinamis:licences" in c
    )
    missing = await client.get("/registry/licences/nope")
    assert missing.status_code == 404
    assert "/registry/licences" in missing.json()["description"]


async def test_items_the_caller_may_see_tiles_of_carry_renders_and_web_map_links(
    client: httpx.AsyncClient,
    licensed: dict[str, str],
    demo_items: list[dict[str, Any]],
    storage_root: Path,
) -> None:
    stored = next(i for i in demo_items if i["collection"] == "pleiades")
    path = f"/collections/pleiades/items/{stored['id']}"
    item = (await client.get(path, headers=licensed)).json()
    assert item["properties"]["dinamis:access"] == "downloadable"
    render = item["properties"]["renders"]["natural-colour"]
    assert render["assets"] == ["data"] and render["bidx"] == [1, 2, 3]
    links = {link["rel"]: link for link in item["links"]}
    assert links["xyz"]["render"] == links["tilejson"]["render"] == "natural-colour"
    xyz = links["xyz"]["href"].format(
        **tile_inside(storage_root / stored["assets"]["data"]["href"])
    )
    tile = await client.get(local(xyz), headers=licensed)
    assert tile.status_code == 200, tile.text
    assert tile.headers["content-type"] == "image/png"
    tilejson = await client.get(local(links["tilejson"]["href"]), headers=licensed)
    assert tilejson.status_code == 200
    assert "assets=data" in tilejson.json()["tiles"][0]
    with offline_schemas():
        validate_dict(item)

    anonymous = (await client.get(path)).json()
    assert "renders" not in anonymous["properties"]
    assert not {"xyz", "tilejson"} & {link["rel"] for link in anonymous["links"]}
    assert not any("web-map-links" in s for s in anonymous["stac_extensions"])


async def test_tiles_take_titiler_pgstacs_assets_and_the_former_asset(
    client: httpx.AsyncClient, licensed: dict[str, str], demo_items: list[dict[str, Any]]
) -> None:
    stored = next(i for i in demo_items if i["collection"] == "pleiades")
    info = f"/collections/pleiades/items/{stored['id']}/info"
    by_assets = await client.get(info, params={"assets": "data"}, headers=licensed)
    by_asset = await client.get(info, params={"asset": "data"}, headers=licensed)
    by_default = await client.get(info, headers=licensed)
    assert by_assets.status_code == 200, by_assets.text
    assert by_assets.json() == by_asset.json() == by_default.json()
    two = await client.get(
        info, params=[("assets", "data"), ("assets", "overview")], headers=licensed
    )
    assert two.status_code == 400
    assert "Un seul asset" in two.json()["description"]
    docs = (await client.get("/api")).json()["paths"]
    names = {
        p["name"]
        for p in docs["/collections/{collection_id}/items/{item_id}/info"]["get"]["parameters"]
    }
    assert "assets" in names


async def test_the_landing_page_links_every_api(client: httpx.AsyncClient) -> None:
    landing = (await client.get("/")).json()
    links = {link["rel"]: link for link in landing["links"]}
    assert {"ordering", "places", "geometries", "coverage", "xyz", "alternate", "licences",
            "token", "aggregate", "aggregations", QUERYABLES, "service-doc",
            "service-desc"} <= set(links)  # fmt: skip
    assert set(links["aggregate"]["aggregations"]) >= {"total_count", "collection_frequency"}
    assert [link["rel"] for link in landing["links"]].count("aggregate") == 1
    for link in landing["links"]:
        if link.get("method", "GET") == "GET" and "{" not in link["href"]:
            query = {"q": "Montpellier"} if link["rel"] == "places" else None
            response = await client.get(
                local(link["href"]), params=query, headers={"Accept": link.get("type", "*/*")}
            )
            assert response.status_code == 200, link
    tile = await client.get(local(links["xyz"]["href"].format(z=5, x=16, y=11)))
    assert tile.status_code in (200, 204)


async def test_cors_allows_api_keys(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/search",
        headers={
            "Origin": "https://viewer.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    assert response.status_code == 200
    assert "x-api-key" in response.headers["access-control-allow-headers"].lower()


@pytest.mark.parametrize(
    ("term", "value"),
    [("product_type", "pwh"), ("place", "departement:34"), ("downloadable", "true")],
)
def test_pystac_client_searches_with_each_term_through_the_filter(
    live_url: str, term: str, value: str
) -> None:
    """pystac-client knows nothing of our terms: it says them in `filter`, as any STAC client."""
    headers = {"X-API-Key": api_key(live_url, LICENSED)} if term == "downloadable" else {}
    catalogue = Client.open(live_url, headers=headers)
    literal = value if value == "true" else f"'{value}'"
    by_filter = catalogue.search(filter=f"{term} = {literal} AND eo:cloud_cover < 60", max_items=30)
    found = [item.id for item in by_filter.items()]
    expected = httpx.get(
        f"{live_url}search",
        params={term: value, "filter": "eo:cloud_cover < 60", "limit": 30},
        headers=headers,
    ).json()
    assert found and found == [f["id"] for f in expected["features"]]
    assert by_filter.matched() == expected["numberMatched"]


def test_renders_scale_each_mission_by_its_radiometric_depth(
    demo_items: list[dict[str, Any]],
) -> None:
    """SPOT 1-5 images are 8-bit, the others 12-bit: each render (and the web-map links and
    the viewer's preview made from it) stretches its own range, not SPOT 1-5 into black."""
    for collection, white in (("spot-swh", 255), ("spot67", 4095), ("pleiades", 4095)):
        item = next(i for i in demo_items if i["collection"] == collection)
        found = item_render(item)
        assert found is not None, collection
        assert {tuple(r) for r in found[1]["rescale"]} == {(0, white)}, collection
