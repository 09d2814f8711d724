"""A realistic synthetic archive of SPOT 1-7, Pléiades and Pléiades Neo scenes.

Every item is derived from (seed, index) alone, so an archive of N items is the first N
items of any larger one: `dinamis demo --items 1000000` after the default 50 000 only adds.
What makes it realistic:
- each platform's share of the archive follows the DINAMIS catalogue (SPOT 4 and SPOT 2 are
  the largest), and its dates stay inside the platform's life, more of them in summer;
- scenes have each mission's size, lie over France and its overseas territories, and are
  tilted along a descending sun-synchronous track, at the mission's local solar time;
- incidence follows from the off-nadir angle and the orbit altitude; sun azimuth and
  elevation are computed from the time and place;
- cloud cover is skewed towards clear scenes (cloudier in the tropics); snow cover appears
  in winter over the mountains, and is absent for SPOT 1-5 whose metadata has none;
- ortho products carry their projected CRS, shape and transform; sensor products none.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import shapely
import yaml
from pyproj import Transformer
from shapely.geometry import Polygon, box

from ingest.dimap.scene import EXTENSIONS
from pgstac import missions
from pgstac.collections import read_collections
from simulators.archive.rasters import VARIANTS, demo_hrefs

ARCHIVE_END = date(2026, 6, 30)  # fixed, so the same seed gives the same archive on any day
EARTH_RADIUS_KM = 6371.0
STAC_EXTENSIONS = list(EXTENSIONS.values())


@dataclass(frozen=True)
class Product:
    spectral: str  # as in product names: PMS, MS, XS, HX, THX...
    gsd: float
    weight: float


@dataclass(frozen=True)
class Platform:
    platform: str
    label: str
    collection: str
    constellation: str
    instrument: str
    code: str  # as in product names: SPOT4, PHR1A, PNEO3
    start: date
    end: date
    weight: float  # share of the archive, from the catalogue's counts per mission
    altitude_km: float
    max_off_nadir: float
    scene_km: float
    solar_time: float  # local solar time of the descending node, hours
    agile: bool
    products: tuple[Product, ...]
    levels: tuple[tuple[str, float], ...]
    dimap_v2: bool = True


SPOT_1_5_LEVELS = (("1A", 0.5), ("1B", 0.2), ("2A", 0.3))
V2_LEVELS = (("SENSOR", 0.6), ("ORTHO", 0.4))


def drawn(
    platform_id: str,
    weight: float,
    *,
    max_off_nadir: float,
    scene_km: float,
    solar_time: float,
    agile: bool,
    products: tuple[Product, ...],
    levels: tuple[tuple[str, float], ...],
    collection: str | None = None,
    period: tuple[date, date] | None = None,
) -> Platform:
    """A platform of the missions table, and how the archive draws its scenes."""
    mission, satellite = missions.PLATFORMS[platform_id]
    return Platform(
        platform=satellite.id,
        label=satellite.label,
        collection=collection or mission.collection,
        constellation=mission.constellation,
        instrument=satellite.instrument,
        code=f"{mission.dimap[0]}{satellite.dimap_index}",
        start=period[0] if period else satellite.start,
        end=period[1] if period else min(satellite.end or ARCHIVE_END, ARCHIVE_END),
        weight=weight,
        altitude_km=mission.altitude_km,
        max_off_nadir=max_off_nadir,
        scene_km=scene_km,
        solar_time=solar_time,
        agile=agile,
        products=products,
        levels=levels,
        dimap_v2=mission is not missions.SPOT_1_5,
    )


def spot_1_5(n: int, weight: float) -> Platform:
    pan, ms = missions.PLATFORMS[f"spot-{n}"][1].gsd
    products: tuple[Product, ...]
    if n == 5:
        products = (Product("XS", ms, 0.5), Product("HX", 5.0, 0.3), Product("THX", pan, 0.2))
    else:
        products = (Product("XS", ms, 0.8), Product("PXS", pan, 0.2))
    return drawn(
        f"spot-{n}",
        weight,
        max_off_nadir=27.0,
        scene_km=60.0,
        solar_time=10.5,
        agile=False,
        products=products,
        levels=SPOT_1_5_LEVELS,
    )


def spot_6_7(n: int, weight: float) -> Platform:
    pan, ms = missions.PLATFORMS[f"spot-{n}"][1].gsd
    return drawn(
        f"spot-{n}",
        weight,
        max_off_nadir=30.0,
        scene_km=60.0,
        solar_time=10.0,
        agile=True,
        products=(Product("PMS", pan, 0.85), Product("MS", ms, 0.15)),
        levels=V2_LEVELS,
    )


def pleiades(unit: str, weight: float, heritage: tuple[date, date] | None = None) -> Platform:
    """A Pléiades platform; `heritage`: its World Heritage products (orthoimages only) of
    that period."""
    pan, ms = missions.PLATFORMS[f"pleiades-{unit}"][1].gsd
    return drawn(
        f"pleiades-{unit}",
        weight,
        max_off_nadir=30.0,
        scene_km=20.0,
        solar_time=10.5,
        agile=True,
        products=(
            (Product("PMS", pan, 1.0),)
            if heritage
            else (Product("PMS", pan, 0.85), Product("MS", ms, 0.15))
        ),
        levels=(("ORTHO", 1.0),) if heritage else V2_LEVELS,
        collection="pleiades-pwh" if heritage else None,
        period=heritage,
    )


def pleiades_neo(n: int, weight: float) -> Platform:
    pan, ms = missions.PLATFORMS[f"pleiades-neo-{n}"][1].gsd
    return drawn(
        f"pleiades-neo-{n}",
        weight,
        max_off_nadir=30.0,
        scene_km=14.0,
        solar_time=10.5,
        agile=True,
        products=(Product("PMS", pan, 0.85), Product("MS", ms, 0.15)),
        levels=V2_LEVELS,
    )


# Weights: the share of each platform in the DINAMIS catalogue (millions of scenes).
PLATFORMS: tuple[Platform, ...] = (
    spot_1_5(1, 1.30),
    spot_1_5(2, 4.15),
    spot_1_5(3, 0.36),
    spot_1_5(4, 7.25),
    spot_1_5(5, 4.06),
    spot_6_7(6, 1.90),
    spot_6_7(7, 1.59),
    pleiades("1a", 2.00),
    pleiades("1b", 1.56),
    pleiades("1a", 0.35, heritage=(date(2012, 1, 1), date(2018, 12, 31))),
    pleiades("1b", 0.25, heritage=(date(2013, 1, 1), date(2018, 12, 31))),
    pleiades_neo(3, 0.40),
    pleiades_neo(4, 0.35),
)


@dataclass(frozen=True)
class Area:
    name: str
    share: float
    cloudiness: float
    shape: Any  # shapely geometry
    bounds: tuple[float, float, float, float]


@cache
def areas() -> tuple[Area, ...]:
    document = yaml.safe_load(Path(__file__).with_name("areas.yaml").read_text())
    result = []
    for entry in document["areas"]:
        if "polygons" in entry:
            shape = shapely.MultiPolygon([Polygon(p) for p in entry["polygons"]])
        else:
            shape = box(*entry["bbox"])
        shapely.prepare(shape)
        result.append(Area(entry["name"], entry["share"], entry["cloudiness"], shape, shape.bounds))
    return tuple(result)


@cache
def collection_assets() -> dict[str, dict[str, Any]]:
    """Each collection's item_assets (collections.yaml): titles, media types, bands."""
    return {d.id: d.stac["item_assets"] for d in read_collections()}


