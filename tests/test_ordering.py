"""The ordering desk: projects, archive and tasking requests through their whole workflow
against the OneAtlas simulator over real HTTP, delivered by the job queue into the catalogue;
option constraints, areas, quotas, roles, illegal transitions and messages."""

from __future__ import annotations

import asyncio
import io
import re
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from babel.numbers import format_decimal

from extensions.jobs import JobSettings
from simulators.oneatlas import SimulatorSettings
from tests.airbus import running_simulator
from tests.conftest import make_app
from tests.registry import INSTRUCTOR, bearer, mails
from tests.test_federation import KEY, oneatlas

BRUCE = "bruce.wayne@formation.example"
JANE = "jane.doe@formation.example"
SANS_PLEIADES = "sans.pleiades@autre.example"
MONTPELLIER = [3.8, 43.55, 3.95, 43.65]
HERAULT = [3.0, 43.0, 4.5, 44.0]  # around Montpellier, where the small test archive has scenes


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    with running_simulator(
        SimulatorSettings(archive_size=3000, seed=23, api_key=KEY, delivery_seconds=2)
    ) as url:
        yield url


def outcome(url: str, value: str = "delivered") -> None:
    httpx.post(
        f"{url}/_simulator", json={"order_outcome": value, "delivery_seconds": 2}
    ).raise_for_status()


