"""Exact counts of any item search, fast: `numberMatched`, and the facets of /aggregate.

The database keeps a compact mirror of the items and a rollup of them per 1° cell ×
collection × platform × month × cloud-cover class (migration 0005, kept current by triggers).
A search whose terms the rollup understands (an area, collections, platforms, a period, a
cloud-cover range) is counted in three exact parts:

1. the rollup, for the cells the area covers, the months the period covers and the
   cloud-cover classes the range covers: an item is counted by the cell of one of its
   footprint's vertices, so an item of a covered cell does intersect the area;
2. the mirror's items of those cells that fall in a month or class only partly covered,
   tested one by one;
3. the mirror's items anchored elsewhere that intersect the area: they lie across its edge.
   For a rectangle (a bbox, the viewer's view), they are those anchored in the cells around
   it, and a footprint that is a convex quadrilateral (a scene's four corners: migration
   0012) is tested on its corners, which an index holds with the rollup's keys, the table
   left unread, read by cell and by the band of the footprints' south edges that may meet
   it (migration 0014); any other area or footprint is looked up by the geometry index on
   the edge cells' part of the area and tested by PostGIS.

Any other search (ids, free text, other properties, other operators) is counted by pgstac's
own SQL for the search: slower, just as exact.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np
import orjson
import procrastinate
import shapely
from cachetools import LRUCache
from shapely.errors import ShapelyError
from shapely.geometry import shape

from extensions.observability import COUNTS
from extensions.services import job_services

CELL_DEGREES = 1
# Cloud-cover classes of the rollup (migration 0005): class k holds (EDGES[k-1], EDGES[k]],
# class 0 holds 0 and below, class 6 everything above 50; -1 is "unknown".
EDGES = (0.0, 5.0, 10.0, 20.0, 30.0, 50.0)
CLASSES: dict[int, tuple[float, float]] = {
    0: (-math.inf, 0.0),
    **{k: (EDGES[k - 1], EDGES[k]) for k in range(1, len(EDGES))},
    len(EDGES): (EDGES[-1], math.inf),
}
UNKNOWN_CLASS = -1
CLASS_LABELS = {0: "0", **{k: f"{lo:g}-{hi:g}" for k, (lo, hi) in CLASSES.items() if k}}
CLASS_LABELS[len(EDGES)] = f"{EDGES[-1]:g}-100"

CLOUD = "eo:cloud_cover"
FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}
MAX_EDGE_PIECES = 400
LONGEST = "(SELECT longest FROM facets.spans)"


@dataclass(frozen=True)
class Spans:
    """The longest item and the widest and tallest quadrilateral (facets.spans): how long
    before a period a matching item may start, how far from a rectangle it may be anchored.
    A count reads them first and gives them as values: from a subquery, the planner guessed
    a few hundred rows in the ranges they bound, where a region holds a million."""

    longest: timedelta
    widest: float
    tallest: float


async def read_spans(conn: asyncpg.Connection) -> Spans:
    row = await conn.fetchrow("SELECT longest, widest, tallest FROM facets.spans")
    return Spans(row["longest"], row["widest"], row["tallest"])


@dataclass(frozen=True)
class Bound:
    value: float
    inclusive: bool


@dataclass
class Terms:
    """A search as the rollup can count it; None fields do not restrict."""

    area: dict[str, Any] | None = None
    collections: frozenset[str] | None = None
    platforms: frozenset[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    low: Bound | None = None
    high: Bound | None = None

    def restrict(self, name: str, values: set[str]) -> None:
        current = getattr(self, name)
        setattr(self, name, frozenset(values if current is None else current & values))

    def bound(self, op: str, value: float) -> None:
        if op in (">", ">=", "="):
            new = Bound(value, op != ">")
            if self.low is None or (new.value, not new.inclusive) > (
                self.low.value,
                not self.low.inclusive,
            ):
                self.low = new
        if op in ("<", "<=", "="):
            new = Bound(value, op != "<")
            if self.high is None or (new.value, new.inclusive) < (
                self.high.value,
                self.high.inclusive,
            ):
                self.high = new


def property_name(arg: Any) -> str | None:
    return arg.get("property") if isinstance(arg, dict) and len(arg) == 1 else None


def read_clause(clause: Any, terms: Terms) -> bool:
    """Add one CQL2-JSON clause to the terms; False when the rollup cannot count it."""
    if not isinstance(clause, dict):
        return False
    op, args = clause.get("op"), clause.get("args")
    if op == "and" and isinstance(args, list):
        return all(read_clause(arg, terms) for arg in args)
    if not isinstance(args, list) or len(args) != 2:
        return False
    left, right = args
    if property_name(left) is None and property_name(right) is not None and op in FLIPPED:
        left, right, op = right, left, FLIPPED[op]
    name = property_name(left)
    if name == CLOUD and op in FLIPPED:
        if isinstance(right, bool) or not isinstance(right, int | float):
            return False
        terms.bound(op, float(right))
        return True
    if name in ("collection", "platform") and op in ("=", "in"):
        values = right if op == "in" else [right]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return False
        terms.restrict("collections" if name == "collection" else "platforms", set(values))
        return True
    return False


# What a search may carry and still be counted by the rollup (all else: pgstac's SQL).
UNDERSTOOD = {"collections", "bbox", "intersects", "datetime", "filter", "filter-lang"}


def bbox_polygon(bbox: Sequence[float]) -> dict[str, Any] | None:
    """A 2D or 3D bbox as a GeoJSON polygon; None when it is not 4 or 6 numbers, or crosses the
    antimeridian (west > east)."""
    if len(bbox) not in (4, 6):
        return None
    west, south, east, north = (bbox[0], bbox[1], bbox[3], bbox[4]) if len(bbox) == 6 else bbox
    if west > east or south > north:
        return None
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def read_terms(
    search: dict[str, Any], start: datetime | None, end: datetime | None
) -> Terms | None:
    """The search as rollup terms, or None when it needs pgstac's SQL."""
    if {k for k, v in search.items() if v is not None} - UNDERSTOOD:
        return None
    terms = Terms(start=start, end=end)
    if collections := search.get("collections"):
        terms.restrict("collections", set(collections))
    bbox = search.get("bbox")
    if bbox is not None:
        terms.area = bbox_polygon(bbox)
        if terms.area is None:
            return None  # across the antimeridian: pgstac's SQL knows how it treats it
    if (intersects := search.get("intersects")) is not None:
        if terms.area is not None:
            return None
        terms.area = intersects
    cql2 = search.get("filter")
    if cql2 is not None and (
        search.get("filter-lang", "cql2-json") != "cql2-json" or not read_clause(cql2, terms)
    ):
        return None
    return terms