@cache
def to_projected(epsg: int) -> Transformer:
    return Transformer.from_crs(4326, epsg, always_xy=True)


def pick(rng: random.Random, choices: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def sun_position(when: datetime, lat: float, lon: float) -> tuple[float, float]:
    """Sun azimuth (from north, clockwise) and elevation in degrees; NOAA's approximation."""
    hours = when.hour + when.minute / 60 + when.second / 3600
    gamma = 2 * math.pi / 365 * (when.timetuple().tm_yday - 1 + (hours - 12) / 24)
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * math.cos(gamma)
        - 0.032077 * math.sin(gamma)
        - 0.014615 * math.cos(2 * gamma)
        - 0.040849 * math.sin(2 * gamma)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(gamma)
        + 0.070257 * math.sin(gamma)
        - 0.006758 * math.cos(2 * gamma)
        + 0.000907 * math.sin(2 * gamma)
        - 0.002697 * math.cos(3 * gamma)
        + 0.00148 * math.sin(3 * gamma)
    )
    hour_angle = math.radians((hours * 60 + eqtime + 4 * lon) / 4 - 180)
    phi = math.radians(lat)
    cos_zenith = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(
        hour_angle
    )
    elevation = 90 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))
    azimuth = math.degrees(
        math.atan2(
            math.sin(hour_angle),
            math.cos(hour_angle) * math.sin(phi) - math.tan(decl) * math.cos(phi),
        )
    )
    return (azimuth + 180) % 360, elevation