@pytest.fixture(scope="module")
async def desk(
    database: str,
    storage_root: Path,
    demo_items: list[dict[str, Any]],
    registry_demo: list[str],
    simulator: str,
) -> AsyncIterator[httpx.AsyncClient]:
    """The product against the simulator, with its own job worker polling every second."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DINAMIS_ORDERING_POLL_SECONDS", "1")
    settings = oneatlas(simulator, data_url=simulator, tasking_url=simulator, timeout_seconds=10.0)
    app = make_app(database, storage_root, oneatlas=settings, jobs=JobSettings())
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as http,
        ):
            yield http
    finally:
        mp.undo()
        with psycopg.connect(
            database, autocommit=True, options="-c search_path=pgstac,public"
        ) as conn:
            # The deliveries still catalogued: another module's desk removed its own already.
            for collection, item in conn.execute(
                "SELECT d->>'collection', d->>'id' FROM ordering.requests, "
                "jsonb_array_elements(delivered) d WHERE EXISTS (SELECT 1 FROM pgstac.items i "
                "WHERE i.id = d->>'id' AND i.collection = d->>'collection')"
            ).fetchall():
                conn.execute("SELECT pgstac.delete_item(%s, %s)", [item, collection])


async def headers(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    return await bearer(http, email)


async def new_project(http: httpx.AsyncClient, who: str = BRUCE, **fields: Any) -> str:
    body = {
        "title": "Suivi du littoral héraultais",
        "kind": "SCI",
        "themes": ["Littoral", "Biodiversité"],
        "end_date": (datetime.now(UTC).date() + timedelta(days=300)).isoformat(),
        "description": "Suivi du trait de côte entre Sète et La Grande-Motte.",
        "objectives": "Cartographier l'érosion.",
        **fields,
    }
    response = await http.post("/ordering/projects", json=body, headers=await headers(http, who))
    assert response.status_code == 201, response.text
    assert response.headers["location"].endswith(f"/ordering/projects/{response.json()['id']}")
    project_id: str = response.json()["id"]
    return project_id


async def commandable(
    http: httpx.AsyncClient, constellation: str, bbox: list[float] = HERAULT
) -> dict[str, Any]:
    page = (
        await http.post(
            "/search", json={"collections": ["airbus-archive"], "bbox": bbox, "limit": 100}
        )
    ).json()
    scenes = [f for f in page["features"] if f["properties"]["constellation"] == constellation]
    assert scenes, f"no {constellation} scene over {bbox}"
    return scenes[0]


def archive_body(project_id: str, scene_id: str, **options: Any) -> dict[str, Any]:
    return {"order_parameters": {"project_id": project_id, "item_ids": [scene_id], **options}}


async def order(
    http: httpx.AsyncClient, product: str, body: dict[str, Any], who: str = BRUCE
) -> httpx.Response:
    return await http.post(
        f"/ordering/products/{product}/orders", json=body, headers=await headers(http, who)
    )


async def act(
    http: httpx.AsyncClient, order_id: str, action: str, who: str, reason: str | None = None
) -> httpx.Response:
    return await http.post(
        f"/ordering/orders/{order_id}/actions/{action}",
        json={"reason": reason} if reason else None,
        headers=await headers(http, who),
    )


async def wait_for(
    http: httpx.AsyncClient, order_id: str, statuses: set[str], seconds: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    auth = await headers(http, BRUCE)
    while True:
        found: dict[str, Any] = (
            await http.get(f"/ordering/orders/{order_id}", headers=auth)
        ).json()
        if found["properties"]["status"]["status_code"] in statuses:
            return found
        assert time.monotonic() < deadline, found["properties"]["status"]
        await asyncio.sleep(0.5)


# -- products, options, areas ------------------------------------------------------------------


async def test_products_and_their_parameters(desk: httpx.AsyncClient) -> None:
    landing = (await desk.get("/ordering")).json()
    assert {"products", "orders", "conformance"} <= {link["rel"] for link in landing["links"]}
    products = {p["id"]: p for p in (await desk.get("/ordering/products")).json()["products"]}
    assert set(products) == {
        f"airbus-{k}-{s}"
        for k in ("archive", "tasking")
        for s in ("spot", "pleiades", "pleiades-neo")
    }
    schema = (await desk.get("/ordering/products/airbus-tasking-pleiades/order-parameters")).json()
    assert {"pixel_coding", "radiometric_processing", "max_cloud_cover", "acquisition_mode"} <= set(
        schema["properties"]
    )
    assert (await desk.get("/ordering/products/nope")).status_code == 404


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pixel_coding": "8bits", "radiometric_processing": "reflectance"}, "8 bits"),
        ({"pixel_coding": "12bits", "radiometric_processing": "display"}, "12 bits"),
        ({"projection": "EPSG:9999"}, "Projection"),
        ({"processing_level": "ortho", "dem": None}, "MNT"),
        ({"image_format": "PNG"}, "image_format"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_each_option_constraint_is_refused(
    desk: httpx.AsyncClient, options: dict[str, Any], message: str
) -> None:
    project = await new_project(desk)
    response = await order(desk, "airbus-archive-pleiades", archive_body(project, "x", **options))
    assert response.status_code == 400, response.text
    assert message in response.json()["description"]


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[3.8, 43.5], [3.9, 43.6], [3.9, 43.5], [3.8, 43.6], [3.8, 43.5]]],
}


@pytest.mark.parametrize(
    ("area", "message"),
    [
        ({"geometry": BOWTIE}, "pas un polygone valide"),
        ({"geometry": {"type": "Point", "coordinates": [3.8, 43.6]}}, "polygon"),
        ({"bbox": [3.87, 43.6, 3.88, 43.61]}, "commence à"),
        ({"bbox": [-5, 41, 9, 51]}, "au-delà des"),
        ({"bbox": [3.9, 43.6, 3.8, 43.7]}, "ouest < est"),
        ({}, "manque"),
    ],
)
async def test_bad_areas_are_refused(
    desk: httpx.AsyncClient, area: dict[str, Any], message: str
) -> None:
    project = await new_project(desk)
    start = datetime.now(UTC) + timedelta(days=5)
    body = {
        "datetime": f"{start.isoformat()}/{(start + timedelta(days=20)).isoformat()}",
        "order_parameters": {"project_id": project},
        **area,
    }
    response = await order(desk, "airbus-tasking-pleiades", body)
    assert response.status_code == 400, response.text
    assert message in response.json()["description"]
    assert set(response.json()["fields"]) == {"bbox" if "bbox" in area else "geometry"}


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>Étang de Thau</name><Polygon>
<outerBoundaryIs><LinearRing><coordinates>3.55,43.35 3.75,43.35 3.75,43.47 3.55,43.47 3.55,43.35</coordinates>
</LinearRing></outerBoundaryIs></Polygon></Placemark></kml>"""


