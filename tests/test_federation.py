"""The commandable Airbus archive, against the OneAtlas simulator over real HTTP: mapping,
order links, proxied quicklooks, deduplication against the held items, product types and
paging, and every failure mode within its bounds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from extensions.federation.settings import OneAtlasSettings
from pgstac.cluster import free_port
from simulators.oneatlas import SimulatorSettings
from tests.airbus import running_simulator
from tests.conftest import make_app

KEY = "simulator-key"
ENGLISH = {"Accept-Language": "en"}
FRANCE = "-5.2,41.3,9.6,51.1"


@pytest.fixture(scope="module")
def held_demo(demo_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Demo items held here that the simulated archive also lists (one in two)."""
    eligible = [i for i in demo_items if i["collection"] in ("spot67", "pleiades", "pleiades-neo")]
    return eligible[::2]


@pytest.fixture(scope="module")
def upstream(held_demo: list[dict[str, Any]]) -> Iterator[str]:
    with running_simulator(
        SimulatorSettings(archive_size=4000, seed=11, api_key=KEY), held_demo
    ) as url:
        yield url


def configure(upstream: str, failure: str = "none", latency_ms: int = 0) -> None:
    httpx.post(
        f"{upstream}/_simulator", json={"failure": failure, "latency_ms": latency_ms}
    ).raise_for_status()


def upstream_search(upstream: str, query: dict[str, Any]) -> dict[str, Any]:
    """A search of the simulator itself, as an Airbus client would make it."""
    token = httpx.post(
        f"{upstream}/auth/realms/IDP/protocol/openid-connect/token",
        data={"apikey": KEY, "grant_type": "api_key", "client_id": "IDP"},
    ).json()["access_token"]
    page: dict[str, Any] = httpx.post(
        f"{upstream}/api/v2/opensearch", json=query, headers={"Authorization": f"Bearer {token}"}
    ).json()
    return page


def oneatlas(url: str, **options: Any) -> OneAtlasSettings:
    values: dict[str, Any] = {
        "api_key": KEY,
        "auth_url": url,
        "search_url": url,
        "access_url": url,
        "timeout_seconds": 2.0,
        "retries": 1,
        "breaker_threshold": 50,
        **options,
    }
    return OneAtlasSettings(**values)


@pytest.fixture
async def federated(
    database: str,
    storage_root: Path,
    demo_items: list[dict[str, Any]],
    registry_demo: list[str],
    upstream: str,
) -> AsyncIterator[httpx.AsyncClient]:
    configure(upstream)
    app = make_app(database, storage_root, oneatlas=oneatlas(upstream))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        yield http
    configure(upstream)


async def test_commandable_items_are_orderable_with_a_reachable_thumbnail(
    federated: httpx.AsyncClient,
) -> None:
    found = await federated.get(
        "/search", params={"product_type": "commandable", "bbox": FRANCE, "limit": 20}
    )
    assert found.status_code == 200, found.text
    page = found.json()
    assert page["numberReturned"] == len(page["features"]) > 0 and page["numberMatched"] >= len(
        page["features"]
    )
    for item in page["features"]:
        assert item["collection"] == "airbus-archive"
        assert item["properties"]["order:status"] == "orderable"
        assert item["properties"]["constellation"] in ("spot", "pleiades", "pleiades-neo")
        order = next(link for link in item["links"] if link["rel"] == "order")
        assert (
            order["href"].endswith("/orders")
            and "/ordering/products/airbus-archive-" in order["href"]
        )
        assert {"thumbnail", "overview"} <= set(item["assets"])  # `_links` objects or arrays alike
    thumbnail = await federated.get(page["features"][0]["assets"]["thumbnail"]["href"])
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.content[:2] == b"\xff\xd8"
    forged = await federated.get(
        "/federation/oneatlas/image", params={"href": "http://169.254.169.254/", "sig": "x"}
    )
    assert forged.status_code == 403


