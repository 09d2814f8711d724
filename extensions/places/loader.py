"""Fills `places.places` and `places.names` during `dinamis db migrate`, after the schema's
migration (0006). Idempotent and cheap when nothing changed: the fingerprint of the sources
is kept in `places.source`, and a second run only reads the packages' versions and hashes
the boundaries file."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from importlib.metadata import version
from typing import Any

import psycopg
import shapely
from psycopg.types.json import Jsonb
from shapely.geometry import MultiPolygon, Polygon, box

from extensions.places.sources import (
    BOUNDARIES_FILE,
    DECOUPAGE,
    KINDS,
    WORLD_ATLAS,
    Place,
    PlacesSettings,
    SourceMissing,
    decode_multipolygon,
    french_places,
    normalize,
    overseas_names,
    package_dir,
    package_version,
    read_boundaries,
    world_places,
)
from pgstac.db import connect

logger = logging.getLogger(__name__)

# Bump when the loader changes what it writes for the same sources.
LOADER_VERSION = "1"

Polygons = list[list[list[tuple[float, float]]]]


def fingerprint(settings: PlacesSettings | None = None) -> str:
    """A digest of what the loader reads: the npm packages' versions (npm pins their files by
    version and integrity), pycountry's (the French country names) and the boundaries file."""
    packages = [package_version(package_dir(name, settings)) for name in (DECOUPAGE, WORLD_ATLAS)]
    digest = hashlib.sha256(
        f"{LOADER_VERSION} {' '.join(packages)} pycountry {version('pycountry')}".encode()
    )
    digest.update(BOUNDARIES_FILE.read_bytes())
    return digest.hexdigest()


# Half the quantization step of world-atlas: the size given to a place its outline lost.
MARGIN = 0.002


def ewkb_hex(polygons: Polygons) -> str:
    """A MultiPolygon as hex EWKB (SRID 4326), which PostGIS reads in COPY text; rings of
    fewer than four points (degenerate islets of the quantized sources) are left out, and a
    place left with none (the Vatican) gets the small box around its points instead."""
    kept = [
        Polygon(polygon[0], [ring for ring in polygon[1:] if len(ring) >= 4])
        for polygon in polygons
        if len(polygon[0]) >= 4
    ]
    if not kept:
        points = [point for polygon in polygons for ring in polygon for point in ring]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        kept = [box(min(xs) - MARGIN, min(ys) - MARGIN, max(xs) + MARGIN, max(ys) + MARGIN)]
    return str(
        shapely.to_wkb(shapely.set_srid(MultiPolygon(kept), 4326), hex=True, include_srid=True)
    )


def gather(settings: PlacesSettings | None = None) -> tuple[list[tuple[Place, Polygons]], int]:
    """Every place with its outline, and how many places had no outline (left out)."""
    decoupage = package_dir(DECOUPAGE, settings)
    atlas = package_dir(WORLD_ATLAS, settings)
    outlines = {(kind, code): encoded for kind, code, encoded in read_boundaries()}
    places: list[tuple[Place, Polygons]] = []
    without = 0
    for place in french_places(decoupage):
        encoded = outlines.get((place.kind, place.code))
        if encoded is None:
            without += 1
            continue
        places.append((place, decode_multipolygon(encoded)))
    for place in world_places(atlas, overseas_names(decoupage)):
        if place.geometry is not None:
            places.append((place, place.geometry["coordinates"]))
    return places, without


def load_places(dsn: str, settings: PlacesSettings | None = None, force: bool = False) -> list[str]:
    """Load the gazetteer unless the same sources are loaded already; returns what changed."""
    try:
        current = fingerprint(settings)
    except SourceMissing as exc:
        logger.warning("places not loaded: %s", exc)
        return [f"places: not loaded, {exc}"]
    with connect(dsn) as conn:
        loaded = conn.execute("SELECT fingerprint FROM places.source").fetchone()
        if loaded and loaded[0] == current and not force:
            return []
        started = time.monotonic()
        places, without = gather(settings)
        counts = write(conn, places)
        conn.execute(
            "INSERT INTO places.source (fingerprint, counts) VALUES (%s, %s) "
            "ON CONFLICT (singleton) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, "
            "counts = EXCLUDED.counts, loaded_at = now()",
            [current, Jsonb(counts)],
        )
        conn.commit()
        conn.execute("ANALYZE places.places")
        conn.execute("ANALYZE places.names")
        conn.commit()
    seconds = time.monotonic() - started
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    decoupage = package_version(package_dir(DECOUPAGE, settings))
    return [
        f"places: {summary} loaded in {seconds:.1f} s ({DECOUPAGE} {decoupage}; "
        f"{without} without an outline left out)"
    ]


def names_of(place: Place) -> Iterable[str]:
    keys = {normalize(place.name), *(normalize(a) for a in place.aliases)}
    return sorted(k for k in keys if k)


def write(conn: psycopg.Connection[Any], places: list[tuple[Place, Polygons]]) -> dict[str, int]:
    """Replace the gazetteer's rows in the caller's transaction."""
    conn.execute("TRUNCATE places.names, places.places")
    counts = dict.fromkeys(KINDS, 0)
    with conn.cursor().copy(
        "COPY places.places (id, kind, code, name, context, population, importance, key, geom) "
        "FROM STDIN"
    ) as copy:
        for place, polygons in places:
            copy.write_row(
                (
                    place.id,
                    place.kind,
                    place.code,
                    place.name,
                    place.context,
                    place.population,
                    KINDS.index(place.kind),
                    normalize(place.name),
                    ewkb_hex(polygons),
                )
            )
            counts[place.kind] += 1
    with conn.cursor().copy("COPY places.names (place_id, key) FROM STDIN") as copy:
        for place, _ in places:
            for key in names_of(place):
                copy.write_row((place.id, key))
    # world-atlas quantizes Natural Earth to about 400 m, which leaves some outlines invalid
    # (touching islands, crossed rings); the boundaries file's are valid already.
    conn.execute(
        "UPDATE places.places "
        "SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom, 'method=structure'), 3)) "
        "WHERE kind IN ('country', 'territory') AND NOT (ST_IsValidDetail(geom)).valid"
    )
    return counts
