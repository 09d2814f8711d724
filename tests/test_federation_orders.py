"""The OneAtlas order contract, with the real client against the simulator over real HTTP:
contracts and prices, archive orders delivered as real DIMAP products that our harvester
ingests (after which the scene leaves the commandable archive), refusals, feasibility studies,
taskings, the other outcomes, and which calls are repeated after a failure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import rasterio
from pyproj import Geod
from shapely.geometry import box, mapping, shape

from extensions.federation.client import (
    OneAtlasClient,
    UpstreamError,
    UpstreamRefused,
)
from extensions.federation.settings import OneAtlasSettings
from ingest.harvest import HarvestOptions, harvest
from ingest.sources import SourceSpec
from pgstac.db import connect
from simulators.oneatlas import SimulatorSettings
from tests.airbus import running_simulator
from tests.conftest import make_app

KEY = "order-simulator-key"
FRANCE = "-5.2,41.3,9.6,51.1"
PREFIX = "test-orders/"
DELIVERY_SECONDS = 2.0  # the simulator's default in these tests


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with running_simulator(
        SimulatorSettings(
            archive_size=1500, seed=23, api_key=KEY, delivery_seconds=DELIVERY_SECONDS
        )
    ) as url:
        yield url


def configure(upstream: str, **knobs: Any) -> None:
    defaults = {
        "failure": "none",
        "latency_ms": 0,
        "order_outcome": "delivered",
        "delivery_seconds": DELIVERY_SECONDS,
    }
    httpx.post(f"{upstream}/_simulator", json={**defaults, **knobs}).raise_for_status()


def oneatlas(url: str, **options: Any) -> OneAtlasSettings:
    values: dict[str, Any] = {
        "api_key": KEY,
        "auth_url": url,
        "search_url": url,
        "access_url": url,
        "data_url": url,
        "tasking_url": url,
        "timeout_seconds": 5.0,
        "retries": 1,
        **options,
    }
    return OneAtlasSettings(**values)


@pytest.fixture
async def client(upstream: str) -> AsyncIterator[OneAtlasClient]:
    configure(upstream)
    airbus = OneAtlasClient(oneatlas(upstream))
    yield airbus
    await airbus.close()
    configure(upstream)


async def scene(client: OneAtlasClient, constellation: str) -> dict[str, Any]:
    """The latest scene of the constellation over France in the simulated archive."""
    page = await client.search({"constellation": constellation, "bbox": FRANCE, "itemsPerPage": 1})
    feature: dict[str, Any] = page["features"][0]
    return feature


def inner_aoi(feature: dict[str, Any], half: float = 0.02) -> dict[str, Any]:
    """A small square around the scene's centre, inside it."""
    centre = shape(feature["geometry"]).centroid
    return dict(mapping(box(centre.x - half, centre.y - half, centre.x + half, centre.y + half)))


def order(feature: dict[str, Any], contract: str | None, **changes: Any) -> dict[str, Any]:
    product = {
        "id": feature["properties"]["id"],
        "productType": "pansharpened",
        "processingLevel": "ORTHO",
        "radiometricProcessing": "BASIC",
        "pixelCoding": "12bits",
        "imageFormat": "image/geotiff",
        "crsCode": "urn:ogc:def:crs:EPSG::2154",
        "aoi": inner_aoi(feature),
        **changes,
    }
    body: dict[str, Any] = {"kind": "order.data.product", "products": [product]}
    if contract:
        body["contractId"] = contract
    return body


async def until(check: Any, status: str, seconds: float = 6.0) -> dict[str, Any]:
    """Poll a status call until it says `status`."""
    deadline = time.monotonic() + seconds
    while True:
        answer: dict[str, Any] = await check()
        if answer["status"] == status or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.2)


def ingest(archive: Path, database: str) -> dict[str, Any]:
    """Harvest a delivery into the test database, as `dinamis ingest <zip>` does; its item."""
    report = harvest(
        SourceSpec(str(archive)), database, HarvestOptions(href_prefix=PREFIX, workers=1)
    )
    assert (report.loaded, report.failed, report.missing_files) == (1, 0, 0), report.failures
    with connect(database) as conn:
        row = conn.execute(
            "SELECT get_item(id, collection) FROM items WHERE id = ("
            "SELECT item_id FROM dinamis.harvested WHERE key LIKE %s ORDER BY harvested_at DESC "
            "LIMIT 1)",
            [f"{PREFIX}%"],
        ).fetchone()
    assert row is not None
    item: dict[str, Any] = row[0]
    return item