def incidence_angle(off_nadir: float, altitude_km: float) -> float:
    """Incidence at the ground from the viewing angle at the satellite (spherical Earth)."""
    ratio = (EARTH_RADIUS_KM + altitude_km) / EARTH_RADIUS_KM
    return math.degrees(math.asin(min(1.0, ratio * math.sin(math.radians(off_nadir)))))


def footprint(
    rng: random.Random, lon: float, lat: float, size_km: float, tilt: float
) -> list[list[float]]:
    """A scene's corners (counter-clockwise, closed), tilted along the ground track."""
    half = size_km / 2
    t = math.radians(tilt)
    ring = []
    for x, y in ((-half, -half), (half, -half), (half, half), (-half, half)):
        x, y = x * rng.uniform(0.985, 1.015), y * rng.uniform(0.985, 1.015)
        east, north = x * math.cos(t) + y * math.sin(t), -x * math.sin(t) + y * math.cos(t)
        ring.append(
            [
                round(lon + east / (111.32 * math.cos(math.radians(lat))), 7),
                round(lat + north / 110.57, 7),
            ]
        )
    return [*ring, ring[0]]


def acquisition_date(rng: random.Random, platform: Platform, southern: bool) -> date:
    """A day inside the platform's life, more often in the local summer."""
    span = (platform.end - platform.start).days
    while True:
        day = platform.start + timedelta(days=rng.randrange(span + 1))
        peak = 15 if southern else 196  # mid-January / mid-July
        season = 1 + 0.6 * math.cos(2 * math.pi * (day.timetuple().tm_yday - peak) / 365)
        if rng.random() * 1.6 < season:
            return day


def point_in(rng: random.Random, area: Area) -> tuple[float, float]:
    west, south, east, north = area.bounds
    while True:
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if shapely.contains_xy(area.shape, lon, lat):
            return lon, lat


def cloud_cover(rng: random.Random, cloudiness: float) -> float:
    """Skewed towards clear scenes, as an archive is: 45 % under 5 %, 25 % under 25 %
    (fewer in cloudier areas)."""
    u = rng.random() * cloudiness
    if u < 0.45:
        value = rng.uniform(0, 5)
    elif u < 0.70:
        value = rng.uniform(5, 25)
    else:
        value = rng.uniform(25, 100)
    return round(value, 2)


def projection(
    level: str,
    ring: list[list[float]],
    lon: float,
    lat: float,
    gsd: float,
    scene_km: float,
    metro: bool,
) -> dict[str, Any]:
    """proj:* of the product: projected for ortho levels; sensor geometry has a shape but no
    CRS (no proj:code at all: pgstac does not keep JSON nulls)."""
    if level not in ("ORTHO", "2A"):
        pixels = round(scene_km * 1000 / gsd)
        return {"proj:shape": [pixels, pixels]}
    epsg = 2154 if metro else (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) + 1
    xs, ys = to_projected(epsg).transform([p[0] for p in ring], [p[1] for p in ring])
    west, north = math.floor(min(xs) / gsd) * gsd, math.ceil(max(ys) / gsd) * gsd
    width = math.ceil((max(xs) - west) / gsd)
    height = math.ceil((north - min(ys)) / gsd)
    return {
        "proj:code": f"EPSG:{epsg}",
        "proj:shape": [height, width],
        "proj:transform": [gsd, 0.0, west, 0.0, -gsd, north],
    }