def month_index(when: datetime) -> int:
    return when.year * 12 + when.month - 1


def month_start(index: int) -> datetime:
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def whole_months(start: datetime | None, end: datetime | None) -> tuple[int, int]:
    """The first and last months that lie entirely inside [start, end] (timestamps are µs)."""
    first = month_index(datetime.min)
    if start is not None:
        first = month_index(start) + (start != month_start(month_index(start)))
    last = month_index(datetime.max) - 1
    if end is not None:
        last = month_index(end)
        if month_start(last + 1) - timedelta(microseconds=1) > end:
            last -= 1
    return first, last


def classes_within(low: Bound | None, high: Bound | None) -> tuple[list[int], list[int]]:
    """Cloud-cover classes entirely inside the range, and those only partly inside."""
    if low is None and high is None:
        return [UNKNOWN_CLASS, *CLASSES], []
    whole, partial = [], []
    for k, (lo, hi) in CLASSES.items():  # the class is (lo, hi], or (-inf, 0] for class 0
        above = low is None or lo > low.value or (lo == low.value and low.inclusive)
        below = high is None or hi < high.value or (hi == high.value and high.inclusive)
        if above and below:
            whole.append(k)
            continue
        misses_low = low is not None and (hi < low.value or (hi == low.value and not low.inclusive))
        misses_high = high is not None and lo >= high.value
        if not (misses_low or misses_high):
            partial.append(k)
    return whole, partial


def cell_id(x: int, y: int) -> int:
    return (y + 90) * 360 + (x + 180)


Box = tuple[float, float, float, float]
"""West, south, east, north."""


@dataclass
class Cells:
    """The cells an area covers, the boxes of its parts in the cells it only touches, and the
    area as a rectangle when it is one."""

    covered: list[int]
    edge_boxes: list[Box]
    rectangle: Box | None = None


def cells_of(area: shapely.Geometry) -> Cells:
    # Cells exist inside the world only: an area's coordinates may lie far beyond it.
    west, south, east, north = np.clip(area.bounds, (-180, -90, -180, -90), (180, 90, 180, 90))
    xs = np.arange(max(math.floor(west) - 1, -180), min(math.floor(east), 179) + 1)
    ys = np.arange(max(math.floor(south) - 1, -90), min(math.floor(north), 89) + 1)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    boxes = shapely.box(gx, gy, gx + CELL_DEGREES, gy + CELL_DEGREES)
    shapely.prepare(area)
    covered = shapely.covers(area, boxes)
    touched = shapely.intersects(area, boxes) & ~covered
    parts = shapely.intersection(area, boxes[touched])
    edge_boxes = [tuple(b) for b in shapely.bounds(parts[~shapely.is_empty(parts)]).tolist()]
    if len(edge_boxes) > MAX_EDGE_PIECES:  # a very intricate area: one box, more rows tested
        edge_boxes = [area.bounds]
    ids = [cell_id(int(x), int(y)) for x, y in zip(gx[covered], gy[covered], strict=True)]
    rectangle = area.bounds if shapely.equals(area, shapely.box(*area.bounds)) else None
    return Cells(ids, edge_boxes, rectangle)