async def test_scenes_held_here_are_never_commandable(
    federated: httpx.AsyncClient, held_demo: list[dict[str, Any]], upstream: str, database: str
) -> None:
    held_ids = {i["properties"]["dinamis:datastrip_id"] for i in held_demo}
    direct = upstream_search(
        upstream, {"acquisitionIdentifier": ",".join(held_ids), "itemsPerPage": 500}
    )
    assert direct["totalResults"] == len(held_ids) > 0  # the upstream does list them
    seen: set[str] = set()
    body: dict[str, Any] = {"product_type": "commandable", "limit": 500}
    for _ in range(20):
        page = (await federated.post("/search", json=body)).json()
        seen |= {f["properties"]["dinamis:datastrip_id"] for f in page["features"]}
        following = next((link for link in page["links"] if link["rel"] == "next"), None)
        if following is None:
            break
        body = {**body, **following["body"]}
    assert seen and not seen & held_ids
    with psycopg.connect(database) as conn:
        held = conn.execute(
            "SELECT count(*) FROM pgstac.items WHERE content->'properties'->>'dinamis:datastrip_id' = ANY(%s)",
            (list(seen),),
        ).fetchone()
    assert held == (0,)


async def test_commandable_pages_are_full_and_page_through_once(
    federated: httpx.AsyncClient, held_demo: list[dict[str, Any]]
) -> None:
    """Issue 17, point 18: the scenes held here, removed after paging, left short or empty
    pages (limit=1 gave 0 features and a next link). A page holds `limit` scenes while more
    exist; paging forward then back neither skips nor repeats one."""
    area = {"bbox": "-5.2,41.3,9.6,51.1", "product_type": "commandable"}
    held_ids = {i["properties"]["dinamis:datastrip_id"] for i in held_demo}
    everything = (await federated.get("/search", params={**area, "limit": 500})).json()
    expected = [f["id"] for f in everything["features"]]
    assert len(expected) > 40
    assert not {f["properties"]["dinamis:datastrip_id"] for f in everything["features"]} & held_ids
    for limit in (1, 3, 5, 10):
        first = (await federated.get("/search", params={**area, "limit": limit})).json()
        assert [f["id"] for f in first["features"]] == expected[:limit], limit

    pages: list[list[str]] = []
    url: str | None = "/search?" + "&".join(f"{k}={v}" for k, v in {**area, "limit": 7}.items())
    while url is not None and len(pages) < 8:
        page = (await federated.get(url)).json()
        pages.append([f["id"] for f in page["features"]])
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert [len(p) for p in pages] == [7] * 8
    assert [scene for page_ids in pages for scene in page_ids] == expected[:56]
    for index in range(7, 0, -1):  # back, page by page, from the eighth
        url = next(link["href"] for link in page["links"] if link["rel"] == "previous")
        page = (await federated.get(url)).json()
        assert [f["id"] for f in page["features"]] == pages[index - 1], index
    assert not any(link["rel"] == "previous" for link in page["links"])


