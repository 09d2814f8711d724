"""The demo archive is deterministic, realistic, valid STAC, and loaded idempotently."""

from __future__ import annotations

import collections
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import shapely
from pystac.validation import validate_dict
from shapely.geometry import shape

from pgstac.collections import read_collections
from pgstac.db import connect
from simulators.archive import generate_item, generate_items, load_demo_archive
from simulators.archive.generator import PLATFORMS, areas, incidence_angle, sun_position
from tests.offline_schemas import offline_schemas

SAMPLE = list(generate_items(4000, 11))
BY_PLATFORM = {(p.platform, p.collection): p for p in PLATFORMS}
SUMMARIES = {d.id: d.stac["summaries"] for d in read_collections() if d.held}


def test_deterministic_and_extensible() -> None:
    assert generate_item(11, 123) == SAMPLE[123]
    assert list(generate_items(50, 11)) == SAMPLE[:50]
    assert list(generate_items(60, 11, start=50)) == SAMPLE[50:60]
    assert len({i["id"] for i in SAMPLE}) == len(SAMPLE)


def test_dates_inside_each_platform_life() -> None:
    for item in SAMPLE:
        p = item["properties"]
        platform = BY_PLATFORM[(p["platform"], item["collection"])]
        day = datetime.fromisoformat(p["datetime"].replace("Z", "+00:00")).date()
        assert platform.start <= day <= platform.end, (item["id"], day)
        assert p["start_datetime"] < p["datetime"] < p["end_datetime"]


def test_values_within_the_collection_summaries() -> None:
    for item in SAMPLE:
        p, summaries = item["properties"], SUMMARIES[item["collection"]]
        assert p["platform"] in summaries["platform"]
        assert p["gsd"] in summaries["gsd"]
        assert p["processing:level"] in summaries["processing:level"]
        assert set(p["instruments"]) <= set(summaries["instruments"])


def test_footprints_over_france_and_overseas() -> None:
    territory = shapely.union_all([a.shape for a in areas()]).buffer(0.6)
    for item in SAMPLE:
        footprint = shape(item["geometry"])
        assert footprint.is_valid and territory.contains(footprint.centroid), item["id"]
        assert list(footprint.bounds) == pytest.approx(item["bbox"])
    metro = sum(1 for i in SAMPLE if shape(i["geometry"]).centroid.y > 41)
    assert 0.75 < metro / len(SAMPLE) < 0.9


def test_angles_and_covers_are_plausible() -> None:
    for item in SAMPLE:
        p = item["properties"]
        assert 0 <= p["view:off_nadir"] <= p["view:incidence_angle"] <= 50
        assert 0 < p["view:sun_elevation"] < 90  # daylight acquisitions
        assert 0 <= p["eo:cloud_cover"] <= 100
        spot_1_5 = item["collection"] == "spot-swh"
        assert ("eo:snow_cover" in p) is not spot_1_5  # DIMAP V1 has none: absent, never 0
        if p["processing:level"] in ("ORTHO", "2A"):
            assert p["proj:code"].startswith("EPSG:") and len(p["proj:transform"]) == 6
        else:
            assert "proj:code" not in p and len(p["proj:shape"]) == 2
    clouds = [i["properties"]["eo:cloud_cover"] for i in SAMPLE]
    assert 0.3 < sum(c < 5 for c in clouds) / len(clouds) < 0.5  # an archive: mostly clear


def test_platform_shares_follow_the_catalogue() -> None:
    counts = collections.Counter(i["properties"]["platform"] for i in SAMPLE)
    total_weight = sum(p.weight for p in PLATFORMS)
    weights = collections.Counter[str]()
    for p in PLATFORMS:
        weights[p.platform] += p.weight
    for platform, weight in weights.items():
        assert counts[platform] / len(SAMPLE) == pytest.approx(weight / total_weight, abs=0.02)


def test_another_mix_of_platforms() -> None:
    """bench/scale.py draws the archive with the seed's mission mix: the platforms given, in
    their shares, each scene otherwise as realistic as the demo's."""
    spot_2, neo_3 = BY_PLATFORM["spot-2", "spot-swh"], BY_PLATFORM["pleiades-neo-3", "pleiades-neo"]
    mix = (replace(spot_2, weight=3.0), replace(neo_3, weight=1.0))
    items = list(generate_items(2000, 11, platforms=mix))
    counts = collections.Counter(i["properties"]["platform"] for i in items)
    assert set(counts) == {"spot-2", "pleiades-neo-3"}
    assert counts["spot-2"] / len(items) == pytest.approx(0.75, abs=0.03)
    assert generate_item(11, 7, platforms=mix) == items[7]


@pytest.mark.parametrize(
    ("when", "lon", "lat", "azimuth", "elevation"),
    [  # centre time and place of the real DIMAP samples, with their SUN_AZIMUTH/SUN_ELEVATION
        pytest.param("2021-11-07T10:29:12.67", 5.369, 43.290, 165.431, 29.077, id="PNEO3"),
        pytest.param("2021-08-27T15:49:31.03", -73.608, 18.362, 115.233, 71.767, id="PHR1A"),
        pytest.param("2020-12-14T14:15:25.42", -70.033, -33.518, 80.116, 57.872, id="SPOT6"),
    ],
)
def test_sun_position_matches_real_metadata(
    when: str, lon: float, lat: float, azimuth: float, elevation: float
) -> None:
    """Within half a degree of the sun's true direction (azimuth alone is ill-conditioned when
    the sun is high: 1° of azimuth at 72° of elevation is 0.3° on the sky)."""
    moment = datetime.fromisoformat(when).replace(tzinfo=UTC)
    computed_azimuth, computed_elevation = sun_position(moment, lat, lon)
    a1, e1, a2, e2 = map(math.radians, (computed_azimuth, computed_elevation, azimuth, elevation))
    separation = math.degrees(
        math.acos(math.sin(e1) * math.sin(e2) + math.cos(e1) * math.cos(e2) * math.cos(a1 - a2))
    )
    assert separation < 0.5


def test_incidence_from_off_nadir() -> None:
    # The PHR1A sample: viewing 25.566° from 694 km gives 28.616° at the ground.
    assert incidence_angle(25.5663414336154, 694.0) == pytest.approx(28.6159, abs=0.15)


async def test_served_items_are_valid_stac(client: httpx.AsyncClient) -> None:
    for collection in SUMMARIES:
        page = (await client.get(f"/collections/{collection}/items", params={"limit": 12})).json()
        assert page["features"]
        with offline_schemas():
            for item in page["features"]:
                validate_dict(item)


def test_load_is_idempotent_and_extends(database: str, storage_root: Path) -> None:
    seed = 99
    try:
        first = load_demo_archive(database, storage_root, items=30, seed=seed, progress=False)
        again = load_demo_archive(database, storage_root, items=30, seed=seed, progress=False)
        more = load_demo_archive(database, storage_root, items=45, seed=seed, progress=False)
        assert (first.loaded, first.skipped) == (30, False)
        assert again.skipped and again.total == 30
        assert (more.loaded, more.total) == (15, 45)
        ids = [i["id"] for i in generate_items(45, seed)]
        with connect(database) as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM items WHERE id = ANY(%s)", [ids]
            ).fetchone() or (0,)
        assert count == 45
    finally:
        with connect(database) as conn:
            conn.execute(
                "DELETE FROM items WHERE id = ANY(%s)",
                [[i["id"] for i in generate_items(45, seed)]],
            )
            conn.execute("DELETE FROM dinamis.loads WHERE name LIKE %s", [f"demo-{seed}-%"])