def zipped_shapefile(folder: Path) -> bytes:
    """A shapefile in Lambert-93 (EPSG:2154), zipped as users send them."""
    import numpy as np
    import pyogrio
    import shapely
    from pyproj import Transformer

    to_lambert = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    square = shapely.transform(
        shapely.box(3.8, 43.55, 3.95, 43.65),
        lambda xy: np.column_stack(to_lambert.transform(*xy.T)),
    )
    path = folder / "zone.shp"
    pyogrio.raw.write(
        path,
        geometry=np.array([shapely.to_wkb(square)], dtype=object),
        field_data=[np.array([1])],
        fields=["id"],
        geometry_type="Polygon",
        crs="EPSG:2154",
        driver="ESRI Shapefile",
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in folder.glob("zone.*"):
            archive.write(part, part.name)
    return buffer.getvalue()


async def test_area_files(desk: httpx.AsyncClient, tmp_path: Path) -> None:
    auth = await headers(desk, BRUCE)
    geojson = b'{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[3.8, 43.55], [3.95, 43.55], [3.95, 43.65], [3.8, 43.65], [3.8, 43.55]]]}}'
    areas = {}
    for name, content in (
        ("zone.geojson", geojson),
        ("zone.kml", KML.encode()),
        ("zone.zip", zipped_shapefile(tmp_path)),
    ):
        response = await desk.post("/ordering/aoi", files={"file": (name, content)}, headers=auth)
        assert response.status_code == 200, (name, response.text)
        areas[name] = response.json()["area_km2"]
    assert areas["zone.geojson"] == pytest.approx(133.6, rel=0.02)  # 0.15° × 0.1° at 43.6° N
    assert areas["zone.zip"] == pytest.approx(areas["zone.geojson"], rel=0.001)
    assert areas["zone.kml"] == pytest.approx(216, rel=0.02)  # 0.2° × 0.12° at 43.4° N
    for name, content, status in (
        ("zone.geojson", b"{not json", 400),
        ("zone.zip", b"PK broken", 400),
        ("zone.exe", b"MZ", 415),
        ("zone.kml", b"<kml></kml>", 400),
    ):
        response = await desk.post("/ordering/aoi", files={"file": (name, content)}, headers=auth)
        assert response.status_code == status, (name, response.text)
        assert response.json()["description"]


# -- the archive path --------------------------------------------------------------------------


async def test_archive_request_from_scene_to_download(
    desk: httpx.AsyncClient, simulator: str
) -> None:
    outcome(simulator)
    project = await new_project(desk)
    scene = await commandable(desk, "pleiades")
    link = next(lnk for lnk in scene["links"] if lnk["rel"] == "order")
    assert link["href"].endswith("/ordering/products/airbus-archive-pleiades/orders")
    refused = await order(
        desk, "airbus-archive-pleiades", archive_body(project, scene["id"]), SANS_PLEIADES
    )
    assert refused.status_code in (403, 404), refused.text  # not their project, nor their licence
    wrong = await order(desk, "airbus-archive-spot", archive_body(project, scene["id"]))
    assert wrong.status_code == 400 and "bon produit" in wrong.json()["description"]

    filed = await order(desk, "airbus-archive-pleiades", archive_body(project, scene["id"]))
    assert filed.status_code == 201, filed.text
    order_id = filed.json()["id"]
    assert filed.headers["location"].endswith(f"/ordering/orders/{order_id}")
    assert order_id.startswith(f"{project}-{datetime.now(UTC).year}-A-") and order_id.endswith(
        "-PLEIADES"
    )
    props = filed.json()["properties"]
    assert props["status"]["status_code"] == "received" and props["dinamis:area_km2"] > 25
    assert (await act(desk, order_id, "accept", BRUCE)).status_code == 403
    accepted = await act(desk, order_id, "accept", INSTRUCTOR)
    assert accepted.status_code == 200, accepted.text

    done = await wait_for(desk, order_id, {"completed", "failed"})
    assert done["properties"]["status"]["status_code"] == "completed", done["properties"]["status"]
    (delivered,) = done["properties"]["dinamis:delivered"]
    assert delivered["collection"] == "pleiades"
    statuses = [
        s["status_code"]
        for s in (
            await desk.get(
                f"/ordering/orders/{order_id}/statuses", headers=await headers(desk, BRUCE)
            )
        ).json()["statuses"]
    ]
    assert statuses == ["completed", "processing", "accepted", "received"]

    for who in (BRUCE, JANE):  # every member of an entity holding the licence
        item = (
            await desk.get(
                f"/collections/pleiades/items/{delivered['id']}", headers=await headers(desk, who)
            )
        ).json()
        assert item["properties"]["dinamis:access"] == "downloadable"
        data = await desk.get(item["assets"]["data"]["href"], headers={"Range": "bytes=0-3"})
        assert data.status_code in (200, 206) and data.content[:2] in (b"II", b"MM")
    again = await desk.post(
        "/search", json={"collections": ["airbus-archive"], "ids": [scene["id"]]}
    )
    assert again.json()["features"] == []  # no longer commandable
    quota = next(
        q
        for q in (await desk.get("/ordering/quotas", headers=await headers(desk, BRUCE))).json()[
            "quotas"
        ]
        if q["family"] == "PLEIADES"
    )
    assert quota["used_km2"] >= props["dinamis:area_km2"]
    subjects = [m["subject"] for m in await mails(desk, BRUCE) if order_id in m["subject"]]
    assert len(subjects) >= 4  # received, accepted, processing, completed


async def test_tasking_request_from_feasibility_to_delivery(
    desk: httpx.AsyncClient, simulator: str
) -> None:
    outcome(simulator)
    project = await new_project(desk)
    start = datetime.now(UTC) - timedelta(hours=1)
    window = f"{start.isoformat()}/{(start + timedelta(days=30)).isoformat()}"
    area = {"bbox": MONTPELLIER, "datetime": window}
    feasible = await desk.post(
        "/ordering/products/airbus-tasking-pleiades/opportunities",
        json={**area, "max_cloud_cover": 20},
        headers=await headers(desk, BRUCE),
    )
    assert feasible.status_code == 200, feasible.text
    assert feasible.json()["dinamis:feasible"] and feasible.json()["features"]
    body = {**area, "order_parameters": {"project_id": project, "acquisition_mode": "stereo"}}
    filed = await order(desk, "airbus-tasking-pleiades", body)
    assert filed.status_code == 201, filed.text
    order_id = filed.json()["id"]
    assert "-P-" in order_id
    assert (await act(desk, order_id, "accept", INSTRUCTOR)).status_code == 200
    done = await wait_for(desk, order_id, {"completed", "failed"})
    assert done["properties"]["status"]["status_code"] == "completed", done["properties"]["status"]
    assert done["properties"]["dinamis:segments"]
    history = (
        await desk.get(f"/ordering/orders/{order_id}/statuses", headers=await headers(desk, BRUCE))
    ).json()
    assert [s["status_code"] for s in reversed(history["statuses"])] == [
        "received",
        "accepted",
        "tasked",
        "processing",
        "completed",
    ]


async def test_a_failed_order_releases_the_quota_and_can_be_retried(
    desk: httpx.AsyncClient, simulator: str
) -> None:
    outcome(simulator, "failed")
    project = await new_project(desk)
    scene = await commandable(desk, "spot")
    filed = await order(desk, "airbus-archive-spot", archive_body(project, scene["id"]))
    order_id = filed.json()["id"]
    await act(desk, order_id, "accept", INSTRUCTOR)
    failed = await wait_for(desk, order_id, {"failed", "completed"})
    assert failed["properties"]["status"]["status_code"] == "failed"
    assert failed["properties"]["dinamis:quota_state"] == "released"
    outcome(simulator)
    assert (await act(desk, order_id, "retry", INSTRUCTOR)).status_code == 200
    assert (await wait_for(desk, order_id, {"completed"}))["properties"][
        "dinamis:quota_state"
    ] == "debited"


# -- workflow rules, quotas, messages ------------------------------------------------------------


async def filed_tasking(desk: httpx.AsyncClient, project: str | None = None) -> str:
    project = project or await new_project(desk)
    start = datetime.now(UTC) + timedelta(days=3)
    body = {
        "bbox": MONTPELLIER,
        "datetime": f"{start.isoformat()}/{(start + timedelta(days=30)).isoformat()}",
        "order_parameters": {"project_id": project},
    }
    response = await order(desk, "airbus-tasking-spot", body)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    return order_id


async def test_the_estimate_is_what_filing_applies(desk: httpx.AsyncClient) -> None:
    """The forms' live numbers (area, free quota left, price) are those of the request filed
    next: the same area, the same quota, the same over-quota verdict."""
    auth = await headers(desk, BRUCE)
    project = await new_project(desk)
    bbox = ",".join(map(str, MONTPELLIER))
    tasking = "/ordering/products/airbus-tasking-spot/estimate"
    shown = await desk.get(tasking, params={"bbox": bbox, "project_id": project}, headers=auth)
    assert shown.status_code == 200, shown.text
    estimate = shown.json()
    assert estimate["quota"]["family"] == "SPOT" and estimate["minimum_km2"] == 100
    assert estimate["price"] == (
        {"amount": 0.0, "currency": "EUR"} if not estimate["over_quota"] else None
    )
    filed = (
        await desk.get(f"/ordering/orders/{await filed_tasking(desk, project)}", headers=auth)
    ).json()["properties"]
    assert filed["dinamis:area_km2"] == estimate["area_km2"] > 100
    assert filed["dinamis:over_quota"] == estimate["over_quota"]
    quotas = (await desk.get("/ordering/quotas", headers=auth)).json()["quotas"]
    assert estimate["quota"] in quotas  # the quota shown is the entity's own row

    scene = await commandable(desk, "pleiades")
    west, south, east, north = scene["bbox"]
    corner = [west, south, (west + east) / 2, (south + north) / 2]
    bbox = ",".join(map(str, corner))
    archive = "/ordering/products/airbus-archive-pleiades/estimate"
    cut = (
        await desk.get(archive, params={"item_ids": scene["id"], "bbox": bbox}, headers=auth)
    ).json()
    whole = (await desk.get(archive, params={"item_ids": scene["id"]}, headers=auth)).json()
    assert 0 < cut["area_km2"] < whole["area_km2"]
    response = await order(
        desk, "airbus-archive-pleiades", {**archive_body(project, scene["id"]), "bbox": corner}
    )
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["dinamis:area_km2"] == cut["area_km2"]


@pytest.mark.parametrize(
    ("product", "params", "expected", "says"),
    [
        ("airbus-tasking-spot", {}, 400, "zone d'intérêt manque"),
        ("airbus-tasking-spot", {"bbox": "3.8,43.5,abc,43.6"}, 400, "séparés par des virgules"),
        ("airbus-tasking-spot", {"bbox": "3.9,43.5,3.8,43.6"}, 400, "ouest < est"),
        ("airbus-archive-spot", {"bbox": "3.8,43.5,3.9,43.6"}, 400, "1 à 20 scènes"),
        ("airbus-archive-spot", {"item_ids": "inexistante"}, 400, "archive Airbus"),
        ("airbus-tasking-spot", {"bbox": "3.8,43.5,3.9,43.6", "project_id": "X"}, 404, "X"),
        ("pas-un-produit", {"bbox": "3.8,43.5,3.9,43.6"}, 404, "Aucun produit"),
    ],
)
async def test_a_wrong_estimate_says_what_is_wrong(
    desk: httpx.AsyncClient, product: str, params: dict[str, str], expected: int, says: str
) -> None:
    response = await desk.get(
        f"/ordering/products/{product}/estimate", params=params, headers=await headers(desk, BRUCE)
    )
    assert response.status_code == expected, response.text
    assert says in response.json()["description"]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([("accept", BRUCE)], 403),  # a requester does not instruct
        ([("resubmit", INSTRUCTOR)], 403),  # an instructor does not resubmit for the requester
        ([("resubmit", BRUCE)], 409),  # nothing asked yet
        ([("reject", INSTRUCTOR, None)], 400),  # a rejection says why
        ([("cancel", BRUCE), ("cancel", BRUCE)], 409),  # cancelled once
        ([("reject", INSTRUCTOR, "hors mission"), ("accept", INSTRUCTOR)], 409),
        ([("cancel", BRUCE), ("retry", INSTRUCTOR)], 409),
        ([("delivered", INSTRUCTOR)], 400),  # the connector's moves are not actions
        ([("cancel", SANS_PLEIADES)], 404),  # not theirs to see
    ],
)
async def test_illegal_moves_and_wrong_roles_are_refused(
    desk: httpx.AsyncClient, steps: list[tuple[Any, ...]], expected: int
) -> None:
    order_id = await filed_tasking(desk)
    *before, last = steps
    for action, who, *reason in before:
        assert (await act(desk, order_id, action, who, *reason)).status_code == 200
    action, who, *reason = last
    response = await act(
        desk, order_id, action, who, *(reason or ["motif"] if action != "reject" else reason)
    )
    assert response.status_code == expected, response.text
    assert re.search(r"demande|Action inconnue|l'action", response.json()["description"])