class Query:
    """SQL parameters, numbered as they are added."""

    def __init__(self) -> None:
        self.args: list[Any] = []

    def arg(self, value: Any, cast: str) -> str:
        self.args.append(value)
        return f"${len(self.args)}::{cast}"


def listed(values: list[int]) -> str:
    return f"'{{{','.join(map(str, values))}}}'"


KEYS = "collection, platform, month, class"


def kind_terms(terms: Terms, query: Query) -> list[str]:
    """Terms on the rollup's own columns."""
    clauses = []
    if terms.collections is not None:
        clauses.append(f"collection = ANY({query.arg(sorted(terms.collections), 'text[]')})")
    if terms.platforms is not None:
        clauses.append(f"platform = ANY({query.arg(sorted(terms.platforms), 'text[]')})")
    return clauses


def exact_terms(
    terms: Terms, query: Query, spans: Spans | None = None, dated: bool = True
) -> list[str]:
    """The search's terms on a mirrored item, as pgstac applies them (but its area); with
    the period's range of start dates unless `dated` is false (the caller bounds them), from
    the longest item's span (`spans`, or facets.spans read by the statement) before it."""
    clauses = kind_terms(terms, query)
    if terms.end is not None and dated:
        clauses.append(f"datetime <= {query.arg(terms.end, 'timestamptz')}")
    if terms.start is not None:
        start = query.arg(terms.start, "timestamptz")
        clauses.append(f"end_datetime >= {start}")
        if dated:
            # The index on datetime finds them: an item overlapping the period starts at
            # most the longest item's span before it.
            longest = LONGEST if spans is None else query.arg(spans.longest, "interval")
            clauses.append(f"datetime >= {start} - {longest}")
    for bound, op in ((terms.low, ">"), (terms.high, "<")):
        if bound is not None:
            comparison = op + ("=" if bound.inclusive else "")
            clauses.append(f"cloud {comparison} {query.arg(bound.value, 'float8')}")
    return clauses