@pytest.fixture
def catalogue(database: str) -> Iterator[str]:
    """The test database, cleaned of the deliveries a test ingested."""
    yield database
    with connect(database) as conn:
        conn.execute(
            "DELETE FROM items WHERE id IN (SELECT item_id FROM dinamis.harvested "
            "WHERE key LIKE %s)",
            [f"{PREFIX}%"],
        )
        conn.execute("DELETE FROM dinamis.harvested WHERE key LIKE %s", [f"{PREFIX}%"])


def same_area(one: dict[str, Any], other: dict[str, Any]) -> bool:
    return bool(shape(one).symmetric_difference(shape(other)).area < 1e-6 * shape(other).area)


def readable(archive: Path, item: dict[str, Any]) -> tuple[int, str, Any]:
    key = item["assets"]["data"]["href"].removeprefix(PREFIX)
    with rasterio.open(f"/vsizip/{archive}/{key}") as image:
        block = image.read(1, window=((0, 16), (0, 16)))
        assert image.overviews(1) and image.profile["tiled"]
        return image.count, image.dtypes[0], (image.crs.to_epsg(), block.shape)


async def test_contracts_and_prices(client: OneAtlasClient) -> None:
    (contract,) = await client.contracts()
    assert contract["status"] == "active" and contract["id"]
    feature = await scene(client, "PHR")
    footprint = shape(feature["geometry"])
    partly_outside = box(*footprint.buffer(0.05).bounds).difference(footprint.buffer(-0.002))
    body = order(feature, None, aoi=inner_aoi(feature))
    body["products"].append({**body["products"][0], "aoi": mapping(partly_outside)})
    quote = await client.price(body)

    geod = Geod(ellps="WGS84")
    expected = [
        abs(geod.geometry_area_perimeter(shape(inner_aoi(feature)))[0]) / 1e6,
        abs(geod.geometry_area_perimeter(partly_outside.intersection(footprint))[0]) / 1e6,
    ]
    areas = [line["areaKm2"] for line in quote["products"]]
    assert areas == pytest.approx(expected, rel=1e-3) and 10 < expected[0] < 25
    assert [line["amount"] for line in quote["products"]] == pytest.approx(
        [a * 12.5 for a in expected], rel=1e-3
    )
    assert quote["price"] == {
        "amount": pytest.approx(sum(a * 12.5 for a in expected), rel=1e-3),
        "currency": "EUR",
    }


async def test_an_order_is_delivered_ingested_and_no_longer_commandable(
    client: OneAtlasClient,
    upstream: str,
    catalogue: str,
    storage_root: Path,
    demo_items: list[dict[str, Any]],
    registry_demo: list[str],
    tmp_path: Path,
) -> None:
    (contract,) = await client.contracts()
    feature = await scene(client, "SPOT")
    props = feature["properties"]
    placed = await client.place_order(order(feature, contract["id"]))
    assert placed["status"] == "ordered" and placed["deliveries"] == []
    assert placed["price"]["amount"] > 0 and placed["products"][0]["id"] == props["id"]
    assert (await client.order_status(placed["id"]))["status"] == "ordered"
    delivered = await until(lambda: client.order_status(placed["id"]), "delivered")
    assert delivered["status"] == "delivered", delivered
    (delivery,) = delivered["deliveries"]
    assert delivery["productId"] == props["id"]

    target = await client.download(delivery["_links"]["download"]["href"], tmp_path / "d.zip")
    assert target == tmp_path / "d.zip" and not (tmp_path / "d.zip.part").exists()

    app = make_app(catalogue, storage_root, oneatlas=oneatlas(upstream))
    when = datetime.fromisoformat(props["acquisitionDate"].replace("Z", "+00:00"))
    search = {
        "product_type": "commandable",
        "intersects": inner_aoi(feature, 0.005),
        "datetime": f"{(when - timedelta(minutes=1)).isoformat()}/"
        f"{(when + timedelta(minutes=1)).isoformat()}",
        "limit": 100,
    }
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api,
    ):

        async def commandable() -> set[str]:
            page = await api.post("/search", json=search)
            assert page.status_code == 200, page.text
            return {f["properties"]["oneatlas:id"] for f in page.json()["features"]}

        assert props["id"] in await commandable()
        item = ingest(target, catalogue)
        assert item["collection"] == "spot67"
        assert item["properties"]["dinamis:datastrip_id"] == props["acquisitionIdentifier"]
        assert item["properties"]["platform"] == props["platform"].replace("SPOT", "spot-")
        assert item["properties"]["eo:cloud_cover"] == pytest.approx(props["cloudCover"])
        assert item["properties"]["proj:code"] == "EPSG:2154"
        assert item["id"].startswith(f"{props['platform']}_PMS_") and "_ORT_" in item["id"]
        assert same_area(item["geometry"], inner_aoi(feature))
        assert readable(target, item) == (4, "uint16", (2154, (16, 16)))
        assert props["id"] not in await commandable()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param({"id": "no-such-scene"}, "no product 'no-such-scene'", id="unknown scene"),
        pytest.param({"aoi": "far"}, "does not intersect the footprint", id="aoi outside"),
        pytest.param({"pixelCoding": "8bits"}, "8bits pixel coding goes with DISPLAY", id="8b"),
        pytest.param(
            {"radiometricProcessing": "DISPLAY"}, "DISPLAY with 8bits only", id="display 12b"
        ),
        pytest.param({"productType": "stereo"}, "productType must be one of", id="unknown value"),
        pytest.param({"crsCode": "EPSG:2154"}, "crsCode must be an EPSG code", id="crs"),
        pytest.param({"contractId": None}, "contractId is required", id="no contract"),
        pytest.param({"contractId": "other"}, "Unknown contract 'other'", id="other contract"),
    ],
)
async def test_refusals_carry_the_upstream_message(
    client: OneAtlasClient, change: dict[str, Any], words: str
) -> None:
    (contract,) = await client.contracts()
    feature = await scene(client, "PNEO")
    changes = {k: v for k, v in change.items() if k != "contractId"}
    if changes.get("aoi") == "far":
        changes["aoi"] = mapping(box(-60.0, 10.0, -59.9, 10.1))
    body = order(feature, contract["id"], **changes)
    if "contractId" in change:
        body.pop("contractId")
        if change["contractId"]:
            body["contractId"] = change["contractId"]
    with pytest.raises(UpstreamRefused) as refused:
        await client.place_order(body)
    assert words in refused.value.upstream_message and words in str(refused.value)
    assert refused.value.upstream_status == 400


