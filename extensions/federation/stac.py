"""From STAC to OneAtlas and back: a search as OneAtlas query parameters, a OneAtlas feature
as a STAC item of the `airbus-archive` collection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from extensions.errors import InvalidSearch
from extensions.i18n import _
from pgstac.missions import AIRBUS, AIRBUS_PLATFORMS

COLLECTION = "airbus-archive"
MAX_RESULTS = 10_000  # OneAtlas reports and reaches at most this many results
# OneAtlas' names → ours, from the missions table.
CONSTELLATIONS = {code: m.constellation for code, m in AIRBUS.items()}
ORDER_PRODUCTS = {
    code: f"airbus-archive-{m.ordering.key}" for code, m in AIRBUS.items() if m.ordering
}
PLATFORMS = {code: p.id for code, (_, p) in AIRBUS_PLATFORMS.items()}
UPSTREAM_PLATFORMS = {v: k for k, v in PLATFORMS.items()}
UPSTREAM_CONSTELLATIONS = {v: k for k, v in CONSTELLATIONS.items()}
INSTRUMENTS = {code: sorted({p.instrument for p in m.platforms}) for code, m in AIRBUS.items()}
# STAC property → OneAtlas range parameter
RANGES = {
    "eo:cloud_cover": "cloudCover",
    "view:incidence_angle": "incidenceAngle",
    "gsd": "resolution",
}
SORTS = {
    "datetime": "acquisitionDate",
    "eo:cloud_cover": "cloudCover",
    "view:incidence_angle": "incidenceAngle",
}


def links(feature: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A `_links` entry as a list: OneAtlas gives an object or an array."""
    value = (feature.get("_links") or {}).get(key)
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def datastrip_ids(properties: dict[str, Any]) -> set[str]:
    """Every identifier a local item's `dinamis:datastrip_id` could be for this scene."""
    keys = ("archiveIdentifier", "acquisitionIdentifier", "sourceIdentifier", "parentIdentifier")
    return {str(properties[k]) for k in keys if properties.get(k)}


def datastrip_id(properties: dict[str, Any]) -> str | None:
    """As our harvester records it: the ACQ_ id for Pléiades Neo, the DS_ id otherwise."""
    if properties.get("constellation") == "PNEO" and properties.get("acquisitionIdentifier"):
        return str(properties["acquisitionIdentifier"])
    for key in ("archiveIdentifier", "sourceIdentifier", "acquisitionIdentifier"):
        if properties.get(key):
            return str(properties[key])
    return None


def to_item(
    feature: dict[str, Any], base_url: str, image_url: Callable[[str], str]
) -> dict[str, Any] | None:
    """A OneAtlas feature as a STAC item; None when it lacks what an item needs."""
    props = feature.get("properties") or {}
    identifier, when, geometry = (
        props.get("id"),
        props.get("acquisitionDate"),
        feature.get("geometry"),
    )
    if not (identifier and when and isinstance(geometry, dict) and geometry.get("coordinates")):
        return None
    constellation = str(props.get("constellation", ""))
    properties: dict[str, Any] = {
        "datetime": when,
        "constellation": CONSTELLATIONS.get(constellation, constellation.lower()),
        "platform": PLATFORMS.get(
            str(props.get("platform")), str(props.get("platform", "")).lower()
        ),
        "instruments": INSTRUMENTS.get(constellation, []),
        "gsd": props.get("resolution"),
        "eo:cloud_cover": props.get("cloudCover"),
        "eo:snow_cover": props.get("snowCover"),
        "view:incidence_angle": props.get("incidenceAngle"),
        "view:azimuth": props.get("azimuthAngle"),
        "view:sun_azimuth": props.get("illuminationAzimuthAngle"),
        "view:sun_elevation": props.get("illuminationElevationAngle"),
        "processing:level": props.get("processingLevel"),
        "order:status": "orderable",
        "dinamis:datastrip_id": datastrip_id(props),
        "oneatlas:id": identifier,
        "oneatlas:acquisition_identifier": props.get("acquisitionIdentifier"),
        "oneatlas:archive_identifier": props.get("archiveIdentifier"),
        "oneatlas:source_identifier": props.get("sourceIdentifier"),
        "oneatlas:product_type": props.get("productType"),
    }
    assets = {}
    for key, role, title in (
        ("thumbnail", "thumbnail", "Vignette"),
        ("quicklook", "overview", "Aperçu (quicklook)"),
    ):
        if found := links(feature, key):
            assets[role] = {
                "href": image_url(found[0]["href"]),
                "type": "image/jpeg",
                "title": title,
                "roles": [role],
            }
    item_url = f"{base_url}collections/{COLLECTION}/items/{identifier}"
    product = ORDER_PRODUCTS.get(constellation)
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v2.0.0/schema.json",
            "https://stac-extensions.github.io/view/v1.0.0/schema.json",
            "https://stac-extensions.github.io/order/v1.1.0/schema.json",
        ],
        "id": str(identifier),
        "collection": COLLECTION,
        "geometry": geometry,
        "bbox": bbox_of(geometry),
        "properties": {k: v for k, v in properties.items() if v is not None},
        "assets": assets,
        "links": [
            {"rel": "self", "href": item_url, "type": "application/geo+json"},
            {
                "rel": "collection",
                "href": f"{base_url}collections/{COLLECTION}",
                "type": "application/json",
            },
            {
                "rel": "parent",
                "href": f"{base_url}collections/{COLLECTION}",
                "type": "application/json",
            },
            {"rel": "root", "href": base_url, "type": "application/json"},
            *(
                [
                    {
                        "rel": "order",
                        "href": f"{base_url}ordering/products/{product}/orders",
                        "method": "POST",
                        "type": "application/json",
                        "title": "Commander cette scène",
                    }
                ]
                if product
                else []
            ),
        ],
    }