def rollup_sql(
    terms: Terms, cells: Cells | None, spans: Spans, grouped: bool = True
) -> tuple[str, list[Any]] | None:
    """The union of the three parts, as rows (collection, platform, month, class, n) counted
    within each part (a part's hundred thousand rows would otherwise be sorted together), or
    as one count per part when not `grouped`; and its parameters. None when no item can
    match."""
    query = Query()

    def kinds() -> list[str]:
        return kind_terms(terms, query)

    def exact(dated: bool = True) -> list[str]:
        """Built anew for each part (a parameter no part names would have no type)."""
        return exact_terms(terms, query, spans, dated)

    first, last = whole_months(terms.start, terms.end)
    whole, partial = classes_within(terms.low, terms.high)
    if not whole and not partial:
        return None
    # A constant list, which PostgreSQL looks up by hashing (a parameter it would scan).
    in_cells = "true" if cells is None else f"cell = ANY({listed(cells.covered)}::int[])"

    def counted(rows: str) -> str:
        """Items of a part, counted by the rollup's keys (or all together)."""
        if grouped:
            return f"SELECT {KEYS}, count(*) AS n FROM {rows} GROUP BY {KEYS}"  # noqa: S608
        return f"SELECT count(*) AS n FROM {rows}"  # noqa: S608

    mirrored = "facets.items WHERE "
    parts = []
    if first <= last:
        if whole:
            rollup = [
                in_cells,
                f"month BETWEEN {first} AND {last}",
                f"class = ANY({listed(whole)})",
            ]
            keys = f"{KEYS}, n" if grouped else "sum(n) AS n"
            parts.append(
                f"SELECT {keys} FROM facets.cells WHERE "  # noqa: S608 - values are parameters
                + " AND ".join(rollup + kinds())
            )
        span = (month_start(first), month_start(last + 1))
        if terms.start is not None or terms.end is not None:
            # Each side a range of the index on datetime bounded by the period: given the
            # period's bounds beside the OR, the planner read the whole period's items (a
            # region's ten years) to find none outside its whole months.
            before = f"datetime < {query.arg(span[0], 'timestamptz')}"
            if terms.start is not None:
                longest = query.arg(spans.longest, "interval")
                before += f" AND datetime >= {query.arg(terms.start, 'timestamptz')} - {longest}"
            after = f"datetime >= {query.arg(span[1], 'timestamptz')}"
            if terms.end is not None:
                after += f" AND datetime <= {query.arg(terms.end, 'timestamptz')}"
            outside = f"(({before}) OR ({after}))"
            parts.append(counted(mirrored + " AND ".join([in_cells, outside, *exact(False)])))
        if partial:
            inside = (
                f"datetime >= {query.arg(span[0], 'timestamptz')}"
                f" AND datetime < {query.arg(span[1], 'timestamptz')}"
            )
            classes = f"class = ANY({listed(partial)})"
            parts.append(counted(mirrored + " AND ".join([in_cells, inside, classes, *exact()])))
    else:  # the period lies within a month or two: its items one by one
        parts.append(counted(mirrored + " AND ".join([in_cells, *exact()])))
    if cells is None or (not cells.edge_boxes and cells.rectangle is None):
        # The covered cells alone (an area without edges: nothing of it inside the world).
        return "\nUNION ALL\n".join(parts), query.args
    area = query.arg(orjson.dumps(terms.area).decode(), "text")
    across = f"ST_Intersects(geometry, ST_SetSRID(ST_GeomFromGeoJSON({area}), 4326))"
    rectangle, prelude = cells.rectangle, ""
    if cells.edge_boxes:
        boxes = " OR ".join(
            f"geometry && ST_MakeEnvelope({', '.join(query.arg(v, 'float8') for v in b)}, 4326)"
            for b in cells.edge_boxes
        )
        # Around a rectangle, only the footprints that are not quadrilaterals (their index).
        shapes = "" if rectangle is None else " AND west IS NULL"
        # OFFSET 0 keeps the other terms outside: the rows are found by their place only (an
        # index on the period would bring every item of the period, anywhere).
        nearby = (
            f"(SELECT * FROM facets.items WHERE ({boxes}){shapes} AND NOT ({in_cells}) OFFSET 0) i"  # noqa: S608
        )
        parts.append(counted(f"{nearby} WHERE " + " AND ".join([across, *exact()])))
    if rectangle is not None:
        prelude, doubtful = around_rectangle(
            rectangle, listed(cells.covered), spans, query, exact(), grouped
        )
        parts.append(f"SELECT {KEYS + ', ' if grouped else ''}n FROM quads")  # noqa: S608
        # Asked of PostGIS only when the quadrilaterals' count found some (the condition
        # outside the subquery is checked before it is run), found by their corners' index
        # (the geometry index would bring every footprint of the area).
        doubtful_rows = " AND ".join([*doubtful, *exact()])
        parts.append(
            counted(
                f"(SELECT {KEYS}, geometry FROM facets.items WHERE {doubtful_rows} OFFSET 0) d"  # noqa: S608
                f" WHERE (SELECT sum(doubtful) FROM quads) > 0 AND {across}"
            )
        )
    return prelude + "\nUNION ALL\n".join(parts), query.args


# Below this, the arithmetic on a quadrilateral's corners may err (its rounding is some
# 1e-14 square degrees): such a footprint is tested by PostGIS.
DOUBT = "1e-9"


# The band of a footprint's south edge (a tenth of a degree), the index's second key after
# its cell (migration 0014, the same text): a cell's items are read in the bands that may
# meet the rectangle only.
BAND = "least(greatest(floor(south * 10), -1000), 1000)::smallint"
# A span (facets.spans) is a difference rounded once: a footprint may reach some 1e-14° further
# than it says, so a rectangle's reach is widened by this much.
SPAN_ROUNDING = 1e-9


def band(latitude: float) -> int:
    """BAND of a latitude, as PostgreSQL computes it (NaN lies above every number there)."""
    if math.isnan(latitude):
        return 1000
    return math.floor(min(max(latitude, -100.0), 100.0) * 10)  # within ±1000 once clamped


def bands(south: float, north: float) -> list[int]:
    """The bands of the footprints whose south edge may lie in [south, north]."""
    return list(range(band(south), band(north) + 1))


# The index is read once per cell and band (a descent each, some microseconds): a 4° box
# makes some 2,000 of them, a rectangle from pole to pole a million.
MAX_BAND_SCANS = 20_000


def cells_within(rectangle: Box, spans: Spans) -> int:
    """At most how many cells lie within the reach of a rectangle (facets.cells_around)."""
    w, s, e, n = rectangle
    reach = (w - spans.widest, s - spans.tallest, e + spans.widest, n + spans.tallest)
    west, south, east, north = np.clip(reach, (-180, -90, -180, -90), (179, 89, 179, 89))
    return (math.floor(east) - math.floor(west) + 1) * (math.floor(north) - math.floor(south) + 1)