async def test_product_types_split_held_and_commandable(federated: httpx.AsyncClient) -> None:
    def collections(page: dict[str, Any]) -> set[str]:
        return {f["collection"] for f in page["features"]}

    base = {"bbox": FRANCE, "limit": 50}
    downloadable = (await federated.get("/search", params=base)).json()
    assert collections(downloadable) and "airbus-archive" not in collections(downloadable)
    pwh = (await federated.get("/search", params={**base, "product_type": "pwh"})).json()
    assert collections(pwh) == {"pleiades-pwh"}
    commandable = (
        await federated.get("/search", params={**base, "product_type": "commandable"})
    ).json()
    assert collections(commandable) == {"airbus-archive"}
    as_collection = (
        await federated.get("/collections/airbus-archive/items", params={"limit": 5})
    ).json()
    assert collections(as_collection) == {"airbus-archive"}
    one = as_collection["features"][0]
    item = await federated.get(f"/collections/airbus-archive/items/{one['id']}")
    assert item.status_code == 200 and item.json()["id"] == one["id"]

    # all: the held items first, then the commandable ones, the tokens carrying on.
    url: str | None = "/search?" + "&".join(
        f"{k}={v}" for k, v in {**base, "product_type": "all", "limit": 500}.items()
    )
    order: list[str] = []
    for _ in range(30):
        assert url is not None
        page = (await federated.get(url)).json()
        order += [f["collection"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        if "airbus-archive" in order:
            break
    first = order.index("airbus-archive")
    assert (
        first > 0
        and "airbus-archive" not in order[:first]
        and set(order[first:]) == {"airbus-archive"}
    )


async def test_counts_of_both_archives_agree(federated: httpx.AsyncClient) -> None:
    """numberMatched and /aggregate's total agree for every product type, `all` included (on
    its held pages and on its Airbus pages)."""
    area = {"bbox": "3.5,43.4,4.2,43.9"}
    for kind in ("downloadable", "commandable", "pwh", "all"):
        params = {**area, "product_type": kind, "limit": 5}
        page = (await federated.get("/search", params=params)).json()
        aggregate = await federated.get(
            "/aggregate", params={**params, "aggregations": "total_count,collection_frequency"}
        )
        assert aggregate.status_code == 200, aggregate.text
        total, by_collection = aggregate.json()["aggregations"]
        assert page["numberMatched"] == total["value"], kind
        assert sum(b["frequency"] for b in by_collection["buckets"]) == total["value"], kind
    token_page = (
        await federated.get("/search", params={**area, "product_type": "all", "token": "airbus:0"})
    ).json()
    assert token_page["numberMatched"] == page["numberMatched"]


async def test_a_place_searches_both_archives(federated: httpx.AsyncClient) -> None:
    """`place` is the area of the Airbus archive's search too, and of its count."""
    for kind in ("commandable", "all"):
        params = {"place": "Hérault", "product_type": kind, "limit": 50}
        page = await federated.get("/search", params=params)
        assert page.status_code == 200, page.text
        commandable = [f for f in page.json()["features"] if f["collection"] == "airbus-archive"]
        assert commandable or kind == "all", kind
        for feature in commandable:  # every scene crosses the département's box
            west, south, east, north = feature["bbox"]
            assert west < 4.2 and east > 2.5 and south < 44.0 and north > 42.6, feature["id"]
        aggregate = await federated.get(
            "/aggregate", params={**params, "aggregations": "total_count"}
        )
        assert aggregate.status_code == 200, aggregate.text
        assert aggregate.json()["aggregations"][0]["value"] == page.json()["numberMatched"]


async def test_filters_reach_the_archive_or_are_refused(federated: httpx.AsyncClient) -> None:
    clear = await federated.post(
        "/search",
        json={
            "product_type": "commandable",
            "limit": 100,
            "filter": {
                "op": "and",
                "args": [
                    {"op": "<=", "args": [{"property": "eo:cloud_cover"}, 10]},
                    {"op": "=", "args": [{"property": "constellation"}, "pleiades"]},
                ],
            },
            "datetime": "2019-01-01T00:00:00Z/2023-12-31T23:59:59Z",
        },
    )
    assert clear.status_code == 200, clear.text
    items = clear.json()["features"]
    assert items and all(i["properties"]["eo:cloud_cover"] <= 10 for i in items)
    assert {i["properties"]["constellation"] for i in items} == {"pleiades"}
    assert all("2019" <= i["properties"]["datetime"][:4] <= "2023" for i in items)
    refused = await federated.post(
        "/search",
        json={
            "product_type": "commandable",
            "filter": {"op": "like", "args": [{"property": "id"}, "X%"]},
        },
    )
    assert refused.status_code == 400 and "archive Airbus" in refused.json()["description"]
    beyond = await federated.get(
        "/search", params={"product_type": "commandable", "limit": 500, "token": "airbus:10000"}
    )
    assert beyond.status_code == 400 and "premiers résultats" in beyond.json()["description"]
    bad = await federated.get("/search", params={"product_type": "later"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("failure", "status", "words"),
    [
        ("error", 502, "500"),
        ("garbage", 502, "answered something"),
        ("refuse", 502, "API key"),
        ("slow", 504, "did not answer within 2 s"),
    ],
)
async def test_upstream_failures_are_clear_and_bounded(
    federated: httpx.AsyncClient, upstream: str, failure: str, status: int, words: str
) -> None:
    configure(upstream, failure)
    started = time.monotonic()
    response = await federated.get(
        "/search", params={"product_type": "commandable", "limit": 5}, headers=ENGLISH
    )
    took = time.monotonic() - started
    assert response.status_code == status, response.text
    assert words in response.json()["description"]
    assert took < 2.5  # the configured timeout, retries included
    # Held items are never held back.
    local = await federated.get("/search", params={"limit": 5, "product_type": "all"})
    assert local.status_code == 200 and local.json()["features"]


async def test_a_dead_upstream_opens_the_circuit(
    database: str,
    storage_root: Path,
    demo_items: list[dict[str, Any]],
    registry_demo: list[str],
    upstream: str,
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = oneatlas(closed, breaker_threshold=2, breaker_seconds=1.5, retries=0)
    app = make_app(database, storage_root, oneatlas=settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        for _ in range(2):
            down = await http.get("/search", params={"product_type": "commandable"})
            assert down.status_code == 502 and "injoignable" in down.json()["description"]
        started = time.monotonic()
        opened = await http.get("/search", params={"product_type": "commandable"})
        assert opened.status_code == 502 and "plus interrogée" in opened.json()["description"]
        assert time.monotonic() - started < 0.2
        await asyncio.sleep(1.6)  # the circuit lets one search try again
        again = await http.get("/search", params={"product_type": "commandable"})
        assert "injoignable" in again.json()["description"]


async def test_without_a_key_the_archive_says_so(
    database: str, storage_root: Path, demo_items: list[dict[str, Any]], registry_demo: list[str]
) -> None:
    app = make_app(database, storage_root, oneatlas=OneAtlasSettings())
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        response = await http.get("/collections/airbus-archive/items")
        assert response.status_code == 503 and "pas configurée" in response.json()["description"]
        assert (await http.get("/search", params={"limit": 1})).status_code == 200


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("[0,10]", 10, True),
        ("[0,10[", 10, False),
        ("]0,10]", 0, False),
        ("]0,10]", 0.1, True),
        ("[5", 100, True),
        ("[5", 4, False),
        ("5", 5, True),
        ("5", 6, False),
        (",10]", 3, True),
    ],
)
def test_the_simulator_reads_oneatlas_ranges(text: str, value: float, expected: bool) -> None:
    from simulators.oneatlas import range_test

    assert range_test(text, float)(value) is expected


def test_searches_become_oneatlas_ranges() -> None:
    from stac_fastapi.api.models import create_post_request_model
    from stac_fastapi.pgstac.extensions import QueryExtension

    from extensions.federation.stac import acquisition_range, to_query
    from stac_api.search import DinamisSearch

    assert acquisition_range("2020-01-01T00:00:00Z/..") == "[2020-01-01T00:00:00Z"
    assert (
        acquisition_range("../2020-01-01T00:00:00Z")
        == "[1986-01-01T00:00:00Z,2020-01-01T00:00:00Z]"
    )
    model = create_post_request_model([QueryExtension()], base_model=DinamisSearch)
    search = model.model_validate(
        {"bbox": [1, 43, 2, 44], "query": {"eo:cloud_cover": {"gt": 5, "lte": 20}}}
    )
    query = to_query(search, 50, 2)
    assert (query["bbox"], query["cloudCover"], query["startPage"]) == (
        "1,43,2,44",
        "]5,20]",
        2,
    )