def bbox_of(geometry: dict[str, Any]) -> list[float]:
    points: list[list[float]] = []

    def walk(value: Any) -> None:
        if value and isinstance(value[0], int | float):
            points.append(value)
        else:
            for part in value:
                walk(part)

    walk(geometry["coordinates"])
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [min(xs), min(ys), max(xs), max(ys)]


# -- search → query ------------------------------------------------------------------------------


class Bounds:
    """A range of a numeric property, from comparisons, as OneAtlas' range string."""

    def __init__(self) -> None:
        self.low: tuple[float, bool] | None = None  # value, inclusive
        self.high: tuple[float, bool] | None = None

    def add(self, op: str, value: float) -> None:
        if op in (">", ">=", "gt", "gte"):
            self.low = (value, op in (">=", "gte"))
        elif op in ("<", "<=", "lt", "lte"):
            self.high = (value, op in ("<=", "lte"))
        elif op in ("=", "eq"):
            self.low, self.high = (value, True), (value, True)
        else:
            raise InvalidSearch(_("L'archive Airbus ne sait pas filtrer avec `%(op)s`.", op=op))

    def text(self) -> str:
        low = f"{'[' if self.low[1] else ']'}{self.low[0]:g}" if self.low else "["
        high = f"{self.high[0]:g}{']' if self.high[1] else '['}" if self.high else "]"
        return f"{low},{high}"


def to_query(search: Any, limit: int, page: int) -> dict[str, Any]:
    """The OneAtlas search for a STAC search of the commandable archive (POST body)."""
    query: dict[str, Any] = {"itemsPerPage": limit, "startPage": page, "sortBy": "-acquisitionDate"}
    if search.intersects is not None:
        query["geometry"] = search.intersects.model_dump(mode="json", exclude_none=True)
        query["relation"] = "intersects"
    elif search.bbox:
        box = list(search.bbox)
        west, south, east, north = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
        query["bbox"] = f"{west},{south},{east},{north}"
    if search.datetime and (period := acquisition_range(str(search.datetime))):
        query["acquisitionDate"] = period
    if search.ids:
        query["id"] = ",".join(search.ids)
    ranges: dict[str, Bounds] = {}
    lists: dict[str, list[str]] = {}
    filter_expr = getattr(search, "filter_expr", None)
    if filter_expr:
        _filter(filter_expr, ranges, lists)
    for name, conditions in (getattr(search, "query", None) or {}).items():
        if name in RANGES:
            for op, value in conditions.items():
                ranges.setdefault(RANGES[name], Bounds()).add(op, float(value))
        elif name in ("platform", "constellation"):
            for op, value in conditions.items():
                _values(name, op, value, lists)
        else:
            raise InvalidSearch(_("L'archive Airbus ne se cherche pas par `%(name)s`.", name=name))
    for parameter, bounds in ranges.items():
        query[parameter] = bounds.text()
    query["constellation"] = ",".join(lists.get("constellation") or CONSTELLATIONS)
    if lists.get("platform"):
        query["platform"] = ",".join(lists["platform"])
    if sortby := getattr(search, "sortby", None):
        query["sortBy"] = (
            ",".join(
                ("-" if s.direction == "desc" else "") + SORTS[s.field]
                for s in sortby
                if s.field in SORTS
            )
            or query["sortBy"]
        )
    return query


def acquisition_range(value: str) -> str | None:
    """A STAC datetime (instant or interval, open ends `..`) as OneAtlas' range."""
    start, interval, end = value.partition("/")
    if not interval:
        return f"[{start},{start}]"
    start, end = ("" if v in ("", "..") else v for v in (start, end))
    if start and end:
        return f"[{start},{end}]"
    if start:
        return f"[{start}"
    return f"[1986-01-01T00:00:00Z,{end}]" if end else None


def _filter(
    expression: dict[str, Any], ranges: dict[str, Bounds], lists: dict[str, list[str]]
) -> None:
    op = str(expression.get("op", "")).lower()
    args = expression.get("args") or []
    if op == "and":
        for part in args:
            _filter(part, ranges, lists)
        return
    name = args[0].get("property") if args and isinstance(args[0], dict) else None
    if name in RANGES and op in ("<", "<=", ">", ">=", "=") and isinstance(args[1], int | float):
        ranges.setdefault(RANGES[name], Bounds()).add(op, float(args[1]))
    elif name in RANGES and op == "between" and len(args) == 3:
        bounds = ranges.setdefault(RANGES[name], Bounds())
        bounds.add(">=", float(args[1]))
        bounds.add("<=", float(args[2]))
    elif name in ("platform", "constellation") and op in ("=", "in"):
        _values(name, op, args[1], lists)
    else:
        raise InvalidSearch(
            _(
                "L'archive Airbus ne se cherche que par zone, période, mission, plateforme, "
                "couverture nuageuse, angle d'incidence et résolution : elle ne sait pas "
                "appliquer `%(op)s` à `%(name)s`.",
                op=op,
                name=name or args,
            )
        )


def _values(name: str, op: str, value: Any, lists: dict[str, list[str]]) -> None:
    values = value if isinstance(value, list) else [value]
    mapping = UPSTREAM_PLATFORMS if name == "platform" else UPSTREAM_CONSTELLATIONS
    upstream = [mapping[v] for v in values if v in mapping]
    if not upstream:
        raise InvalidSearch(
            _(
                "L'archive Airbus n'a pas de %(name)s %(values)s.",
                name=name,
                values=", ".join(map(str, values)),
            )
        )
    lists.setdefault(name, []).extend(upstream)