def around_rectangle(
    rectangle: Box, covered: str, spans: Spans, query: Query, exact: list[str], grouped: bool
) -> tuple[str, list[str]]:
    """The quadrilaterals anchored around a rectangle (but in the cells it covers, `covered`
    as an SQL array) that meet it, counted from the index that holds their corners (`quads`: n, and
    the number too close to call); and the terms that find, among them, those too close to
    call, which PostGIS tests (read only when there are some)."""
    w, s, e, n = (query.arg(v, "float8") for v in rectangle)
    # Anchored at most the widest (tallest) quadrilateral away: values, so that the planner
    # reckons the cells (an immutable function of them) and the rows of the range.
    widest, tallest = (
        query.arg(v + SPAN_ROUNDING, "float8") for v in (spans.widest, spans.tallest)
    )
    reach = f"{w} - {widest}, {s} - {tallest}, {e} + {widest}, {n} + {tallest}"
    # A footprint meeting the rectangle has its south edge at most the tallest one's height
    # below it.
    south_bands = bands(rectangle[1] - (spans.tallest + SPAN_ROUNDING), rectangle[3])
    if len(south_bands) * cells_within(rectangle, spans) <= MAX_BAND_SCANS:
        in_bands = f"{BAND} = ANY({query.arg(south_bands, 'smallint[]')})"
    else:  # a very tall rectangle: each cell's bands read whole, their west edges filtered
        first, last = (query.arg(b, "smallint") for b in (south_bands[0], south_bands[-1]))
        in_bands = f"{BAND} BETWEEN {first} AND {last}"
    near = [
        f"cell = ANY(facets.cells_around({reach}, {covered}::int[]))",
        in_bands,
        f"west BETWEEN {w} - {widest} AND {e}",
        f"east >= {w}",
        f"south <= {n}",
        f"north >= {s}",
    ]
    # A connected footprint whose width (height) lies within the rectangle's, and whose
    # height (width) meets it, meets it.
    within = f"((west >= {w} AND east <= {e}) OR (south >= {s} AND north <= {n}))"

    def reaching(a: int, b: int) -> str:
        """How far the rectangle's farthest corner lies on the footprint's side of its edge
        from corner a to corner b (counter-clockwise: the inside is on the left)."""
        dx, dy = f"(x{b} - x{a})", f"(y{b} - y{a})"
        return (
            f"greatest({dx} * ({n} - y{a}), {dx} * ({s} - y{a}))"
            f" - least({dy} * ({w} - x{a}), {dy} * ({e} - x{a}))"
        )

    # Two convex shapes whose boxes overlap are apart only if an edge of one separates them.
    overlap = f"least({', '.join(reaching(a, a % 4 + 1) for a in range(1, 5))})"
    keys, group = (f"{KEYS}, ", f" GROUP BY {KEYS}") if grouped else ("", "")
    # 1: they meet, 0: apart, null: too close to call.
    verdict = (
        f"CASE WHEN {within} OR {overlap} > {DOUBT} THEN 1 WHEN {overlap} < -{DOUBT} THEN 0 END"
    )
    prelude = (
        f"WITH quads AS MATERIALIZED (SELECT {keys}"  # noqa: S608 - values are parameters
        "count(*) FILTER (WHERE verdict = 1) AS n, count(*) - count(verdict) AS doubtful "
        f"FROM (SELECT {keys}{verdict} AS verdict FROM facets.items"
        f" WHERE {' AND '.join(near + exact)}) q{group})\n"
    )
    doubtful = f"NOT {within} AND abs({overlap}) <= {DOUBT}"
    return prelude, [*near, doubtful]


Row = tuple[str, str, int, int, int]
"""Collection, platform, month, cloud-cover class, and the number of items."""


@dataclass
class Counts:
    """Item counts by collection × platform × month × cloud-cover class."""

    rows: list[Row]

    @classmethod
    def of_total(cls, total: int) -> Counts:
        """Only the total is known (a count that was not grouped)."""
        return cls([("", "", 0, 0, int(total))])

    @property
    def total(self) -> int:
        return sum(row[4] for row in self.rows)

    def by(self, index: int) -> Counter[Any]:
        counts: Counter[Any] = Counter()
        for row in self.rows:
            counts[row[index]] += row[4]
        return counts


GROUPED = f"SELECT {KEYS}, sum(n)::bigint AS n FROM ({{}}) u GROUP BY {KEYS}"  # noqa: S608
TOTAL = "SELECT coalesce(sum(n), 0)::bigint FROM ({}) u"

PGSTAC_GROUPED = """
SELECT collection, coalesce(content->'properties'->>'platform', '') AS platform,
       (extract(year FROM datetime AT TIME ZONE 'UTC')::int * 12
        + extract(month FROM datetime AT TIME ZONE 'UTC')::int - 1) AS month,
       facets.cloud_class(facets.cloud_cover(content)) AS class, count(*) AS n
FROM pgstac.items WHERE {} GROUP BY 1, 2, 3, 4
"""
PGSTAC_TOTAL = "SELECT count(*) FROM pgstac.items WHERE {}"