async def test_information_requested_then_resubmitted(desk: httpx.AsyncClient) -> None:
    order_id = await filed_tasking(desk)
    held = await act(desk, order_id, "request-info", INSTRUCTOR, "Précisez la zone du port.")
    assert held.json()["properties"]["status"]["status_code"] == "held"
    auth = await headers(desk, BRUCE)
    posted = await desk.post(
        f"/ordering/orders/{order_id}/messages", json={"body": "Le port de Sète."}, headers=auth
    )
    assert posted.status_code == 201 and posted.json()["role"] == "requester"
    back = await act(desk, order_id, "resubmit", BRUCE)
    assert back.json()["properties"]["status"]["status_code"] == "received"
    reply = await desk.post(
        f"/ordering/orders/{order_id}/messages",
        json={"body": "Merci."},
        headers=await headers(desk, INSTRUCTOR),
    )
    assert reply.json()["role"] == "instructor"
    thread = (await desk.get(f"/ordering/orders/{order_id}/messages", headers=auth)).json()[
        "messages"
    ]
    assert [m["body"] for m in thread] == ["Le port de Sète.", "Merci."]
    outsider = await desk.get(
        f"/ordering/orders/{order_id}/messages", headers=await headers(desk, SANS_PLEIADES)
    )
    assert outsider.status_code == 404
    assert any(
        "Le port de Sète." in m["body"] for m in await mails(desk, "instruction@dinamis.example")
    )


