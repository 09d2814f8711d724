"""Searches return exactly the right items: compared id for id with tests/oracle.py."""

from __future__ import annotations

import json
from typing import Any

import httpx
import psycopg
import pytest

from tests.oracle import all_pages, expected_ids, when

Items = list[dict[str, Any]]

MONTPELLIER = [3.80, 43.55, 3.95, 43.65]
ILE_DE_FRANCE = [1.45, 48.12, 3.56, 49.24]
FRANCE = [-5.2, 41.3, 9.6, 51.1]
TRIANGLE = {  # Brittany to Burgundy to the Landes
    "type": "Polygon",
    "coordinates": [[[-4.0, 48.0], [4.5, 47.0], [-1.0, 44.0], [-4.0, 48.0]]],
}
FIVE = ["spot-swh", "spot67", "pleiades", "pleiades-pwh", "pleiades-neo"]


async def search_ids(client: httpx.AsyncClient, **params: Any) -> tuple[set[str], dict[str, Any]]:
    response = await client.get("/search", params={"limit": 10000, **params})
    assert response.status_code == 200, response.text
    payload = response.json()
    ids = [f["id"] for f in payload["features"]]
    assert len(ids) == len(set(ids)), "duplicated items"
    return set(ids), payload


async def post_ids(client: httpx.AsyncClient, **body: Any) -> set[str]:
    response = await client.post("/search", json={"limit": 10000, **body})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    return {f["id"] for f in response.json()["features"]}


@pytest.mark.parametrize(
    "bbox",
    [
        pytest.param(MONTPELLIER, id="commune"),
        pytest.param(ILE_DE_FRANCE, id="region"),
        pytest.param(FRANCE, id="france"),
        pytest.param([-54.6, 2.1, -51.5, 5.8], id="guyane"),
        pytest.param([20, 20, 21, 21], id="nowhere"),
    ],
)
async def test_bbox(client: httpx.AsyncClient, demo_items: Items, bbox: list[float]) -> None:
    expected = expected_ids(demo_items, bbox=bbox)
    ids, payload = await search_ids(client, bbox=",".join(map(str, bbox)))
    assert ids == expected
    assert payload["numberMatched"] == len(expected)
    assert await post_ids(client, bbox=bbox) == expected


async def test_intersects_get_and_post(client: httpx.AsyncClient, demo_items: Items) -> None:
    expected = expected_ids(demo_items, geometry=TRIANGLE)
    assert 20 < len(expected) < len(demo_items)
    ids, _ = await search_ids(client, intersects=json.dumps(TRIANGLE))
    assert ids == expected
    assert await post_ids(client, intersects=TRIANGLE) == expected


@pytest.mark.parametrize(
    ("datetime", "start", "end"),
    [
        pytest.param("2015-01-01T00:00:00Z/2016-06-30T23:59:59Z", "2015-01-01T00:00:00Z", "2016-06-30T23:59:59Z", id="closed"),
        pytest.param("../1992-01-01T00:00:00Z", None, "1992-01-01T00:00:00Z", id="open-start"),
        pytest.param("2024-01-01T00:00:00Z/..", "2024-01-01T00:00:00Z", None, id="open-end"),
    ],
)  # fmt: skip
async def test_datetime(
    client: httpx.AsyncClient, demo_items: Items, datetime: str, start: str | None, end: str | None
) -> None:
    expected = expected_ids(demo_items, start=start, end=end)
    assert expected
    ids, _ = await search_ids(client, datetime=datetime)
    assert ids == expected


async def test_datetime_instant_inside_an_acquisition(
    client: httpx.AsyncClient, demo_items: Items
) -> None:
    item = demo_items[42]
    instant = item["properties"]["datetime"]
    ids, _ = await search_ids(client, datetime=instant)
    assert item["id"] in ids
    assert ids == expected_ids(demo_items, start=instant, end=instant)


async def test_collections_and_ids(client: httpx.AsyncClient, demo_items: Items) -> None:
    for chosen in (["spot67"], ["pleiades", "pleiades-neo"]):
        ids, _ = await search_ids(client, collections=",".join(chosen), bbox="-5.2,41.3,9.6,51.1")
        assert ids == expected_ids(demo_items, collections=chosen, bbox=FRANCE)
    wanted = {demo_items[3]["id"], demo_items[500]["id"]}
    ids, _ = await search_ids(client, ids=",".join(wanted))
    assert ids == wanted
    assert await post_ids(client, collections="spot67", ids=sorted(wanted)) == {
        i["id"] for i in demo_items if i["id"] in wanted and i["collection"] == "spot67"
    }