async def test_refusals_do_not_open_the_circuit(upstream: str) -> None:
    configure(upstream)
    airbus = OneAtlasClient(oneatlas(upstream, breaker_threshold=2))
    try:
        for _ in range(4):
            with pytest.raises(UpstreamRefused):
                await airbus.order_status("no-such-order")
        assert await airbus.contracts()
    finally:
        await airbus.close()


def tasking_request(
    mission: str = "PHR",
    start_days: float = 1,
    days: float = 10,
    cloud: float = 20,
    incidence: float = 30,
    mode: str = "MONO",
) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=start_days)
    return {
        "mission": mission,
        "aoi": mapping(box(3.85, 43.58, 3.92, 43.63)),  # Montpellier
        "acquisitionDate": {
            "startDate": start.isoformat().replace("+00:00", "Z"),
            "endDate": (start + timedelta(days=days)).isoformat().replace("+00:00", "Z"),
        },
        "optical": {
            "maxCloudCover": cloud,
            "maxIncidenceAngle": incidence,
            "acquisitionMode": mode,
        },
    }


async def test_feasibility(client: OneAtlasClient) -> None:
    request = tasking_request()
    study = await client.feasibility(request)
    assert study["feasible"] is True and study["reason"] is None
    passes = study["opportunities"]
    assert 3 <= len(passes) <= 10
    window = request["acquisitionDate"]
    assert all(window["startDate"] <= p["startDate"] <= window["endDate"] for p in passes)
    assert all(p["platform"] in ("PHR1A", "PHR1B") and p["incidenceAngle"] <= 30 for p in passes)
    assert (await client.feasibility(request))["opportunities"] == passes  # deterministic
    with pytest.raises(UpstreamRefused, match="maxIncidenceAngle must be a number from 0 to 60"):
        await client.feasibility(tasking_request(incidence=75))


@pytest.mark.parametrize(
    ("request_options", "words"),
    [
        pytest.param({"start_days": -10, "days": 5}, "ends in the past", id="past"),
        pytest.param({"days": 0.5}, "shorter than 1 day", id="short"),
        pytest.param({"incidence": 5}, "within 10°", id="incidence"),
        pytest.param({"cloud": 2}, "under 5 %", id="cloud"),
        pytest.param({"mode": "TRISTEREO", "days": 2}, "TRISTEREO", id="tristereo"),
    ],
)
async def test_infeasible_requests_say_why(
    client: OneAtlasClient, request_options: dict[str, Any], words: str
) -> None:
    study = await client.feasibility(tasking_request(**request_options))
    assert study["feasible"] is False and words in study["reason"]
    assert study["opportunities"] == []


