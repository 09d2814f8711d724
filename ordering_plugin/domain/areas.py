"""Areas of interest of imagery requests: one valid polygon or multipolygon in EPSG:4326,
since Airbus prices, orders and tasks surfaces. Reading GeoJSON and files is
`extensions.areas`'s; the rules of an area of interest are here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.validation import explain_validity

from extensions.areas import file_kind, from_bbox, geojson_geometries, in_degrees, read_file
from extensions.errors import InvalidFields, InvalidRequest, PayloadTooLarge
from extensions.i18n import _


def wrong_area(message: str, field: str = "geometry") -> InvalidFields:
    """An error about the area of interest, by the field it came in (`geometry` or `bbox`),
    for the forms to show it beside the area's fields."""
    return InvalidFields({field: message})


def from_geojson(value: dict[str, Any]) -> shapely.Geometry:
    """A GeoJSON geometry, Feature or FeatureCollection as one (multi)polygon."""
    parts = [checked(g) for g in geojson_geometries(value)]
    if not parts:
        raise wrong_area(_("La zone d'intérêt ne contient aucun objet."))
    # A union of valid polygons in degrees is one too: no second check.
    return parts[0] if len(parts) == 1 else _union(parts)


def from_file(name: str, content: bytes, max_bytes: int) -> shapely.Geometry:
    """An uploaded file (GeoJSON, KML or zipped shapefile) as one (multi)polygon."""
    file_kind(name)
    if len(content) > max_bytes:
        raise PayloadTooLarge(
            _("%(name)s dépasse %(value)s Mo.", name=name, value=max_bytes // 2**20)
        )
    return checked(_union(read_file(name, content)))


def _union(parts: list[shapely.Geometry]) -> shapely.Geometry:
    try:
        return shapely.union_all(parts)
    except shapely.errors.GEOSException as exc:
        raise wrong_area(
            _("Les parties de la zone d'intérêt ne se fusionnent pas : %(exc)s.", exc=exc)
        ) from exc


def checked(geometry: shapely.Geometry) -> shapely.Geometry:
    """A polygonal, valid geometry in longitude/latitude, or a clear error."""
    if geometry.is_empty:
        raise wrong_area(_("La zone d'intérêt est vide."))
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        if geometry.geom_type == "GeometryCollection":
            polygons = [g for g in geometry.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            if polygons:
                return checked(shapely.union_all(polygons))
        raise wrong_area(
            _(
                "La zone d'intérêt doit être un polygone ou un multipolygone, pas un "
                "%(geom_type)s.",
                geom_type=geometry.geom_type,
            )
        )
    if not geometry.is_valid:
        raise wrong_area(
            _(
                "La zone d'intérêt n'est pas un polygone valide : %(geometry)s.",
                geometry=explain_validity(geometry),
            )
        )
    try:
        return in_degrees(geometry)
    except InvalidRequest as exc:
        raise wrong_area(
            _("La zone d'intérêt doit être en degrés de longitude/latitude (EPSG:4326).")
        ) from exc


def area_of(geometry: dict[str, Any] | None, bbox: list[float] | None) -> shapely.Geometry:
    if geometry is not None and bbox is not None:
        raise wrong_area(_("Donnez `geometry` ou `bbox`, pas les deux."))
    if geometry is not None:
        try:
            return from_geojson(geometry)
        except InvalidFields:
            raise
        except InvalidRequest as exc:
            raise wrong_area(str(exc)) from exc
    if bbox is not None:
        try:
            return from_bbox(bbox)
        except InvalidRequest as exc:
            raise wrong_area(str(exc), "bbox") from exc
    raise wrong_area(_("La zone d'intérêt manque : `geometry` (GeoJSON) ou `bbox`."))


def parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidFields(
            {"datetime": _("Pas une date RFC 3339 : %(value)r.", value=value)}
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def interval(value: str) -> tuple[datetime, datetime]:
    start, slash, end = value.partition("/")
    if not slash or start in ("", "..") or end in ("", ".."):
        raise InvalidFields({"datetime": _("`datetime` est un intervalle fermé : début/fin.")})
    low, high = parse_time(start), parse_time(end)
    if high <= low:
        raise InvalidFields({"datetime": _("La fenêtre finit avant de commencer.")})
    return low, high