async def test_quota_warning_reservation_and_release(desk: httpx.AsyncClient) -> None:
    me = (await desk.get("/auth/me", headers=await headers(desk, BRUCE))).json()
    entity_id = me.get("entity_id") or me["entity"]["id"]
    year = datetime.now(UTC).year
    instructor = await headers(desk, INSTRUCTOR)
    refused = await desk.put(
        "/ordering/quotas",
        json={"entity_id": entity_id, "family": "SPOT", "year": year, "allowed_km2": 1},
        headers=await headers(desk, BRUCE),
    )
    assert refused.status_code == 403
    response = await desk.put(
        "/ordering/quotas",
        # Under the tasking's 134.7 km² alone: over the quota whatever earlier tests reserved.
        json={"entity_id": entity_id, "family": "SPOT", "year": year, "allowed_km2": 100},
        headers=instructor,
    )
    assert response.status_code == 200, response.text
    try:
        order_id = await filed_tasking(desk)
        found = (
            await desk.get(f"/ordering/orders/{order_id}", headers=await headers(desk, BRUCE))
        ).json()
        assert found["properties"]["dinamis:over_quota"]
        assert any("quota de gratuité" in m["body"] for m in await mails(desk, BRUCE))

        def spot() -> dict[str, Any]:
            return next(
                q for q in quotas if q["family"] == "SPOT" and q["period"].startswith(str(year))
            )

        before = (
            await desk.get("/ordering/quotas", headers=instructor, params={"entity_id": entity_id})
        ).json()
        quotas = before["quotas"]
        reserved = spot()["reserved_km2"]
        await act(
            desk, order_id, "cancel", INSTRUCTOR, "test"
        )  # cancelled before acceptance: nothing held
        quotas = (await desk.get("/ordering/quotas", headers=await headers(desk, BRUCE))).json()[
            "quotas"
        ]
        assert spot()["reserved_km2"] == reserved
    finally:
        await desk.put(
            "/ordering/quotas",
            json={"entity_id": entity_id, "family": "SPOT", "year": year, "allowed_km2": 10000},
            headers=instructor,
        )


