"""Place names: suggestions while typing, one place's outline, and the geometry behind
`place=`, from the gazetteer loaded by `dinamis db migrate`."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import httpx
import pytest
from shapely.geometry import Point, shape

from extensions.errors import InvalidSearch
from extensions.places import load_places, normalize, resolve_place
from extensions.places.sources import decode_ring, encode_ring
from pgstac.db import SEARCH_PATH, connect
from tests.oracle import expected_ids

MONTPELLIER_CENTRE = Point(3.8767, 43.6108)


async def suggestions(client: httpx.AsyncClient, q: str, limit: int = 10) -> list[dict[str, Any]]:
    response = await client.get("/places", params={"q": q, "limit": limit})
    assert response.status_code == 200, response.text
    return list(response.json()["places"])


@pytest.fixture
async def conn(database: str) -> Any:
    connection = await asyncpg.connect(database, server_settings={"search_path": SEARCH_PATH})
    try:
        yield connection
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("q", "first", "name"),
    [
        pytest.param("montp", "commune:34172", "Montpellier", id="prefix"),
        pytest.param("MONTPELLIER", "commune:34172", "Montpellier", id="upper-case"),
        pytest.param("beziers", "commune:34032", "Béziers", id="no-accent"),
        pytest.param("saint etienne", "commune:42218", "Saint-Étienne", id="no-hyphen"),
        pytest.param("St-Étienne", "commune:42218", "Saint-Étienne", id="abbreviation"),
        pytest.param(
            "l isle sur la sorgue", "commune:84054", "L'Isle-sur-la-Sorgue", id="apostrophe"
        ),
        pytest.param("Hérault", "departement:34", "Hérault", id="departement"),
        pytest.param("Occitanie", "region:76", "Occitanie", id="region"),
        pytest.param("Guyane", "region:03", "Guyane", id="overseas-region"),
        pytest.param("La Réunion", "region:04", "La Réunion", id="overseas-region-article"),
        pytest.param("reunion", "region:04", "La Réunion", id="word-inside-name"),
        pytest.param(
            "Nouvelle-Calédonie", "territory:988", "Nouvelle-Calédonie", id="collectivity"
        ),
        pytest.param("polynesie", "territory:987", "Polynésie française", id="collectivity-prefix"),
        pytest.param(
            "Saint-Pierre-et-Miquelon", "territory:975", "Saint-Pierre-et-Miquelon", id="spm"
        ),
        pytest.param("Espagne", "country:ESP", "Espagne", id="country"),
        pytest.param("Spain", "country:ESP", "Espagne", id="country-in-english"),
    ],
)
async def test_suggestions(client: httpx.AsyncClient, q: str, first: str, name: str) -> None:
    places = await suggestions(client, q)
    assert places, f"nothing for {q!r}"
    assert (places[0]["id"], places[0]["name"]) == (first, name), places[:3]


async def test_suggestion_fields(client: httpx.AsyncClient) -> None:
    (montpellier,) = await suggestions(client, "montpellier", limit=1)
    assert montpellier == {
        "id": "commune:34172",
        "name": "Montpellier",
        "kind": "commune",
        "code": "34172",
        "context": "Hérault, Occitanie",
        "population": montpellier["population"],
        "bbox": montpellier["bbox"],
    }
    assert montpellier["population"] > 250_000
    west, south, east, north = montpellier["bbox"]
    assert west < MONTPELLIER_CENTRE.x < east and south < MONTPELLIER_CENTRE.y < north
    assert east - west < 0.3 and north - south < 0.3


async def test_ranking_of_homonyms(client: httpx.AsyncClient) -> None:
    # The département before the commune of the same name.
    assert [p["id"] for p in await suggestions(client, "paris", limit=2)] == [
        "departement:75",
        "commune:75056",
    ]
    # Région and département of an overseas department, then the homonymous commune.
    ids = [p["id"] for p in await suggestions(client, "la reunion", limit=3)]
    assert ids[:2] == ["region:04", "departement:974"]
    assert ids[2].startswith("commune:")
    # The overseas collectivity, then the communes called Saint-Barthélemy, most populous first.
    places = await suggestions(client, "Saint-Barthélemy", limit=6)
    assert places[0]["id"] == "territory:977"
    communes = [p for p in places if p["kind"] == "commune" and p["name"] == "Saint-Barthélemy"]
    assert len(communes) >= 3
    populations = [p["population"] for p in communes]
    assert populations == sorted(populations, reverse=True)
    # Names that start with the text before those that merely contain a word starting with it.
    names = [p["name"] for p in await suggestions(client, "beziers", limit=5)]
    assert names[0] == "Béziers" and all("Béziers" in n for n in names)


async def test_misspelt_names_are_suggested(client: httpx.AsyncClient) -> None:
    places = await suggestions(client, "Montpelier")
    assert places[0]["id"] == "commune:34172"


async def test_suggestions_limit_and_bad_input(client: httpx.AsyncClient) -> None:
    assert len(await suggestions(client, "saint", limit=3)) == 3
    assert await suggestions(client, "--") == []
    assert await suggestions(client, "xqzwvkj") == []
    assert (await client.get("/places")).status_code == 400
    assert (await client.get("/places", params={"q": "a", "limit": 0})).status_code == 400
    assert (await client.get("/places", params={"q": "a" * 500})).status_code == 400


@pytest.mark.parametrize(
    "place_id",
    [
        pytest.param("commune:34172", id="commune"),
        pytest.param("departement:34", id="departement"),
        pytest.param("region:76", id="region"),
        pytest.param("country:FRA", id="country"),
    ],
)
async def test_place_outline(client: httpx.AsyncClient, place_id: str) -> None:
    response = await client.get(f"/places/{place_id}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    feature = response.json()
    assert feature["type"] == "Feature" and feature["id"] == place_id
    assert feature["geometry"]["type"] == "MultiPolygon"
    outline = shape(feature["geometry"])
    assert outline.is_valid
    assert outline.contains(MONTPELLIER_CENTRE)
    assert set(feature["properties"]) == {"name", "kind", "code", "context", "population"}


async def test_overseas_outlines(client: httpx.AsyncClient) -> None:
    cayenne = Point(-52.33, 4.93)
    guyane = shape((await client.get("/places/departement:973")).json()["geometry"])
    assert guyane.contains(cayenne)
    assert not guyane.contains(MONTPELLIER_CENTRE)
    noumea = Point(166.45, -22.27)
    caledonie = shape((await client.get("/places/territory:988")).json()["geometry"])
    assert caledonie.contains(noumea)


async def test_unknown_place_id(client: httpx.AsyncClient) -> None:
    for place_id in ("commune:99999", "nowhere"):
        response = await client.get(f"/places/{place_id}")
        assert response.status_code == 404
        assert place_id in response.json()["description"]
        assert "commune:34172" in response.json()["description"]


async def test_resolve_place(conn: asyncpg.Connection) -> None:
    for text in ("Montpellier", "montpellier", "commune:34172", " Commune:34172 "):
        geometry = await resolve_place(conn, text)
        assert geometry["type"] == "MultiPolygon"
        assert shape(geometry).contains(MONTPELLIER_CENTRE), text
    herault = shape(await resolve_place(conn, "Hérault"))
    assert herault.area > shape(await resolve_place(conn, "Montpellier")).area * 50
    assert shape(await resolve_place(conn, "country:fra")).contains(MONTPELLIER_CENTRE)
    assert not shape(await resolve_place(conn, "Espagne")).contains(MONTPELLIER_CENTRE)


async def test_resolve_place_errors(conn: asyncpg.Connection) -> None:
    with pytest.raises(InvalidSearch, match=r"Lieu inconnu 'xqzwvkj'.*GET /places\?q="):
        await resolve_place(conn, "xqzwvkj")
    with pytest.raises(InvalidSearch, match=r"Vouliez-vous dire : Montpellier \(commune, Hérault"):
        await resolve_place(conn, "Montpelier")
    with pytest.raises(InvalidSearch, match="Id de lieu inconnu 'commune:99999'"):
        await resolve_place(conn, "commune:99999")
    with pytest.raises(InvalidSearch, match="nomme un lieu"):
        await resolve_place(conn, " - ")


async def test_place_finds_the_items_over_it(
    client: httpx.AsyncClient, conn: asyncpg.Connection, demo_items: list[dict[str, Any]]
) -> None:
    """The acceptance: the outline of Montpellier selects exactly the items over it."""
    geometry = await resolve_place(conn, "Montpellier")
    expected = expected_ids(demo_items, geometry=geometry)
    assert expected
    response = await client.post("/search", json={"intersects": geometry, "limit": 10000})
    assert response.status_code == 200, response.text
    assert {f["id"] for f in response.json()["features"]} == expected


def test_gazetteer_is_loaded_once(database: str) -> None:
    with connect(database) as db:
        (counts,) = db.execute("SELECT counts FROM places.source").fetchone() or (None,)
    assert counts is not None
    assert counts["commune"] > 34_000
    assert counts["departement"] == 101
    assert counts["region"] == 18
    assert counts["territory"] == 8
    assert counts["country"] > 200
    started = time.monotonic()
    assert load_places(database) == []  # same sources: nothing to do
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Saint-Étienne", "saint etienne"),
        ("ST ÉTIENNE", "saint etienne"),
        ("Sainte-Mère-Église", "sainte mere eglise"),
        ("Ste Mère Église", "sainte mere eglise"),
        ("L'Haÿ-les-Roses", "l hay les roses"),
        ("Œuilly", "oeuilly"),
        ("  Provence-Alpes-Côte d'Azur ", "provence alpes cote d azur"),
        ("--", ""),
    ],
)
def test_normalize(text: str, key: str) -> None:
    assert normalize(text) == key


def test_polyline_round_trip() -> None:
    ring = [(3.8767, 43.6108), (-52.3301, 4.9372), (166.4572, -22.2758), (3.8767, 43.6108)]
    assert decode_ring(encode_ring(ring)) == ring
