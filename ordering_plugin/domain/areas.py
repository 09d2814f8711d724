"""Areas of interest of imagery requests: one valid polygon or multipolygon in EPSG:4326,
since Airbus prices, orders and tasks surfaces. Reading GeoJSON and files is
`extensions.areas`'s; the rules of an area of interest are here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.validation import explain_validity

from extensions.areas import file_kind, from_bbox, geojson_geometries, in_degrees, read_file
from extensions.errors import InvalidRequest, PayloadTooLarge


def from_geojson(value: dict[str, Any]) -> shapely.Geometry:
    """A GeoJSON geometry, Feature or FeatureCollection as one (multi)polygon."""
    parts = [checked(g) for g in geojson_geometries(value)]
    if not parts:
        raise InvalidRequest("The area of interest holds no feature.")
    # A union of valid polygons in degrees is one too: no second check.
    return parts[0] if len(parts) == 1 else _union(parts)


def from_file(name: str, content: bytes, max_bytes: int) -> shapely.Geometry:
    """An uploaded file (GeoJSON, KML or zipped shapefile) as one (multi)polygon."""
    file_kind(name)
    if len(content) > max_bytes:
        raise PayloadTooLarge(f"{name} is over {max_bytes // 2**20} MB.")
    return checked(_union(read_file(name, content)))


def _union(parts: list[shapely.Geometry]) -> shapely.Geometry:
    try:
        return shapely.union_all(parts)
    except shapely.errors.GEOSException as exc:
        raise InvalidRequest(f"The area of interest's parts cannot be merged: {exc}.") from exc


def checked(geometry: shapely.Geometry) -> shapely.Geometry:
    """A polygonal, valid geometry in longitude/latitude, or a clear error."""
    if geometry.is_empty:
        raise InvalidRequest("The area of interest is empty.")
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        if geometry.geom_type == "GeometryCollection":
            polygons = [g for g in geometry.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            if polygons:
                return checked(shapely.union_all(polygons))
        raise InvalidRequest(
            f"The area of interest must be a polygon or multipolygon, not a {geometry.geom_type}."
        )
    if not geometry.is_valid:
        raise InvalidRequest(
            f"The area of interest is not a valid polygon: {explain_validity(geometry)}."
        )
    return in_degrees(geometry, "The area of interest")


def area_of(geometry: dict[str, Any] | None, bbox: list[float] | None) -> shapely.Geometry:
    if geometry is not None and bbox is not None:
        raise InvalidRequest("Give `geometry` or `bbox`, not both.")
    if geometry is not None:
        return from_geojson(geometry)
    if bbox is not None:
        return from_bbox(bbox)
    raise InvalidRequest("The area of interest is missing: `geometry` (GeoJSON) or `bbox`.")


def parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequest(f"Not an RFC 3339 date-time: {value!r}.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def interval(value: str) -> tuple[datetime, datetime]:
    start, slash, end = value.partition("/")
    if not slash or start in ("", "..") or end in ("", ".."):
        raise InvalidRequest("`datetime` is a closed interval: start/end.")
    low, high = parse_time(start), parse_time(end)
    if high <= low:
        raise InvalidRequest("`datetime` ends before it starts.")
    return low, high
