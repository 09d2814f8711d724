"""The five product collections: complete, valid STAC, partitioned and indexed as declared."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml
from pystac.validation import validate_dict

from pgstac.collections import read_collections
from pgstac.db import connect
from pgstac.migrate import QUERYABLES_FILE
from tests.offline_schemas import offline_schemas

FIVE = ["spot-swh", "spot67", "pleiades", "pleiades-pwh", "pleiades-neo"]
COMMANDABLE = "airbus-archive"  # federated: searched live at Airbus, nothing stored here
LICENCES = {"charte", "spot67", "pleiades-cat1", "pleiades-isis", "pwh", "pleiades-neo"}
INDEXED = yaml.safe_load(QUERYABLES_FILE.read_text())["indexed"]


async def test_the_five_collections_are_served(client: httpx.AsyncClient) -> None:
    body = (await client.get("/collections")).json()
    assert sorted(c["id"] for c in body["collections"]) == sorted([*FIVE, COMMANDABLE])


async def test_the_commandable_collection_is_valid_stac(client: httpx.AsyncClient) -> None:
    collection = (await client.get(f"/collections/{COMMANDABLE}")).json()
    assert collection["summaries"]["order:status"] == ["orderable"]
    assert "pgstac" not in collection
    with offline_schemas():
        validate_dict(collection)


@pytest.mark.parametrize("collection_id", FIVE)
async def test_collection_is_complete_and_valid(
    client: httpx.AsyncClient, collection_id: str
) -> None:
    collection = (await client.get(f"/collections/{collection_id}")).json()
    assert collection["title"] and collection["description"]
    assert {p["name"] for p in collection["providers"]} & {
        "GEOSUD",
        "CNES",
        "SEAS-GUYANE",
        "Airbus DS",
    }
    assert set(collection["dinamis:licences"]) <= LICENCES and collection["dinamis:licences"]
    assert collection["extent"]["spatial"]["bbox"][1] == [-5.2, 41.3, 9.6, 51.1]
    assert {"platform", "constellation", "instruments", "gsd"} <= set(collection["summaries"])
    assert {"data", "thumbnail", "overview", "metadata"} <= set(collection["item_assets"])
    assert "pgstac" not in collection  # storage settings are not published
    with offline_schemas():
        validate_dict(collection)


def test_collections_file_defines_each_collection_once() -> None:
    definitions = read_collections()
    assert [d.id for d in definitions] == [*FIVE, COMMANDABLE]
    assert all(d.partition_trunc == "year" for d in definitions if d.id in FIVE)


def test_partitioning_and_indexes(database: str, demo_items: list[dict[str, Any]]) -> None:
    """Every partition of every collection has the declared queryable indexes."""
    with connect(database) as conn:
        truncs = dict(conn.execute("SELECT id, partition_trunc FROM collections").fetchall())
        rows = conn.execute("SELECT tablename, field FROM pgstac_indexes").fetchall()
        partitions = {
            name
            for (name,) in conn.execute(
                "SELECT partition FROM partitions_view WHERE collection = ANY(%s)", [FIVE]
            )
        }
    assert all(truncs[c] == "year" for c in FIVE)
    fields: dict[str, set[str]] = {}
    for partition, field in rows:
        fields.setdefault(partition, set()).add(field)
    assert len(partitions) > 30  # one per collection and year of the archive
    for partition in partitions:
        assert set(INDEXED) <= fields.get(partition, set()), partition


async def test_queryables(client: httpx.AsyncClient) -> None:
    for path in ("/queryables", "/collections/pleiades/queryables"):
        response = await client.get(path)
        assert response.status_code == 200
        properties = response.json()["properties"]
        assert set(INDEXED) <= set(properties)
        assert properties["eo:cloud_cover"]["type"] == "number"
        assert properties["instruments"]["type"] == "array"


async def test_landing_page(client: httpx.AsyncClient) -> None:
    landing = (await client.get("/")).json()
    assert landing["id"] == "dinamis-stac"
    assert landing["title"] == "DINAMIS STAC"
    assert "Pléiades" in landing["description"]
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "root", "conformance", "data", "search", "service-desc"} <= rels
    conformance = set((await client.get("/conformance")).json()["conformsTo"])
    for fragment in ("core", "collections", "ogcapi-features", "item-search", "item-search#filter",
                     "item-search#sort", "item-search#fields", "item-search#query",
                     "item-search#free-text", "collection-search"):  # fmt: skip
        assert any(c.endswith(fragment) for c in conformance), fragment


async def test_cors(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/search",
        headers={"Origin": "https://viewer.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://viewer.example")