async def where_clause(conn: asyncpg.Connection, search: dict[str, Any]) -> str:
    """The SQL condition pgstac itself makes of a search's matching terms, on its items."""
    where: str = await conn.fetchval(
        "SELECT pgstac.stac_search_to_where($1::text::jsonb)", orjson.dumps(search).decode()
    )
    return where


async def pgstac_counts(conn: asyncpg.Connection, search: dict[str, Any], grouped: bool) -> Counts:
    """Kept by pgstac's SQL for the search, which follows its queryables as they change."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        where = await where_clause(conn, search)

        async def counted() -> list[Row]:
            if grouped:
                return [tuple(r) for r in await conn.fetch(PGSTAC_GROUPED.format(where))]
            return Counts.of_total(await conn.fetchval(PGSTAC_TOTAL.format(where))).rows

        key = b"pgstac %d " % grouped + where.encode()
        return Counts(await remembered(conn, key, counted))


def area_shape(area: dict[str, Any]) -> shapely.Geometry | None:
    """The area as shapely reads it, or None when pgstac's SQL should judge it."""
    try:
        geometry = shape(area)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, ShapelyError):
        return None  # GEOS refuses a ring of NaN
    return geometry if geometry.is_valid and not geometry.is_empty else None


async def count(
    conn: asyncpg.Connection,
    search: dict[str, Any],
    start: datetime | None,
    end: datetime | None,
    grouped: bool = True,
) -> Counts:
    """Exact counts of the items a search matches: `search` holds its matching terms as pgstac
    reads them (not its page: limit, token, sortby, fields), `start`/`end` its period."""
    terms = read_terms(search, start, end)
    cells = None
    if terms is not None and terms.area is not None:
        area = area_shape(terms.area)
        cells = None if area is None else cells_of(area)
        if cells is None:
            terms = None
    if terms is None:
        return await pgstac_counts(conn, search, grouped)
    if not grouped:
        return Counts(await rollup_rows(conn, terms, cells, grouped=False))
    if terms.start is not None or terms.end is not None:
        timeline = replace(terms, start=None, end=None)
        if shared_key(timeline) in RUNNING or rollup_key(timeline, True) in REMEMBERED:
            return await within_period(conn, terms, cells, timeline)
    rows = await shared(shared_key(terms), lambda: rollup_rows(conn, terms, cells))
    return Counts([r for r in rows if r[4]])


# The same search asked again is the same prepared statement: after five runs PostgreSQL may
# plan it once for any parameters, which reads an area's rows by the wrong index (measured:
# 60 ms planned for its area, 230 ms generic). The pool resets the settings when the
# connection goes back (RESET ALL).
CUSTOM_PLANS = "SET plan_cache_mode = force_custom_plan"
# Seeing the edge's rows, the planner would share their scan between processes: measured at
# 16 M items on 2 cores, the same 40 viewer counts took as long (median ratio 1.00), and
# under load the workers only add to the CPU the counts already lack.
SERIAL = "SET max_parallel_workers_per_gather = 0"


# The planner, misjudging how few groups the parts make, would sort their rows (some
# 200,000 for a region of a million items): they are counted by hashing.
HASHED = "SET enable_sort = off"


@asynccontextmanager
async def snapshot(conn: asyncpg.Connection) -> AsyncIterator[Spans]:
    """The spans, and the count that follows in the same snapshot: an item loaded between
    them, wider or longer than any before, is counted all the same."""
    await conn.execute(f"{CUSTOM_PLANS}; {SERIAL}; {HASHED}")
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        yield await read_spans(conn)


async def rollup_rows(
    conn: asyncpg.Connection, terms: Terms, cells: Cells | None, grouped: bool = True
) -> list[Row]:
    """The rollup's counts of a search (`rollup_sql`): by its keys, or one row of the total
    when not `grouped`."""
    async with snapshot(conn) as spans:
        return await rollup_in(conn, terms, cells, spans, grouped)


async def rollup_in(
    conn: asyncpg.Connection, terms: Terms, cells: Cells | None, spans: Spans, grouped: bool
) -> list[Row]:
    """`rollup_rows` in the snapshot open on `conn`, whose spans are given."""

    async def counted() -> list[Row]:
        built = rollup_sql(terms, cells, spans, grouped)
        if built is None:
            return []
        text, args = built
        if not grouped:
            return Counts.of_total(await conn.fetchval(TOTAL.format(text), *args)).rows
        return [tuple(r) for r in await conn.fetch(GROUPED.format(text), *args)]

    return await remembered(conn, rollup_key(terms, grouped), counted)


@dataclass(frozen=True)
class Remembered:
    """Counts, the snapshot they were made in (`pg_snapshot` as text) and the server's history
    they were made on (its system identifier and timeline)."""

    snapshot: str
    server: str
    rows: list[Row]