CQL2_CASES = [
    pytest.param(
        "eo:cloud_cover < 10 AND platform = 'spot-4'",
        {"op": "and", "args": [
            {"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]},
            {"op": "=", "args": [{"property": "platform"}, "spot-4"]},
        ]},
        lambda p: p["eo:cloud_cover"] < 10 and p["platform"] == "spot-4",
        id="comparison",
    ),
    pytest.param(
        "platform IN ('pleiades-1a','pleiades-1b') AND view:incidence_angle <= 15",
        {"op": "and", "args": [
            {"op": "in", "args": [{"property": "platform"}, ["pleiades-1a", "pleiades-1b"]]},
            {"op": "<=", "args": [{"property": "view:incidence_angle"}, 15]},
        ]},
        lambda p: p["platform"] in ("pleiades-1a", "pleiades-1b") and p["view:incidence_angle"] <= 15,
        id="in",
    ),
    pytest.param(
        "gsd <= 1.5 AND processing:level = 'ORTHO'",
        {"op": "and", "args": [
            {"op": "<=", "args": [{"property": "gsd"}, 1.5]},
            {"op": "=", "args": [{"property": "processing:level"}, "ORTHO"]},
        ]},
        lambda p: p["gsd"] <= 1.5 and p["processing:level"] == "ORTHO",
        id="numbers-and-strings",
    ),
    pytest.param(
        "A_CONTAINS(instruments, ('naomi'))",
        {"op": "a_contains", "args": [{"property": "instruments"}, ["naomi"]]},
        lambda p: "naomi" in p["instruments"],
        id="array",
    ),
    pytest.param(
        "eo:snow_cover > 0 OR view:sun_elevation < 20",
        {"op": "or", "args": [
            {"op": ">", "args": [{"property": "eo:snow_cover"}, 0]},
            {"op": "<", "args": [{"property": "view:sun_elevation"}, 20]},
        ]},
        lambda p: p.get("eo:snow_cover", 0) > 0 or p["view:sun_elevation"] < 20,
        id="or-with-absent-property",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "cql2_json", "predicate"), CQL2_CASES)
async def test_cql2_filters(
    client: httpx.AsyncClient,
    demo_items: Items,
    text: str,
    cql2_json: dict[str, Any],
    predicate: Any,
) -> None:
    expected = expected_ids(demo_items, where=predicate)
    assert expected
    ids, _ = await search_ids(client, filter=text, **{"filter-lang": "cql2-text"})
    assert ids == expected
    ids, _ = await search_ids(client, filter=json.dumps(cql2_json), **{"filter-lang": "cql2-json"})
    assert ids == expected
    assert await post_ids(client, filter=cql2_json, **{"filter-lang": "cql2-json"}) == expected


async def test_cql2_spatial_and_identifier(client: httpx.AsyncClient, demo_items: Items) -> None:
    ids, _ = await search_ids(
        client, filter=f"S_INTERSECTS(geometry, POLYGON(({', '.join(f'{x} {y}' for x, y in TRIANGLE['coordinates'][0])})))"
    )  # fmt: skip
    assert ids == expected_ids(demo_items, geometry=TRIANGLE)
    item = demo_items[777]
    datastrip = item["properties"]["dinamis:datastrip_id"]
    ids, _ = await search_ids(client, filter=f"dinamis:datastrip_id = '{datastrip}'")
    assert ids == {item["id"]}


async def test_query_extension(client: httpx.AsyncClient, demo_items: Items) -> None:
    query = {"eo:cloud_cover": {"lt": 5}, "platform": {"eq": "spot-2"}}
    expected = expected_ids(
        demo_items, where=lambda p: p["eo:cloud_cover"] < 5 and p["platform"] == "spot-2"
    )
    ids, _ = await search_ids(client, query=json.dumps(query))
    assert ids == expected
    assert await post_ids(client, query=query) == expected


async def test_free_text_on_items(client: httpx.AsyncClient, demo_items: Items) -> None:
    expected = expected_ids(demo_items, where=lambda p: "Guyane" in p["description"])
    assert expected
    ids, _ = await search_ids(client, q="Guyane")
    assert ids == expected


async def test_sort(client: httpx.AsyncClient, demo_items: Items) -> None:
    spot67 = [i for i in demo_items if i["collection"] == "spot67"]
    response = await client.get(
        "/search",
        params={"collections": "spot67", "sortby": "-eo:cloud_cover,+datetime", "limit": 10000},
    )
    clouds = [f["properties"]["eo:cloud_cover"] for f in response.json()["features"]]
    assert clouds == sorted((i["properties"]["eo:cloud_cover"] for i in spot67), reverse=True)

    oldest = sorted(spot67, key=lambda i: when(i["properties"]["datetime"]))[:25]
    response = await client.post(
        "/search",
        json={"collections": ["spot67"], "sortby": [{"field": "properties.datetime", "direction": "asc"}], "limit": 25},
    )  # fmt: skip
    assert [f["id"] for f in response.json()["features"]] == [i["id"] for i in oldest]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_paging_visits_every_item_once(
    client: httpx.AsyncClient, demo_items: Items, method: str
) -> None:
    expected = expected_ids(demo_items, bbox=FRANCE, where=lambda p: p["eo:cloud_cover"] < 30)
    if method == "GET":
        ids, pages = await all_pages(
            client, "/search",
            params={"bbox": ",".join(map(str, FRANCE)), "filter": "eo:cloud_cover < 30", "limit": 97},
        )  # fmt: skip
    else:
        ids, pages = await all_pages(
            client, "/search",
            body={"bbox": FRANCE, "filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, 30]}, "limit": 97},
        )  # fmt: skip
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert pages == -(-len(expected) // 97)


async def test_paging_back_with_prev(client: httpx.AsyncClient) -> None:
    first = (await client.get("/search", params={"collections": "spot-swh", "limit": 10})).json()
    next_link = next(lnk for lnk in first["links"] if lnk["rel"] == "next")
    second = (await client.get(next_link["href"])).json()
    prev_link = next(lnk for lnk in second["links"] if lnk["rel"] in ("prev", "previous"))
    back = (await client.get(prev_link["href"])).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]


async def test_fields(client: httpx.AsyncClient) -> None:
    body = {
        "collections": ["spot67"],
        "limit": 3,
        "fields": {"include": ["properties.eo:cloud_cover"]},
    }
    response = await client.post("/search", json=body)
    assert response.headers["content-type"].startswith("application/geo+json")
    for feature in response.json()["features"]:
        assert set(feature) <= {"type", "id", "collection", "properties", "links"}
        assert set(feature["properties"]) == {"eo:cloud_cover"}

    default = (await client.get("/search", params={"fields": "", "limit": 1})).json()["features"][0]
    assert set(default) >= {"type", "stac_version", "id", "geometry", "bbox", "links", "assets"}
    assert set(default["properties"]) == {"datetime"}

    without = (
        await client.get("/search", params={"fields": "-geometry,-assets", "limit": 1})
    ).json()
    feature = without["features"][0]
    assert "geometry" not in feature and "assets" not in feature
    assert "eo:cloud_cover" in feature["properties"]  # only exclusions: the rest of the item

    default_less = await client.post(
        "/search", json={"limit": 1, "fields": {"include": [], "exclude": ["geometry"]}}
    )
    feature = default_less.json()["features"][0]
    assert "geometry" not in feature and set(feature["properties"]) == {"datetime"}


async def test_item_collection_and_item(client: httpx.AsyncClient, demo_items: Items) -> None:
    expected = expected_ids(demo_items, collections=["pleiades"], bbox=FRANCE)
    ids, _ = await all_pages(
        client,
        "/collections/pleiades/items",
        params={"bbox": ",".join(map(str, FRANCE)), "limit": 50},
    )
    assert set(ids) == expected

    item = next(i for i in demo_items if i["collection"] == "pleiades")
    response = await client.get(f"/collections/pleiades/items/{item['id']}")
    assert response.status_code == 200
    served = response.json()
    assert served["properties"].pop("dinamis:access") == "sign-in required"
    assert served["properties"] == item["properties"]
    assert served["geometry"] == item["geometry"]
    # Anonymous: the data asset's address says how to get it, not where the file is.
    assert served["assets"]["data"]["href"] == (
        f"http://testserver/collections/pleiades/items/{item['id']}/assets/data"
    )
    assert served["assets"]["data"]["bands"][0]["eo:common_name"] == "red"  # from item_assets


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"q": "Pléiades"}, {"pleiades", "pleiades-pwh", "pleiades-neo", "airbus-archive"},
                     id="free-text"),
        pytest.param({"datetime": "1990-01-01T00:00:00Z/1995-01-01T00:00:00Z"}, {"spot-swh"}, id="datetime"),
        pytest.param({"bbox": "3.8,43.55,3.95,43.65"}, {*FIVE, "airbus-archive"}, id="bbox"),
        pytest.param({"filter": "id = 'spot67'"}, {"spot67"}, id="filter"),
    ],
)  # fmt: skip
async def test_collection_search(
    client: httpx.AsyncClient, params: dict[str, str], expected: set[str]
) -> None:
    response = await client.get("/collections", params=params)
    assert response.status_code == 200, response.text
    assert {c["id"] for c in response.json()["collections"]} == expected


