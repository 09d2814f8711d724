"""Imported geometry files (`POST /geometries`): GeoJSON, KML and zipped shapefiles become one
`intersects` geometry in EPSG:4326 that finds the same items as the original geometry; bad,
empty and oversized files get clear 4xx answers."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import mapping, shape

from extensions.areas import GeometrySettings
from extensions.geodesy import area_km2
from tests.conftest import make_app
from tests.oracle import expected_ids

Items = list[dict[str, Any]]

ENGLISH = {"Accept-Language": "en"}  # the messages checked here are their English
# Around Montpellier, where the test archive has scenes; not a rectangle.
HERAULT = shapely.Polygon([(3.3, 43.2), (4.2, 43.3), (4.3, 43.9), (3.6, 43.8), (3.3, 43.2)])
FAR_POINT = shapely.Point(4.8, 44.1)
A_ROAD = shapely.LineString([(2.9, 43.0), (3.2, 43.4)])
TO_LAMBERT = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[3.8, 43.5], [3.9, 43.6], [3.9, 43.5], [3.8, 43.6], [3.8, 43.5]]],
}


def lambert(geometry: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geometry, lambda xy: np.column_stack(TO_LAMBERT.transform(*xy.T)))


def zipped_shapefile(
    folder: Path, geometry: shapely.Geometry, parts: tuple[str, ...] = ("shp", "shx", "dbf", "prj")
) -> bytes:
    """A Lambert-93 (EPSG:2154) shapefile in a sub-folder of a zip, as users send them."""
    pyogrio.raw.write(
        folder / "zone.shp",
        geometry=np.array([shapely.to_wkb(lambert(geometry))], dtype=object),
        field_data=[np.array([1])],
        fields=["id"],
        geometry_type=geometry.geom_type,
        crs="EPSG:2154",
        driver="ESRI Shapefile",
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in parts:
            archive.write(folder / f"zone.{part}", f"export/zone.{part}")
        archive.writestr("export/readme.txt", "Zone d'étude")
    return buffer.getvalue()


def placemark(geometry: shapely.Geometry) -> str:
    coordinates = " ".join(f"{x},{y},0" for x, y in shapely.get_coordinates(geometry))
    if geometry.geom_type == "Polygon":
        return (
            "<Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>"
            f"{coordinates}</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"
        )
    kind = {"Point": "Point", "LineString": "LineString"}[geometry.geom_type]
    return f"<Placemark><{kind}><coordinates>{coordinates}</coordinates></{kind}></Placemark>"


def kml(*folders: list[shapely.Geometry]) -> bytes:
    """A KML document, one folder (a layer for GDAL) per list of geometries."""
    body = "".join(
        f"<Folder><name>Couche {n}</name>{''.join(placemark(g) for g in geometries)}</Folder>"
        for n, geometries in enumerate(folders)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{body}</Document></kml>'
    ).encode()


def feature(geometry: shapely.Geometry | dict[str, Any]) -> dict[str, Any]:
    value = geometry if isinstance(geometry, dict) else mapping(geometry)
    return {"type": "Feature", "properties": {"nom": "zone"}, "geometry": value}


async def imported(client: httpx.AsyncClient, name: str, content: bytes) -> dict[str, Any]:
    response = await client.post("/geometries", files={"file": (name, content)})
    assert response.status_code == 200, response.text
    return response.json()


async def post_ids(client: httpx.AsyncClient, intersects: dict[str, Any]) -> set[str]:
    response = await client.post("/search", json={"limit": 10000, "intersects": intersects})
    assert response.status_code == 200, response.text
    return {f["id"] for f in response.json()["features"]}


# -- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "features"),
    [
        pytest.param("zone.geojson", mapping(HERAULT), 1, id="bare geometry"),
        pytest.param("zone.json", feature(HERAULT), 1, id="feature"),
        pytest.param(
            "zone.geojson",
            {
                "type": "FeatureCollection",
                "features": [
                    feature(HERAULT),
                    {"type": "Feature", "properties": {}, "geometry": None},
                    feature(shapely.Point(3.8, 43.6)),  # inside: absorbed by the union
                ],
            },
            2,
            id="feature collection",
        ),
    ],
)
async def test_geojson(
    client: httpx.AsyncClient, name: str, value: dict[str, Any], features: int
) -> None:
    result = await imported(client, name, json.dumps(value).encode())
    assert result["name"] == name
    assert result["features"] == features
    assert result["intersects"]["type"] == "Polygon"
    assert shape(result["intersects"]).symmetric_difference(HERAULT).area < 1e-12
    assert result["bbox"] == pytest.approx(list(HERAULT.bounds), abs=1e-7)
    assert result["area_km2"] == pytest.approx(4130, rel=0.01)
    assert not result["simplified"] and not result["repaired"]


async def test_geojson_with_a_crs_member_is_reprojected(client: httpx.AsyncClient) -> None:
    """QGIS writes GeoJSON in Lambert-93 with the old `crs` member: honoured by GDAL."""
    value = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
        "features": [feature(lambert(HERAULT))],
    }
    result = await imported(client, "lambert.geojson", json.dumps(value).encode())
    assert shape(result["intersects"]).symmetric_difference(HERAULT).area < 1e-10


async def test_kml_with_folders_points_and_lines(client: httpx.AsyncClient) -> None:
    """Every folder is read, and points and lines stay: they are legitimate `intersects`."""
    result = await imported(client, "zones.kml", kml([HERAULT], [FAR_POINT, A_ROAD]))
    assert result["features"] == 3
    geometry = shape(result["intersects"])
    assert geometry.geom_type == "GeometryCollection"
    assert sorted(g.geom_type for g in geometry.geoms) == ["LineString", "Point", "Polygon"]
    assert geometry.symmetric_difference(shapely.union_all([HERAULT, FAR_POINT, A_ROAD])).is_empty
    assert not shapely.has_z(geometry)
    assert result["area_km2"] == pytest.approx(4130, rel=0.01)


async def test_zipped_shapefile_in_lambert_93(client: httpx.AsyncClient, tmp_path: Path) -> None:
    result = await imported(client, "zone.zip", zipped_shapefile(tmp_path, HERAULT))
    assert result["features"] == 1
    assert result["bbox"] == pytest.approx(list(HERAULT.bounds), abs=1e-7)
    assert shape(result["intersects"]).symmetric_difference(HERAULT).area < 1e-10
    assert result["area_km2"] == pytest.approx(4130, rel=0.01)


async def test_invalid_polygons_are_repaired(client: httpx.AsyncClient) -> None:
    result = await imported(client, "bowtie.geojson", json.dumps(feature(BOWTIE)).encode())
    assert result["repaired"] is True and result["notes"]
    geometry = shape(result["intersects"])
    assert geometry.is_valid and geometry.geom_type == "MultiPolygon"
    assert geometry.area == pytest.approx(0.005)  # the two triangles of the bow tie


async def test_detailed_geometries_are_simplified(client: httpx.AsyncClient) -> None:
    circle = shapely.Point(3.8, 43.6).buffer(0.2, quad_segs=15_000)  # 60,001 vertices
    result = await imported(client, "cercle.geojson", json.dumps(mapping(circle)).encode())
    assert result["simplified"] is True
    assert result["tolerance_m"] in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
    assert f"{result['tolerance_m']} m" in " ".join(result["notes"])
    assert result["vertices"] <= GeometrySettings().max_vertices
    geometry = shape(result["intersects"])
    assert geometry.is_valid
    assert geometry.symmetric_difference(circle).area / circle.area < 0.001


# -- the filter finds the same items -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["shapefile", "kml"])
async def test_imported_geometry_finds_the_same_items(
    client: httpx.AsyncClient, demo_items: Items, tmp_path: Path, kind: str
) -> None:
    if kind == "shapefile":
        original = HERAULT
        result = await imported(client, "zone.zip", zipped_shapefile(tmp_path, HERAULT))
    else:
        original = shapely.GeometryCollection([HERAULT, FAR_POINT, A_ROAD])
        result = await imported(client, "zones.kml", kml([HERAULT], [FAR_POINT, A_ROAD]))
    expected = await post_ids(client, mapping(original))
    assert expected, "the test archive has scenes there"
    assert await post_ids(client, result["intersects"]) == expected
    assert expected == expected_ids(demo_items, geometry=mapping(original))


# -- refused -----------------------------------------------------------------------------------


def missing_prj(folder: Path) -> bytes:
    return zipped_shapefile(folder, HERAULT, parts=("shp", "shx", "dbf"))


def no_shp(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("zone.geojson", json.dumps(mapping(HERAULT)))
    return buffer.getvalue()


def points(count: int) -> bytes:
    xy = np.random.default_rng(1).uniform((3, 43), (4, 44), (count, 2))
    return json.dumps(mapping(shapely.MultiPoint(xy))).encode()


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        pytest.param("zone.exe", b"MZ", 415, "GeoJSON", id="suffix"),
        pytest.param("zone.shp", b"\x00\x00\x27\x0a", 415, "one .zip", id="bare shp"),
        pytest.param("zone.geojson", b"{not json", 400, "not JSON", id="not json"),
        pytest.param("zone.geojson", b"\xff\xfe{}", 400, "UTF-8", id="not text"),
        pytest.param("zone.json", b'{"type": "Topology"}', 400, "not GeoJSON", id="topojson"),
        pytest.param("zone.json", b"[1, 2]", 400, "not GeoJSON", id="json array"),
        pytest.param(
            "zone.geojson",
            b'{"type": "FeatureCollection", "features": []}',
            400,
            "no geometry",
            id="empty collection",
        ),
        pytest.param(
            "zone.geojson",
            json.dumps(feature(lambert(HERAULT))).encode(),
            400,
            "not longitudes and latitudes",
            id="projected without crs",
        ),
        pytest.param("zone.geojson", b"", 400, "empty", id="empty file"),
        pytest.param("zone.kml", b"PK\x03\x04 zipped", 400, "not KML", id="not kml"),
        pytest.param("zone.kml", b"<kml></kml>", 400, "KML", id="kml without document"),
        pytest.param(
            "zone.kml",
            b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>x</name>'
            b"</Placemark></kml>",
            400,
            "no geometry",
            id="kml without geometry",
        ),
        pytest.param("zone.zip", b"PK broken", 400, "zip", id="not a zip"),
        pytest.param("zone.zip", no_shp, 400, "no shapefile", id="zip without shp"),
        pytest.param("zone.zip", missing_prj, 400, ".prj", id="shapefile without prj"),
        pytest.param("points.geojson", points(20_000), 400, "vertices", id="too many points"),
    ],
)
async def test_bad_files_are_refused(
    client: httpx.AsyncClient,
    tmp_path: Path,
    name: str,
    content: bytes | Any,
    status: int,
    message: str,
) -> None:
    body = content(tmp_path) if callable(content) else content
    response = await client.post("/geometries", files={"file": (name, body)}, headers=ENGLISH)
    assert response.status_code == status, response.text
    assert message in response.json()["description"]


async def test_a_file_is_expected(client: httpx.AsyncClient) -> None:
    for kwargs in (
        {"data": {"geometry": json.dumps(mapping(HERAULT))}},
        {"json": mapping(HERAULT)},
        {"files": [("file", ("a.geojson", b"{}")), ("file", ("b.geojson", b"{}"))]},
    ):
        response = await client.post("/geometries", **kwargs)
        assert response.status_code == 400, response.text
        assert response.json()["description"]


async def test_too_large(client: httpx.AsyncClient) -> None:
    content = b" " * (GeometrySettings().max_bytes + 1)
    response = await client.post(
        "/geometries", files={"file": ("big.geojson", content)}, headers=ENGLISH
    )
    assert response.status_code == 413, response.text
    assert "10 MB" in response.json()["description"]


@pytest.fixture
async def small(database: str, storage_root: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An app that accepts 1 KB files only."""
    app = make_app(database, storage_root, geometries=GeometrySettings(max_mb=1 / 1024))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