REMEMBERED: LRUCache[bytes, Remembered] = LRUCache(
    maxsize=100_000, getsizeof=lambda remembered: len(remembered.rows) + 1
)
"""Counts made in this process, by their terms, up to 100,000 rows in all (some 20 MB): the
pages after a search's first, the viewer's counts asked again (a view panned back, a filter
undone, another user on the same view). A count of more than a quarter of that is not kept."""

# A standby's snapshot lists the transactions running on the primary apart from its xip
# (pg_current_snapshot shows none), so there it counts as having seen none from its xmin on.
UNCHANGED_SINCE = """
WITH now AS (
    SELECT CASE WHEN pg_is_in_recovery()
           THEN format('%s:%1$s:', pg_snapshot_xmin(pg_current_snapshot()))
           ELSE pg_current_snapshot()::text END AS snapshot,
           (SELECT system_identifier FROM pg_control_system()) || '/'
           || (SELECT timeline_id FROM pg_control_checkpoint()) AS server
)
SELECT now.snapshot, now.server,
       now.server = $2
       AND pg_snapshot_xmin($1::text::pg_snapshot) >= (SELECT since FROM facets.changes_kept)
       AND NOT EXISTS (
           SELECT FROM facets.changes
           WHERE xid >= pg_snapshot_xmin($1::text::pg_snapshot)
             AND NOT pg_visible_in_snapshot(xid, $1::text::pg_snapshot)
       )
FROM now
"""


async def remembered(
    conn: asyncpg.Connection, key: bytes, count: Callable[[], Awaitable[list[Row]]]
) -> list[Row]:
    """The rows `count` makes, inside a snapshot (a REPEATABLE READ transaction): made
    earlier and kept when this snapshot sees no change since (migration 0016), on the same
    server's history (a restore or a failover may give old transaction ids again), made now
    otherwise. Exact either way; a repeated count costs one primary-key lookup."""
    known = REMEMBERED.get(key)
    now, server, unchanged = await conn.fetchrow(
        UNCHANGED_SINCE, *((known.snapshot, known.server) if known else (None, None))
    )
    if known is not None and unchanged:
        COUNTS.labels("kept").inc()
        return known.rows
    rows = await count()
    COUNTS.labels("made").inc()
    if len(rows) < REMEMBERED.maxsize // 4:
        REMEMBERED[key] = Remembered(now, server, rows)
    return rows


async def forget_changes(context: procrastinate.JobContext, timestamp: int) -> None:
    """Deletes the notes of changes that every snapshot sees (migration 0016), once a day:
    counts made before are made again once."""
    async with job_services(context).database.write() as conn:
        await conn.execute("SELECT facets.forget_changes()")


def facets_tasks() -> procrastinate.Blueprint:
    """The facets' upkeep, on a new blueprint."""
    blueprint = procrastinate.Blueprint()
    forget = blueprint.task(
        name="forget_changes", queueing_lock="forget_changes", pass_context=True
    )
    blueprint.periodic(cron="17 4 * * *")(forget(forget_changes))
    return blueprint


def shared_key(terms: Terms) -> bytes:
    """A search's terms, however they were written (the order of its collections...)."""
    listed_terms = {
        name: sorted(value) if isinstance(value, frozenset) else value
        for name, value in vars(terms).items()
    }
    return orjson.dumps(listed_terms, option=orjson.OPT_SORT_KEYS)


def rollup_key(terms: Terms, grouped: bool) -> bytes:
    return b"rollup %d " % grouped + shared_key(terms)


class LeaderGone(Exception):
    """The request counting for others stopped before it had the rows."""


RUNNING: dict[bytes, asyncio.Future[list[Row]]] = {}
"""Grouped counts being made in this process, by their terms."""


async def shared(key: bytes, make: Callable[[], Awaitable[list[Row]]]) -> list[Row]:
    """The rows of a grouped count, made once for the requests that ask it at the same time:
    the viewer asks the counts of a search with a period and, beside them, its timeline
    (the same search without the period), whose rows give both."""
    running = RUNNING.get(key)
    if running is not None:
        try:
            return await asyncio.shield(running)
        except LeaderGone:
            pass  # counted here instead
    future: asyncio.Future[list[Row]] = asyncio.get_running_loop().create_future()
    RUNNING[key] = future
    try:
        rows = await make()
    except BaseException as exc:
        future.set_exception(LeaderGone() if isinstance(exc, asyncio.CancelledError) else exc)
        future.exception()  # retrieved: no warning when nobody was waiting
        raise
    finally:
        if RUNNING.get(key) is future:
            del RUNNING[key]
    future.set_result(rows)
    return rows