async def test_collections_page(client: httpx.AsyncClient) -> None:
    first = (await client.get("/collections", params={"limit": 2})).json()
    assert len(first["collections"]) == 2
    assert first["numberMatched"] == 6  # the five held collections and the Airbus archive
    assert any(lnk["rel"] == "next" for lnk in first["links"])


def test_a_paging_tokens_item_is_found_by_an_index(database: str) -> None:
    """pgstac finds a token's item with expressions in the "C" collation, which the ids' own
    indexes cannot serve (`get_token_record`): migration 0017's index does, so a next page
    reads no partition whole."""
    with psycopg.connect(database) as conn:
        lookup = conn.execute(
            "SELECT pg_get_functiondef('pgstac.get_token_record'::regproc)"
        ).fetchone()
        assert lookup and "id = convert_from(decode(" in lookup[0]  # what the index is for
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            "EXPLAIN SELECT * FROM pgstac.items"
            " WHERE collection = convert_from(decode(%s, 'hex'), 'UTF8')"
            " AND id = convert_from(decode(%s, 'hex'), 'UTF8')",
            [b"spot-swh".hex(), b"any".hex()],
        ).fetchall()
    lines = "\n".join(row[0] for row in plan)
    assert "Seq Scan" not in lines and "Index" in lines, lines
