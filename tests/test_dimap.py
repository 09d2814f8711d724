"""DIMAP readers: the real samples give exactly the values of their README; bad files fail
with a clear reason."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pystac.validation import validate_dict

from ingest.dimap import (
    DimapError,
    MalformedXml,
    MissingField,
    MissingFootprint,
    NotDimap,
    TruncatedFile,
    UnknownMission,
    WrongCollection,
    read_item,
    read_pystac_item,
)
from tests.offline_schemas import offline_schemas

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "dimap"
FIXTURES = Path(__file__).parent / "data" / "dimap"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"the real DIMAP samples ({SAMPLES}) are not on this machine"
)
SPOT6 = "v2/DIM_SPOT6_PMS_202012141415240_ORT_5588528101.XML"
PHR_P = "v2/DIM_PHR1A_P_202108271549303_SEN_5897098101-1.XML"
PHR_MS = "v2/DIM_PHR1A_MS_202108271549303_SEN_5897098101-2.XML"
PNEO = "v2/DIM_PNEO3_202111071029126_PAN_trimmed.XML"


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def sample(name: str) -> dict[str, Any]:
    return read_item((SAMPLES / name).read_bytes(), name, href_dir="archive/v2/")


# The README's key values, file by file.
EXPECTED: dict[str, dict[str, Any]] = {
    PHR_P: {
        "id": "PHR1A_P_202108271549303_SEN_5897098101-1",
        "collection": "pleiades",
        "platform": "pleiades-1a",
        "datetime": "2021-08-27T15:49:31.031Z",
        "eo:cloud_cover": 61.87,
        "processing:level": "SENSOR",
        "gsd": 0.5,
        "view:incidence_angle": 28.61590497053497,
        "view:off_nadir": 25.5663414336154,
        "view:azimuth": 180.0904341251046,
        "view:sun_azimuth": 115.2326875432268,
        "view:sun_elevation": 71.76705923747583,
        "proj:shape": [15169, 32824],
        "bands": 1,
        "dinamis:datastrip_id": "DS_PHR1A_202108271549303_FR1_PX_W074N18_0509_00822",
        "footprint": [(-73.70768762182264, 18.39961454628264), (-73.50809243218286, 18.40132618431412), (-73.51125195647813, 18.32499186098955), (-73.70468874215672, 18.32443298397142)],
    },
    PHR_MS: {
        "id": "PHR1A_MS_202108271549303_SEN_5897098101-2",
        "collection": "pleiades",
        "eo:cloud_cover": 63.02,
        "gsd": 2.0,
        "proj:shape": [3792, 8207],
        "bands": 4,
        "view:incidence_angle": 28.61590497053497,
    },
    SPOT6: {
        "id": "SPOT6_PMS_202012141415240_ORT_5588528101",
        "collection": "spot67",
        "platform": "spot-6",
        "datetime": "2020-12-14T14:15:25.419Z",
        "eo:cloud_cover": 0.0,
        "eo:snow_cover": 99.28,
        "processing:level": "ORTHO",
        "proj:code": "EPSG:32719",
        "gsd": 1.5,
        "view:incidence_angle": 3.96468986801,
        "view:off_nadir": 3.57911449462,
        "view:azimuth": 97.0084129578,
        "view:sun_azimuth": 80.1163909962,
        "view:sun_elevation": 57.8723496178,
        "proj:shape": [7957, 7226],
        "bands": 4,
        "dinamis:datastrip_id": "DS_SPOT6_202012141415240_FR1_FR1_SV1_SV1_W070S34_03414",
        "footprint": [(-70.0910667149, -33.4639928229), (-69.9744572782, -33.4649643575), (-69.9756648849, -33.5725889202), (-70.0924187648, -33.5716134362)],
    },
    PNEO: {
        "id": "PNEO3_202111071029126_PAN_trimmed",
        "collection": "pleiades-neo",
        "platform": "pleiades-neo-3",
        "datetime": "2021-11-07T10:29:12.670835Z",
        "start_datetime": "2021-11-07T10:29:11.950343Z",
        "end_datetime": "2021-11-07T10:29:13.391327Z",
        "eo:cloud_cover": 0.0,
        "eo:snow_cover": 0.0,
        "processing:level": "SENSOR",
        "gsd": 0.33,
        "view:incidence_angle": 21.78124738411253,
        "view:off_nadir": 19.738645825028545,
        "view:azimuth": 63.05245768834828,
        "view:sun_azimuth": 165.43108816342217,
        "view:sun_elevation": 29.07728083374117,
        "proj:shape": [33085, 29393],
        "bands": 1,
        "dinamis:datastrip_id": "ACQ_PNEO3_00816400750988",
        "footprint": [(5.307138681631315, 43.33543042333591), (5.431171743354403, 43.34072049054464), (5.431168412225354, 43.24452584410263), (5.307501418138921, 43.238916188302895)],
    },
}  # fmt: skip


@needs_samples
@pytest.mark.parametrize("name", list(EXPECTED))
def test_samples_give_the_readme_values(name: str) -> None:
    item, expected = sample(name), EXPECTED[name]
    properties = item["properties"]
    for key, value in expected.items():
        if key in ("id", "collection"):
            assert item[key] == value
        elif key == "bands":
            assert len(item["assets"]["data"]["bands"]) == value
        elif key == "footprint":
            ring = item["geometry"]["coordinates"][0]
            assert ring[0] == ring[-1]
            assert {tuple(p) for p in ring[:-1]} == set(value)
        elif key.endswith("datetime"):
            assert when(properties[key]) == when(value), key
        else:
            assert properties[key] == value, key
    if "proj:code" not in expected:
        assert "proj:code" not in properties  # sensor geometry: no projected CRS
    lons, lats = zip(*(p for p in item["geometry"]["coordinates"][0]), strict=True)
    assert item["bbox"] == [min(lons), min(lats), max(lons), max(lats)]


@needs_samples
def test_absent_values_are_absent_not_zero() -> None:
    assert "eo:snow_cover" not in sample(PHR_P)["properties"]  # Pléiades has no SNOW_COVERAGE
    assert "thumbnail" not in sample(PNEO)["assets"]  # Pléiades Neo has no ICON


@needs_samples
def test_bands_in_file_order_and_micrometres() -> None:
    spot6 = sample(SPOT6)["assets"]["data"]["bands"]  # the file's ranges are in nanometres
    assert [b["name"] for b in spot6] == ["B2", "B1", "B0", "B3"]
    assert [b["eo:common_name"] for b in spot6] == ["red", "green", "blue", "nir"]
    assert spot6[0]["eo:center_wavelength"] == pytest.approx((0.621 + 0.698) / 2)
    assert spot6[0]["eo:full_width_half_max"] == pytest.approx(0.698 - 0.621)
    pleiades = sample(PHR_MS)["assets"]["data"]["bands"]  # in micrometres
    assert pleiades[2] == {"name": "B0", "eo:common_name": "blue", "eo:center_wavelength": 0.49, "eo:full_width_half_max": 0.12}  # fmt: skip


@needs_samples
def test_ortho_geotransform() -> None:
    """ULXMAP is the corner of the upper-left pixel: its first vertex is half a pixel in."""
    assert sample(SPOT6)["properties"]["proj:transform"] == [1.5, 0.0, 398611.5, 0.0, -1.5, 6296740.5]  # fmt: skip


@needs_samples
def test_assets_relative_to_the_storage_root() -> None:
    assets = sample(SPOT6)["assets"]
    assert assets["data"]["href"] == "archive/v2/IMG_SPOT6_PMS_202012141415240_ORT_5588528101_R1C1.JP2"  # fmt: skip
    assert assets["data"]["type"] == "image/jp2"
    assert assets["metadata"]["href"] == "archive/v2/DIM_SPOT6_PMS_202012141415240_ORT_5588528101.XML"  # fmt: skip
    assert assets["overview"]["href"].endswith("PREVIEW_SPOT6_PMS_202012141415240_ORT_5588528101.JPG")  # fmt: skip
    assert assets["thumbnail"]["roles"] == ["thumbnail"]
    assert all("://" not in a["href"] for a in assets.values())


@needs_samples
@pytest.mark.parametrize("name", list(EXPECTED))
def test_items_are_valid_stac(name: str) -> None:
    with offline_schemas():
        validate_dict(sample(name))
    assert read_pystac_item((SAMPLES / name).read_bytes(), name).id == EXPECTED[name]["id"]


@needs_samples
def test_stripped_v1_sample_without_footprint_is_refused() -> None:
    data = (SAMPLES / "v1/METADATA_SPOT4_stripped.DIM").read_bytes()
    with pytest.raises(MissingFootprint, match="no footprint"):
        read_item(data, "v1/METADATA_SPOT4_stripped.DIM")


def test_complete_v1_scene() -> None:
    path = FIXTURES / "SPOT5_SCENE" / "METADATA.DIM"
    item = read_item(path.read_bytes(), "SPOT5_SCENE/METADATA.DIM", href_dir="swh/SPOT5_SCENE/")
    p = item["properties"]
    assert item["id"] == "SPOT5_20060714T103221_048-262_HRG2_J_2A"
    assert item["collection"] == "spot-swh"
    assert (p["platform"], p["instruments"], p["gsd"]) == ("spot-5", ["hrg"], 10.0)
    assert p["datetime"] == "2006-07-14T10:32:21.408123Z"  # SCENE_CENTER_TIME, not IMAGING_TIME
    assert p["view:incidence_angle"] == pytest.approx(12.35408)  # signed by side in the file
    assert p["view:off_nadir"] == pytest.approx(10.91247)
    assert (p["view:sun_azimuth"], p["view:sun_elevation"]) == (137.4192505, 63.277893066)
    assert "eo:cloud_cover" not in p and "eo:snow_cover" not in p  # DIMAP V1 has none
    assert p["proj:code"] == "EPSG:32631"
    assert p["proj:transform"] == [10.0, 0.0, 539990.0, 0.0, -10.0, 4861510.0]
    assert p["sat:absolute_orbit"] == 23812
    assert p["dinamis:datastrip_id"] == "50482620607141032172J"
    bands = item["assets"]["data"]["bands"]
    assert [b["name"] for b in bands] == ["XS1", "XS2", "XS3", "SWIR"]  # by BAND_INDEX
    assert bands[3]["eo:common_name"] == "swir16"
    assert item["assets"]["data"]["href"] == "swh/SPOT5_SCENE/IMAGERY.TIF"
    assert set(item["assets"]) == {"data", "metadata", "overview", "thumbnail"}
    with offline_schemas():
        validate_dict(item)


def test_v1_scene_without_centre_time_uses_the_imaging_time() -> None:
    text = (FIXTURES / "SPOT5_SCENE" / "METADATA.DIM").read_text(encoding="latin-1")
    text = re.sub(r"<Data_Strip>.*</Data_Strip>", "", text, flags=re.DOTALL)
    text = text.replace("<MISSION_INDEX>5</MISSION_INDEX>", "<MISSION_INDEX>4</MISSION_INDEX>")
    text = text.replace("<INSTRUMENT>HRG</INSTRUMENT>", "<INSTRUMENT>HRVIR</INSTRUMENT>")
    item = read_item(text.encode("latin-1"), "METADATA.DIM")
    assert item["properties"]["datetime"] == "2006-07-14T10:32:17Z"
    assert item["properties"]["platform"] == "spot-4"
    assert item["properties"]["instruments"] == ["hrvir"]


@pytest.fixture
def valid_v2() -> bytes:
    path = SAMPLES / SPOT6
    if not path.exists():
        pytest.skip(f"the real DIMAP samples ({SAMPLES}) are not on this machine")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        pytest.param(lambda d: d.replace(b"</CLOUD_COVERAGE>", b"</CLOUD_COVERAG>", 1), MalformedXml, "well-formed", id="malformed"),
        pytest.param(lambda d: d[: len(d) // 2], TruncatedFile, "ends before", id="truncated"),
        pytest.param(lambda d: b"", TruncatedFile, "empty", id="empty"),
        pytest.param(lambda d: re.sub(rb"<Dataset_Extent>.*</Dataset_Extent>", b"", d, flags=re.DOTALL), MissingFootprint, "footprint", id="no-footprint"),
        pytest.param(lambda d: d.replace(b"<MISSION>SPOT</MISSION>", b"<MISSION>LANDSAT</MISSION>"), UnknownMission, "LANDSAT", id="unknown-mission"),
        pytest.param(lambda d: b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>', NotDimap, "kml", id="not-dimap"),
        pytest.param(lambda d: d.replace(b"<LON>-70.0910667149</LON>", b"<LON>west</LON>"), DimapError, "not a number", id="bad-number"),
        pytest.param(lambda d: d.replace(b"<LON>-70.0910667149</LON>", b"<LON>-270.09</LON>"), MissingFootprint, "longitude", id="out-of-range"),
        pytest.param(lambda d: d.replace(b"<MISSION>SPOT</MISSION>", b"<MISSION>SPOT&#xE000;</MISSION>"), MissingField, "U\\+E000", id="record-separator"),
    ],
)  # fmt: skip
def test_bad_files_fail_with_a_clear_reason(
    valid_v2: bytes, change: Any, error: type[DimapError], words: str
) -> None:
    with pytest.raises(error, match=words):
        read_item(change(valid_v2), SPOT6)


def test_entities_are_not_expanded(tmp_path: Path) -> None:
    """A metadata file is outside input: no external entity is ever read (XXE)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("do-not-leak")
    data = (FIXTURES / "SPOT5_SCENE" / "METADATA.DIM").read_text(encoding="latin-1")
    data = data.replace(
        "<Dimap_Document", f'<!DOCTYPE Dimap_Document [<!ENTITY x SYSTEM "file://{secret}">]>\n<Dimap_Document', 1
    ).replace("<JOB_ID>155786</JOB_ID>", "<JOB_ID>&x;</JOB_ID>")  # fmt: skip
    try:
        item = read_item(data.encode("latin-1"), "METADATA.DIM")
    except DimapError:
        return
    assert "do-not-leak" not in str(item)


@needs_samples
def test_collection_rules() -> None:
    data = (SAMPLES / PHR_P).read_bytes()
    assert read_item(data, "archive/PWH/2013/DIM_X.XML")["collection"] == "pleiades-pwh"
    assert read_item(data, "archive/pwh-backup/DIM_X.XML")["collection"] == "pleiades"
    assert read_item(data, PHR_P, collection="pleiades-pwh")["collection"] == "pleiades-pwh"
    assert read_item(data, PHR_P, collection="my-pleiades")["collection"] == "my-pleiades"
    with pytest.raises(WrongCollection, match="cannot go into 'spot67'"):
        read_item(data, PHR_P, collection="spot67")