async def test_size_limit_setting(small: httpx.AsyncClient) -> None:
    """The limit holds whatever the request says: a file just over it, and a chunked body with
    no Content-Length that is cut as soon as it goes over."""
    ok = await small.post(
        "/geometries", files={"file": ("a.geojson", json.dumps(mapping(HERAULT)))}
    )
    assert ok.status_code == 200, ok.text
    over = await small.post(
        "/geometries", files={"file": ("a.geojson", b" " * 1025)}, headers=ENGLISH
    )
    assert over.status_code == 413, over.text
    assert "over the 1 KB accepted" in over.json()["description"]

    async def chunks() -> AsyncIterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.geojson"\r\n\r\n'
        for _ in range(200):  # 200 × 1 KB, over the limit and its 64 KB of form framing
            yield b" " * 1024
        yield b"\r\n--b--\r\n"

    chunked = await small.post(
        "/geometries",
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert chunked.status_code == 413, chunked.text
    assert "Content-Length" not in chunked.request.headers


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A shapefile whose .shp is 1 GB of zeros, about 1 MB zipped: written in 1 MB chunks,
    never held in memory."""
    path = tmp_path_factory.mktemp("bomb") / "zone.zip"
    zeros = bytes(2**20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zone.shp", "w") as shp:
            for _ in range(1024):
                shp.write(zeros)
        archive.writestr("zone.shx", zeros[:100])
        archive.writestr("zone.prj", 'GEOGCS["WGS 84"]')
    return path.read_bytes()


async def post_measured(client: httpx.AsyncClient, name: str, content: bytes) -> tuple[Any, int]:
    """The answer to posting the file, and the most memory Python held meanwhile."""
    tracemalloc.start()
    try:
        response = await client.post(
            "/geometries", files={"file": (name, content)}, headers=ENGLISH
        )
        return response, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_a_zip_bomb_is_refused_unread(client: httpx.AsyncClient, zip_bomb: bytes) -> None:
    """The sizes the archive declares are checked before anything is unzipped."""
    response, peak = await post_measured(client, "zone.zip", zip_bomb)
    assert response.status_code == 413, response.text
    assert "unzips to more than 100 MB" in response.json()["description"]
    assert peak < 32 * 2**20


async def test_a_zip_bomb_that_lies_about_its_size_is_refused(
    client: httpx.AsyncClient, zip_bomb: bytes
) -> None:
    """The same archive whose directory says the .shp is 1000 bytes: unzipping stops there,
    and the member is refused."""
    content = bytearray(zip_bomb)
    entry = content.index(b"PK\x01\x02", len(content) - 1000)  # the .shp's, written first
    content[entry + 24 : entry + 28] = (1000).to_bytes(4, "little")
    response, peak = await post_measured(client, "zone.zip", bytes(content))
    assert response.status_code in (400, 413), response.text
    assert "zone.zip" in response.json()["description"]
    assert peak < 32 * 2**20


async def test_a_zip_of_many_files_is_refused(client: httpx.AsyncClient) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(1001):
            archive.writestr(f"empty-{n}.txt", b"")
    response = await client.post(
        "/geometries", files={"file": ("many.zip", buffer.getvalue())}, headers=ENGLISH
    )
    assert response.status_code == 413, response.text
    assert "more than 1000 files" in response.json()["description"]


def test_geodesic_area_counts_polygons_whatever_their_orientation() -> None:
    """Two parts drawn in opposite directions add up; a line has no area."""
    east = shapely.box(0, 0, 1, 1)
    west = shapely.Polygon(list(shapely.box(2, 0, 3, 1).exterior.coords)[::-1])
    separate = area_km2(east) + area_km2(west)
    assert separate > 24_000
    assert area_km2(shapely.MultiPolygon([east, west])) == pytest.approx(separate)
    assert area_km2(shapely.LineString([(0, 0), (1, 0), (1, 1)])) == 0
    collection = shapely.GeometryCollection([shapely.MultiPolygon([east]), shapely.Point(5, 5)])
    assert area_km2(collection) == pytest.approx(area_km2(east))