async def test_the_quota_warning_is_written_in_each_readers_language(
    desk: httpx.AsyncClient, database: str
) -> None:
    """Beyond the free quota, the warning and the area are written for each of their readers
    (issue 16): the requester browsing in French reads « 100,5 km² » in the API's answer, the
    mail to their account, kept in English, says 100.5 km², and the instructors' mailbox (no
    account) reads the French of the person who filed the request."""
    me = (await desk.get("/auth/me", headers=await headers(desk, BRUCE))).json()
    entity_id = me.get("entity_id") or me["entity"]["id"]
    year = datetime.now(UTC).year
    instructor = await headers(desk, INSTRUCTOR)

    def bruce_reads(language: str) -> None:
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(
                "UPDATE registry.accounts SET language = %s WHERE email = %s", (language, BRUCE)
            )

    quota = {"entity_id": entity_id, "family": "SPOT", "year": year}
    lowered = await desk.put(
        "/ordering/quotas", json={**quota, "allowed_km2": 100.5}, headers=instructor
    )
    assert lowered.status_code == 200, lowered.text
    bruce_reads("en")
    try:
        start = datetime.now(UTC) + timedelta(days=3)
        filed = await desk.post(
            "/ordering/products/airbus-tasking-spot/orders",
            json={
                "bbox": MONTPELLIER,
                "datetime": f"{start.isoformat()}/{(start + timedelta(days=30)).isoformat()}",
                "order_parameters": {"project_id": await new_project(desk)},
            },
            headers={**await headers(desk, BRUCE), "Accept-Language": "fr"},
        )
        assert filed.status_code == 201, filed.text
        order_id, properties = filed.json()["id"], filed.json()["properties"]
        assert "quota de gratuité de 100,5 km² (SPOT 6/7" in properties["dinamis:quota_warning"]
        area = {lang: format_decimal(properties["dinamis:area_km2"], "#,##0.#", locale=lang)
                for lang in ("fr", "en")}  # fmt: skip
        assert "," in area["fr"] and "." in area["en"]  # 134,7 in French, 134.7 in English

        (received,) = [m for m in await mails(desk, BRUCE) if order_id in m["subject"]]
        assert "over the free quota of 100.5 km² (SPOT 6/7" in received["body"]
        assert f"{area['en']} km²" in received["body"] and "Attention" not in received["body"]
        (to_instruct,) = [
            m for m in await mails(desk, "instruction@dinamis.example") if order_id in m["subject"]
        ]
        assert "quota de gratuité de 100,5 km² (SPOT 6/7" in to_instruct["body"]
        assert f"{area['fr']} km²" in to_instruct["body"]
    finally:
        bruce_reads("fr")
        await desk.put("/ordering/quotas", json={**quota, "allowed_km2": 10000}, headers=instructor)