def isoformat(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def generate_item(
    seed: int, index: int, platforms: tuple[Platform, ...] = PLATFORMS
) -> dict[str, Any]:
    """The index-th item of the archive of this seed; `platforms`: another mix of missions
    (bench/scale.py draws the seed's)."""
    rng = random.Random(seed * 1_000_003 + index)
    platform = rng.choices(platforms, weights=[p.weight for p in platforms])[0]
    area = rng.choices(areas(), weights=[a.share for a in areas()])[0]
    lon, lat = point_in(rng, area)
    metro = area.name == "France métropolitaine"

    day = acquisition_date(rng, platform, southern=lat < 0)
    solar = platform.solar_time + rng.uniform(-0.25, 0.25)
    centre = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        hours=solar - lon / 15, microseconds=rng.randrange(1_000_000)
    )
    duration = timedelta(seconds=platform.scene_km / 7.0)  # ~7 km/s ground speed
    product = pick(rng, tuple((p, p.weight) for p in platform.products))
    level = pick(rng, platform.levels)

    tilt = -rng.uniform(8, 14) + (rng.uniform(-6, 6) if platform.agile else 0)
    ring = footprint(rng, lon, lat, platform.scene_km, tilt)
    off_nadir = min(abs(rng.gauss(0, platform.max_off_nadir / 2.2)), platform.max_off_nadir)
    if platform.agile:
        view_azimuth = rng.uniform(0, 360)
    else:  # SPOT 1-5 look sideways, east or west of the track
        view_azimuth = (100.0 if rng.random() < 0.5 else 280.0) + rng.uniform(-8, 8)
    sun_azimuth, sun_elevation = sun_position(centre, lat, lon)

    job = 5_000_000_000 + index
    stamp = centre.strftime("%Y%m%d%H%M%S") + str(centre.microsecond // 100_000)
    east_west, north_south = ("E" if lon >= 0 else "W"), ("N" if lat >= 0 else "S")
    hemi = f"{east_west}{abs(round(lon)):03d}{north_south}{abs(round(lat)):02d}"
    if platform.dimap_v2:
        level_code = "ORT" if level == "ORTHO" else "SEN"
        if platform.constellation == "pleiades-neo":
            item_id = f"{platform.code}_{stamp}_{product.spectral}_{level_code}_{job}"
            datastrip = f"ACQ_{platform.code}_{rng.randrange(10**13, 10**14)}"
        else:
            item_id = f"{platform.code}_{product.spectral}_{stamp}_{level_code}_{job}"
            datastrip = f"DS_{platform.code}_{stamp}_FR1_PX_{hemi}_{rng.randrange(10**4, 10**5)}"
    else:
        k, j = int((lon + 180) * 2.8) % 1000, int((90 - lat) * 3.6)
        item_id = f"{platform.code}_{product.spectral}_{stamp[:14]}_{k:03d}-{j:03d}_{level}_{job}"
        datastrip = f"DS_{platform.code}_{stamp[:14]}_K{k:03d}J{j:03d}"

    properties: dict[str, Any] = {
        "title": f"{platform.label} {product.spectral} {day.isoformat()} {level}",
        "description": (
            f"Scène {platform.label} {product.spectral} ({level}, {product.gsd:g} m) acquise le "
            f"{centre:%d/%m/%Y à %H:%M} UTC, {area.name}."
        ),
        "datetime": isoformat(centre),
        "start_datetime": isoformat(centre - duration / 2),
        "end_datetime": isoformat(centre + duration / 2),
        "platform": platform.platform,
        "constellation": platform.constellation,
        "instruments": [platform.instrument],
        "gsd": product.gsd,
        "eo:cloud_cover": cloud_cover(rng, area.cloudiness),
        "view:off_nadir": round(off_nadir, 4),
        "view:incidence_angle": round(incidence_angle(off_nadir, platform.altitude_km), 4),
        "view:azimuth": round(view_azimuth % 360, 4),
        "view:sun_azimuth": round(sun_azimuth, 4),
        "view:sun_elevation": round(sun_elevation, 4),
        "sat:orbit_state": "descending",
        "processing:level": level,
        **projection(level, ring, lon, lat, product.gsd, platform.scene_km, metro),
        "dinamis:datastrip_id": datastrip,
    }
    if platform.dimap_v2:  # DIMAP V1 (SPOT 1-5) has no snow cover: absent, never 0
        winter = centre.month in (12, 1, 2, 3) and lat > 44 and rng.random() < 0.35
        properties["eo:snow_cover"] = round(rng.uniform(0, 40), 2) if winter else 0.0

    hrefs = demo_hrefs(platform.collection, rng.randrange(VARIANTS))
    templates = collection_assets()[platform.collection]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": STAC_EXTENSIONS,
        "id": item_id,
        "collection": platform.collection,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [min(xs), min(ys), max(xs), max(ys)],
        "properties": properties,
        "links": [],
        "assets": {key: {"href": href, **templates[key]} for key, href in hrefs.items()},
    }


def generate_items(
    count: int, seed: int, start: int = 0, platforms: tuple[Platform, ...] = PLATFORMS
) -> Iterator[dict[str, Any]]:
    for index in range(start, count):
        yield generate_item(seed, index, platforms)