async def test_a_tasking_is_acquired_then_delivered_and_ingested(
    client: OneAtlasClient, catalogue: str, tmp_path: Path
) -> None:
    (contract,) = await client.contracts()
    request = tasking_request(mission="PNEO")
    study = await client.feasibility(request)
    chosen = study["opportunities"][1]
    with pytest.raises(UpstreamRefused, match="opportunityId"):
        await client.place_tasking({**request, "contractId": contract["id"], "opportunityId": "x"})
    started = time.monotonic()
    tasking = await client.place_tasking(
        {**request, "contractId": contract["id"], "opportunityId": chosen["id"]}
    )
    assert tasking["status"] == "accepted" and tasking["segments"] == []
    if time.monotonic() - started < DELIVERY_SECONDS / 2 - 0.3:
        assert (await client.tasking_status(tasking["id"]))["status"] == "accepted"
    acquiring = await until(lambda: client.tasking_status(tasking["id"]), "in_progress")
    (segment,) = acquiring["segments"]
    assert segment["status"] == "acquired" and segment["platform"] == chosen["platform"]
    assert segment["sourceIdentifier"].startswith(f"ACQ_{chosen['platform']}_")
    assert acquiring["deliveries"] == []
    done = await until(lambda: client.tasking_status(tasking["id"]), "delivered")
    assert [s["status"] for s in done["segments"]] == ["validated"]
    (delivery,) = done["deliveries"]

    target = await client.download(delivery["_links"]["download"]["href"], tmp_path / "t.zip")
    item = ingest(target, catalogue)
    assert item["collection"] == "pleiades-neo"
    assert item["properties"]["dinamis:datastrip_id"] == segment["sourceIdentifier"]
    assert item["properties"]["datetime"][:19] == segment["acquisitionDate"][:19]
    assert item["properties"]["eo:cloud_cover"] <= 20
    assert same_area(item["geometry"], request["aoi"])
    count, dtype, (epsg, _) = readable(target, item)
    assert (count, dtype, epsg) == (4, "uint16", 32631)  # UTM 31N by default


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        ("order", "rejected"),
        ("order", "failed"),
        ("tasking", "rejected"),
        ("tasking", "failed"),
        ("tasking", "expired"),
    ],
)
async def test_other_outcomes(
    client: OneAtlasClient, upstream: str, kind: str, outcome: str
) -> None:
    configure(upstream, order_outcome=outcome, delivery_seconds=0)
    (contract,) = await client.contracts()
    if kind == "order":
        placed = await client.place_order(order(await scene(client, "SPOT"), contract["id"]))
        assert placed["status"] == "ordered"
        final = await client.order_status(placed["id"])
    else:
        placed = await client.place_tasking({**tasking_request(), "contractId": contract["id"]})
        assert placed["status"] == "accepted"
        final = await client.tasking_status(placed["id"])
        assert [s["status"] for s in final["segments"]] == (
            ["failed"] if outcome == "failed" else []
        )
    assert final["status"] == outcome and final["deliveries"] == []
    assert outcome in final["message"]


async def test_orders_are_not_placed_twice_and_reads_are_retried(upstream: str) -> None:
    sent: list[str] = []

    async def record(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.path}")

    http = httpx.AsyncClient(timeout=5, event_hooks={"request": [record]})
    airbus = OneAtlasClient(oneatlas(upstream, breaker_threshold=50), http=http)
    try:
        assert await airbus.contracts()  # the token, while the simulator answers
        feature = await scene(airbus, "SPOT")
        configure(upstream, failure="error")
        with pytest.raises(UpstreamError, match="n'a pas été renvoyée") as failed:
            await airbus.place_order(order(feature, "any"))
        assert not isinstance(failed.value, UpstreamRefused)
        with pytest.raises(UpstreamError, match="a répondu 500"):
            await airbus.price(order(feature, None))
        with pytest.raises(UpstreamError, match="a répondu 500"):
            await airbus.order_status("some-order")
        assert sent.count("POST /api/v1/orders") == 1  # a 500 may have come after the order
        assert sent.count("POST /api/v1/prices") == 2  # pricing changes nothing: retried
        assert sent.count("GET /api/v1/orders/some-order") == 2
        configure(upstream, failure="flaky")
        assert await airbus.contracts()  # one failure, then the retry
        with pytest.raises(UpstreamError, match="Ce n'est pas une livraison"):
            await airbus.download("http://169.254.169.254/latest", Path("/tmp/never"))
    finally:
        configure(upstream)
        await airbus.close()