async def test_a_requests_status_is_named_in_the_readers_language(
    desk: httpx.AsyncClient,
) -> None:
    """The API keeps each status's code and names it in the reader's language (issue 16)."""
    await filed_tasking(desk)
    auth = await headers(desk, BRUCE)
    for language, received in (("fr", "Reçue"), ("en", "Received")):
        listed = await desk.get(
            "/ordering/orders",
            params={"status": "received"},
            headers={**auth, "Accept-Language": language},
        )
        assert listed.status_code == 200, listed.text
        labels = {o["properties"]["dinamis:status_label"] for o in listed.json()["features"]}
        assert labels == {received}, language


async def test_projects(desk: httpx.AsyncClient) -> None:
    project = await new_project(desk, members=[JANE])
    jane = await headers(desk, JANE)
    assert project in [
        p["id"] for p in (await desk.get("/ordering/projects", headers=jane)).json()["projects"]
    ]
    other = await desk.get(
        f"/ordering/projects/{project}", headers=await headers(desk, SANS_PLEIADES)
    )
    assert other.status_code == 404
    bad = await desk.post(
        "/ordering/projects",
        json={"title": "x", "end_date": "2001-01-01"},
        headers=await headers(desk, BRUCE),
    )
    assert bad.status_code == 400
    order_id = await filed_tasking(desk, project)
    assert (await desk.post(f"/ordering/projects/{project}/close", headers=jane)).status_code == 403
    busy = await desk.post(
        f"/ordering/projects/{project}/close", headers=await headers(desk, BRUCE)
    )
    assert busy.status_code == 409
    await act(desk, order_id, "cancel", BRUCE)
    closed = await desk.post(
        f"/ordering/projects/{project}/close", headers=await headers(desk, BRUCE)
    )
    assert closed.json()["status"] == "closed"
    start = datetime.now(UTC) + timedelta(days=3)
    late = await order(
        desk,
        "airbus-tasking-spot",
        {
            "bbox": MONTPELLIER,
            "order_parameters": {"project_id": project},
            "datetime": f"{start.isoformat()}/{(start + timedelta(days=9)).isoformat()}",
        },
    )
    assert late.status_code == 409
    assert (await desk.get("/ordering/orders")).status_code == 401


async def test_an_order_id_the_database_cannot_hold_is_a_bad_request(
    desk: httpx.AsyncClient,
) -> None:
    """A NUL byte, which no PostgreSQL text may hold, in an order's id or a message is the
    client's mistake: a 400 that says so, not a 500."""
    for path in ("/ordering/orders/%00/actions/accept", "/ordering/orders/%00"):
        response = await desk.request(
            "POST" if "actions" in path else "GET",
            path,
            json={"reason": "motif"},
            headers=await headers(desk, BRUCE),
        )
        assert response.status_code == 400, (path, response.text)
        assert "0x00" in response.json()["description"]