async def within_period(
    conn: asyncpg.Connection, terms: Terms, cells: Cells | None, timeline: Terms
) -> Counts:
    """Grouped counts of a search with a period while its timeline (the same search without
    the period, which the viewer asks at the same time) is being counted, or is remembered
    (the viewer's period changed, not the rest of its filters): the timeline's rows
    in the months the period covers whole, and the items of the months it covers in part,
    one by one (found by their date: a month or two of the archive). Measured at a million
    items: a viewer's filter change, p95 317 ms counting both, 274 ms sharing."""
    first, last = whole_months(terms.start, terms.end)
    async with snapshot(conn) as spans:
        # Kept or made in this snapshot, as the months below; or, while another request
        # counts it (the viewer's timeline), its rows, from its snapshot.
        timeline_rows = await shared(
            shared_key(timeline), lambda: rollup_in(conn, timeline, cells, spans, grouped=True)
        )
        rows = [r for r in timeline_rows if r[4] and first <= r[2] <= last]

        async def partly() -> list[Row]:
            query = Query()
            clauses = exact_terms(terms, query, spans)
            if first <= last:
                clauses.append(
                    f"(datetime < {query.arg(month_start(first), 'timestamptz')}"
                    f" OR datetime >= {query.arg(month_start(last + 1), 'timestamptz')})"
                )
            if terms.area is not None:
                area = query.arg(orjson.dumps(terms.area).decode(), "text")
                clauses.append(
                    f"ST_Intersects(geometry, ST_SetSRID(ST_GeomFromGeoJSON({area}), 4326))"
                )
            text = f"SELECT {KEYS}, count(*) AS n FROM facets.items WHERE " + " AND ".join(clauses)  # noqa: S608
            return [tuple(r) for r in await conn.fetch(text + f" GROUP BY {KEYS}", *query.args)]

        return Counts(rows + await remembered(conn, b"partly " + shared_key(terms), partly))


TYPICAL_EXTENT = """
SELECT coalesce(avg(east - west), 0), coalesce(avg(north - south), 0)
FROM (SELECT east, west, north, south FROM facets.items WHERE west IS NOT NULL LIMIT 1000) q
"""


async def densest_tile(
    conn: asyncpg.Connection,
    search: dict[str, Any],
    start: datetime | None,
    end: datetime | None,
    z: int,
) -> float | None:
    """About how many footprints of a search the densest tile of zoom z crosses, from the
    rollup (a few thousand rows: a pass over a million items took seconds); None when the
    search's terms are not the rollup's. An estimate, on the high side: the months and
    cloud-cover classes the search covers in part count whole, each footprint is taken as
    wide and tall as a thousand footprints on average, and a cell's items are spread evenly
    over the tiles smaller than it."""
    terms = read_terms(search, start, end)
    if terms is None:
        return None
    query = Query()
    clauses = kind_terms(terms, query)
    low = month_index(terms.start) if terms.start is not None else None
    high = month_index(terms.end) if terms.end is not None else None
    if low is not None or high is not None:
        clauses.append(f"month BETWEEN {low or 0} AND {high or month_index(datetime.max)}")
    whole, partial = classes_within(terms.low, terms.high)
    clauses.append(f"class = ANY({listed(whole + partial)})")
    if terms.area is not None:
        area = area_shape(terms.area)
        if area is None:
            return None
        clauses.append(
            f"cell = ANY(facets.cells_around({', '.join(map(str, area.bounds))}, '{{}}'))"
        )
    rows = await conn.fetch(
        "SELECT cell, sum(n)::float8 AS n FROM facets.cells WHERE "  # noqa: S608 - parameters
        + " AND ".join(clauses)
        + " GROUP BY cell",
        *query.args,
    )
    if not rows:
        return 0.0
    widest, tallest = await conn.fetchrow(TYPICAL_EXTENT)
    cells = np.array([r["cell"] for r in rows])
    counts = np.array([r["n"] for r in rows])
    lon, lat = cells % 360 - 180 + 0.5, np.clip(cells // 360 - 90 + 0.5, -85, 85)
    tiles = 2.0**z
    stretch = 1 / np.cos(np.radians(lat))  # a degree of latitude, in tiles, against longitude's
    spread = (1 + widest * tiles / 360) * (1 + tallest * stretch * tiles / 360)
    per_cell = tiles / 360 * tiles / 360 * stretch  # tiles in a cell, when they are smaller
    if per_cell.min() >= 1:
        return float((counts * spread / per_cell).max())
    x = np.floor((lon + 180) / 360 * tiles)
    y = np.floor((1 - np.arcsinh(np.tan(np.radians(lat))) / math.pi) / 2 * tiles)
    sums: Counter[tuple[float, float]] = Counter()
    for key, n in zip(zip(x, y, strict=True), counts * spread, strict=True):
        sums[key] += n
    return float(max(sums.values()))
