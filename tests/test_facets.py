"""Facets and counts are exact: /aggregate and numberMatched against plain pgstac's GROUP BY on
the same database, for varied searches, also after items are loaded and deleted."""

from __future__ import annotations

import asyncio
import json
import random
import runpy
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest
import shapely
from prometheus_client import REGISTRY
from pypgstac.load import Methods
from shapely.geometry import shape
from stac_fastapi.api.models import create_get_request_model

from extensions import facets
from extensions.facets import read_terms
from extensions.search import matching_terms
from ingest.loader import anchor, load_items, partition_key
from pgstac.db import settle_after_load
from simulators.archive import generate_items
from stac_api.aggregation import aggregation_extension
from stac_api.client import DinamisClient
from stac_api.search import DinamisSearch
from tests.test_search import FRANCE, ILE_DE_FRANCE, MONTPELLIER, TRIANGLE

Items = list[dict[str, Any]]


def cloud(op: str, value: float) -> dict[str, Any]:
    return {"op": op, "args": [{"property": "eo:cloud_cover"}, value]}


SEARCHES: list[dict[str, Any]] = [
    {},
    {"bbox": MONTPELLIER},
    {"bbox": FRANCE},
    {"bbox": [2.0, 44.0, 4.0, 46.0]},  # on the cells' grid
    {"bbox": ILE_DE_FRANCE, "datetime": "2015-03-10T10:00:00Z/2019-07-20T12:00:00Z"},
    {"intersects": TRIANGLE, "filter": cloud("<=", 15)},  # a class boundary is not at 15
    {"bbox": FRANCE, "filter": cloud("<", 20), "collections": ["spot-swh", "spot67"]},
    {"bbox": FRANCE, "filter": {"op": "and", "args": [cloud(">", 5), cloud("<=", 30)]}},
    {"datetime": "2016-05-03T00:00:00Z/2016-05-20T00:00:00Z"},  # within one month
    {"datetime": "../2000-01-01T00:00:00Z"},
    {"datetime": "2020-01-01T00:00:00Z/.."},
    {"filter": {"op": "=", "args": [{"property": "platform"}, "spot-6"]}, "bbox": FRANCE},
    {"filter": {"op": "in", "args": [{"property": "collection"}, ["pleiades", "pleiades-neo"]]}},
    {"filter": {"op": ">=", "args": [10, {"property": "eo:cloud_cover"}]}},  # operands swapped
    # Not the rollup's terms: counted by pgstac's SQL.
    {"filter": {"op": "<=", "args": [{"property": "gsd"}, 2]}, "bbox": FRANCE},
    {"filter": {"op": "or", "args": [cloud("<=", 1), cloud(">=", 99)]}},
    {"bbox": [170.0, -50.0, -170.0, 50.0]},  # across the antimeridian
]


def plain_counts(database: str, search: dict[str, Any]) -> tuple[Counter[str], Counter[str]]:
    """Items per collection and per month, by plain pgstac SQL: the oracle."""
    with psycopg.connect(database) as conn:
        conn.execute("SET search_path = pgstac, public")
        where = conn.execute(
            "SELECT stac_search_to_where(%s::jsonb)", [json.dumps(search)]
        ).fetchone()[0]  # type: ignore[index]
        rows = conn.execute(
            "SELECT collection, to_char(datetime AT TIME ZONE 'UTC', 'YYYY-MM'), count(*) "  # noqa: S608
            f"FROM items WHERE {where} GROUP BY 1, 2"
        ).fetchall()
    by_collection: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    for collection, month, n in rows:
        by_collection[collection] += n
        by_month[month] += n
    return by_collection, by_month


def buckets(aggregation: dict[str, Any]) -> Counter[str]:
    return Counter({b["key"]: b["frequency"] for b in aggregation["buckets"]})


async def aggregate(client: httpx.AsyncClient, search: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/aggregate", json=search)
    assert response.status_code == 200, response.text
    return {a["name"]: a for a in response.json()["aggregations"]}


async def check_exact(client: httpx.AsyncClient, database: str, search: dict[str, Any]) -> None:
    by_collection, by_month = plain_counts(database, search)
    facets = await aggregate(client, search)
    assert facets["total_count"]["value"] == sum(by_collection.values()), search
    assert buckets(facets["collection_frequency"]) == by_collection, search
    months = Counter({k[:7]: v for k, v in buckets(facets["datetime_frequency"]).items()})
    assert months == by_month, search
    page = await client.post("/search", json={**search, "limit": 1})
    assert page.status_code == 200, page.text
    assert page.json()["numberMatched"] == facets["total_count"]["value"], search


@pytest.mark.parametrize("search", SEARCHES, ids=[json.dumps(s)[:60] for s in SEARCHES])
async def test_facets_equal_plain_counts(
    client: httpx.AsyncClient, database: str, demo_items: Items, search: dict[str, Any]
) -> None:
    await check_exact(client, database, search)


def test_the_rollup_reads_the_viewers_terms() -> None:
    for search in SEARCHES[:14]:
        assert read_terms(search, None, None) is not None, search
    for search in SEARCHES[14:]:
        assert read_terms(search, None, None) is None, search


def test_aggregate_requests_take_the_rollups_path() -> None:
    """An /aggregate body's own terms (aggregations, interval) and ours (product type,
    downloadable, place) never send its count to pgstac's slower SQL."""
    extension = aggregation_extension(
        DinamisClient(pgstac_search_model=DinamisSearch),
        create_get_request_model([]),
        DinamisSearch,
    )
    body = extension.POST(
        bbox=FRANCE,
        aggregations=["total_count"],
        datetime_frequency_interval="year",
        product_type="downloadable",
        downloadable=False,
        filter=cloud("<=", 20),
    )
    assert read_terms(matching_terms(body), None, None) is not None


async def test_counts_follow_loads_and_deletions(
    client: httpx.AsyncClient, database: str, demo_items: Items
) -> None:
    """Items written by pypgstac (straight into pgstac's partitions) and deleted by SQL are
    counted at once; a rebuild finds the same."""
    extra = list(generate_items(120, 991))
    ids = [item["id"] for item in extra]
    searches = [{}, {"bbox": FRANCE, "filter": cloud("<=", 20)}, {"bbox": ILE_DE_FRANCE}]
    try:
        load_items(database, extra, mode=Methods.upsert)
        for search in searches:
            await check_exact(client, database, search)
        load_items(database, extra[:10], mode=Methods.upsert)  # loaded again: no change
        await check_exact(client, database, {})
        with psycopg.connect(database) as conn:
            conn.execute("DELETE FROM pgstac.items WHERE id = ANY(%s)", [ids[:60]])
        for search in searches:
            await check_exact(client, database, search)
    finally:
        with psycopg.connect(database) as conn:
            conn.execute("DELETE FROM pgstac.items WHERE id = ANY(%s)", [ids])
    with psycopg.connect(database) as conn:
        mirrored, held = conn.execute(
            "SELECT (SELECT count(*) FROM facets.items), (SELECT count(*) FROM pgstac.items)"
        ).fetchone()  # type: ignore[misc]
        assert mirrored == held
        conn.execute("SELECT facets.rebuild()")
    await check_exact(client, database, searches[1])


async def test_get_aggregate_and_per_collection(
    client: httpx.AsyncClient, demo_items: Items
) -> None:
    post = await aggregate(client, {"bbox": FRANCE, "collections": ["spot67"]})
    response = await client.get(
        "/collections/spot67/aggregate",
        params={
            "bbox": ",".join(map(str, FRANCE)),
            "aggregations": "total_count,platform_frequency",
        },
    )
    assert response.status_code == 200, response.text
    got = {a["name"]: a for a in response.json()["aggregations"]}
    assert set(got) == {"total_count", "platform_frequency"}
    assert got["total_count"]["value"] == post["total_count"]["value"] > 0
    assert set(buckets(got["platform_frequency"])) <= {"spot-6", "spot-7"}
    yearly = await client.get(
        "/aggregate",
        params={"aggregations": "datetime_frequency", "datetime_frequency_interval": "year"},
    )
    keys = [b["key"] for b in yearly.json()["aggregations"][0]["buckets"]]
    assert keys and all(k.endswith("-01-01T00:00:00Z") for k in keys)
    classes = (await aggregate(client, {}))["cloud_cover_frequency"]["buckets"]
    assert sum(b["frequency"] for b in classes) == len(demo_items)
    assert [b["key"] for b in classes][:2] in (["0-5", "5-10"], ["0", "0-5"])


async def test_aggregations_listed_and_bad_requests(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/aggregations")).json()
    assert {a["name"] for a in listed["aggregations"]} >= {
        "total_count",
        "collection_frequency",
        "platform_frequency",
        "datetime_frequency",
        "cloud_cover_frequency",
    }
    assert (await client.get("/collections/nowhere/aggregations")).status_code == 404
    unknown = await client.post("/aggregate", json={"aggregations": ["bogus"]})
    assert unknown.status_code == 400 and "bogus" in unknown.json()["description"]
    both = await client.post("/aggregate", json={"place": "Montpellier", "bbox": MONTPELLIER})
    assert both.status_code == 400
    conformance = (await client.get("/conformance")).json()["conformsTo"]
    assert any("aggregation" in c for c in conformance)


async def test_place_montpellier(
    client: httpx.AsyncClient, database: str, demo_items: Items
) -> None:
    """`place=Montpellier` finds the items over the commune, and counts them."""
    response = await client.get("/search", params={"place": "Montpellier", "limit": 1000})
    assert response.status_code == 200, response.text
    payload = response.json()
    found = {f["id"] for f in payload["features"]}
    assert found and payload["numberMatched"] == len(found)
    outline = (await client.get("/places/commune:34172")).json()["geometry"]
    by_collection, _ = plain_counts(database, {"intersects": outline})
    assert sum(by_collection.values()) == len(found)
    facets = await aggregate(client, {"place": "montpellier"})
    assert facets["total_count"]["value"] == len(found)
    unknown = await client.get("/search", params={"place": "Xyzzyville"})
    assert unknown.status_code == 400


def test_a_load_keeps_each_partition_to_one_writer_and_files_it_in_cell_order() -> None:
    """The loader gives all the items of one pgstac partition (a collection's year, or the
    whole collection when it is not partitioned by time or has no table yet) to the same
    writer, and each chunk is written sorted by collection and cell of the first vertex, so
    that the items of an area share the mirror's pages."""
    by_year = {"spot-swh": True, "airbus": False, "pleiades": False}
    item = {"collection": "spot-swh", "properties": {"datetime": "1994-05-01T10:00:00Z"}}
    ranged = {
        "collection": "spot-swh",
        "properties": {"datetime": None, "start_datetime": "1994-12-31T23:59:00Z"},
    }
    assert partition_key(item, by_year) == partition_key(ranged, by_year) == "spot-swh/1994"
    assert partition_key({**item, "collection": "airbus"}, by_year) == "airbus"
    assert partition_key({**item, "collection": "pleiades"}, by_year) == "pleiades"
    polygon = {"type": "Polygon", "coordinates": [[[-1.2, 43.7], [0.0, 44.0]]]}
    assert anchor({"collection": "a", "geometry": polygon}) == ("a", 43, -2)
    assert anchor({"collection": "a", "geometry": None}) == ("a", 0, 0)


async def test_a_large_load_leaves_the_mirror_in_cell_order(
    client: httpx.AsyncClient, database: str, demo_items: Items
) -> None:
    """A load that is a large share of the archive leaves the facets' mirror and rollup in
    cell order (the rows an area's count reads share pages), vacuumed, and its counts exact."""
    extra = list(generate_items(len(demo_items) // 5, 4242))
    in_table = "SELECT array_agg(cell ORDER BY ctid) FROM facets.items"
    in_rollup = "SELECT array_agg(cell ORDER BY ctid) FROM facets.cells"
    try:
        load_items(database, extra, mode=Methods.upsert)
        with psycopg.connect(database) as conn:
            cells = conn.execute(in_table).fetchone()[0]  # type: ignore[index]
        assert cells != sorted(cells), "the test needs a load out of cell order"
        settle_after_load(database, len(extra))
        with psycopg.connect(database) as conn:
            cells = conn.execute(in_table).fetchone()[0]  # type: ignore[index]
            rollup = conn.execute(in_rollup).fetchone()[0]  # type: ignore[index]
            visible = conn.execute(
                "SELECT relallvisible >= relpages FROM pg_class WHERE oid = 'facets.items'::regclass"
            ).fetchone()[0]  # type: ignore[index]
        assert cells == sorted(cells)
        assert rollup == sorted(rollup)
        assert visible
        await check_exact(client, database, {"bbox": ILE_DE_FRANCE})
    finally:
        with psycopg.connect(database) as conn:
            conn.execute("DELETE FROM pgstac.items WHERE id = ANY(%s)", [[i["id"] for i in extra]])


async def test_a_search_asked_again_is_planned_for_its_terms(
    database: str, demo_items: Items
) -> None:
    """The same count asked many times (a viewer going back and forth) is planned for its
    area each time: a plan made once for any area reads it by the wrong index."""
    search = {"bbox": [2.31, 43.52, 3.61, 44.73]}
    conn = await asyncpg.connect(database, server_settings={"search_path": "pgstac,public"})
    try:
        for _ in range(8):
            facets.REMEMBERED.clear()  # counted each time, not kept
            await facets.count(conn, search, None, None)
        plans = await conn.fetch(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE '%FROM facets.cells%'"
            " AND statement NOT LIKE '%pg_prepared_statements%'"
        )
    finally:
        await conn.close()
    assert plans and all(p["generic_plans"] == 0 and p["custom_plans"] >= 8 for p in plans)


@contextmanager
def deletion_running(
    database: str, count: int, seed: int
) -> Iterator[tuple[psycopg.Connection[Any], list[str]]]:
    """`count` new items, and a transaction deleting them left running for the caller to
    commit; a later transaction ends first, so that snapshots list the deletion among those
    running, below their xmax. The items are gone in the end either way."""
    extra = list(generate_items(count, seed))
    ids = [str(item["id"]) for item in extra]
    load_items(database, extra, mode=Methods.upsert)
    try:
        with psycopg.connect(database) as deleting:
            deleting.execute("DELETE FROM pgstac.items WHERE id = ANY(%s)", [ids])
            with psycopg.connect(database, autocommit=True) as later:
                later.execute("SELECT pg_current_xact_id()")
            yield deleting, ids
    finally:
        with psycopg.connect(database) as cleanup:
            cleanup.execute("DELETE FROM pgstac.items WHERE id = ANY(%s)", [ids])


def counts_kept() -> float:
    return REGISTRY.get_sample_value("dinamis_counts_total", {"outcome": "kept"}) or 0.0


@pytest.mark.parametrize("forgotten", [False, True], ids=["noted", "notes-forgotten"])
async def test_a_count_is_kept_while_no_change_is_seen(
    database: str, demo_items: Items, forgotten: bool
) -> None:
    """A count asked again is kept only while the catalogue has not changed since: here a
    deletion still running when the count was made, then committed (and, once its note is
    forgotten, seen by the count's snapshot being older than the notes kept)."""
    search: dict[str, Any] = {}  # all of them: the deleted items are counted out
    conn = await asyncpg.connect(database, server_settings={"search_path": "pgstac,public"})
    try:
        with deletion_running(database, 20, 992) as (deleting, ids):
            facets.REMEMBERED.clear()
            before = (await facets.count(conn, search, None, None)).total
            kept = counts_kept()
            assert (await facets.count(conn, search, None, None)).total == before
            assert counts_kept() == kept + 1  # nothing it sees changed
            deleting.commit()
        if forgotten:
            with psycopg.connect(database) as conn_forget:
                forgot = conn_forget.execute("SELECT facets.forget_changes()").fetchone()
                assert forgot and forgot[0] > 0
        after = (await facets.count(conn, search, None, None)).total
        assert counts_kept() == kept + 1
        assert after == plain_total(database, search) == before - len(ids)
    finally:
        await conn.close()


async def test_a_timeline_and_its_periods_counted_together_are_exact(
    database: str, demo_items: Items
) -> None:
    """The viewer asks a search's timeline (without its period) and, at the same time, its
    counts with the period: those are made from the timeline's rows, and exact, whole months
    or not."""
    area = {"bbox": FRANCE, "filter": cloud("<=", 20)}
    settings = {"search_path": "pgstac,public"}
    timeline_conn = await asyncpg.connect(database, server_settings=settings)
    period_conn = await asyncpg.connect(database, server_settings=settings)
    try:
        for start, end in PERIODS:
            facets.REMEMBERED.clear()  # the timeline is being counted, not remembered
            _, counts = await asyncio.gather(
                facets.count(timeline_conn, area, None, None),
                facets.count(period_conn, area, *when(start, end)),
            )
            check_period(database, area, start, end, counts)
        derived = await counted_from_timelines(period_conn)
    finally:
        await timeline_conn.close()
        await period_conn.close()
    assert derived == len(PERIODS), "the periods were counted from the timeline's rows"


async def test_a_new_period_is_counted_from_the_remembered_timeline(
    database: str, demo_items: Items
) -> None:
    """The viewer's period changes, not the rest of its filters: the timeline is remembered,
    and each new period is counted from its rows, exactly."""
    area = {"bbox": ILE_DE_FRANCE}
    conn = await asyncpg.connect(database, server_settings={"search_path": "pgstac,public"})
    try:
        facets.REMEMBERED.clear()
        await facets.count(conn, area, None, None)
        for start, end in PERIODS:
            check_period(
                database, area, start, end, await facets.count(conn, area, *when(start, end))
            )
        derived = await counted_from_timelines(conn)
    finally:
        await conn.close()
    assert derived == len(PERIODS), "the periods were counted from the timeline's rows"


PERIODS = [
    ("2014-01-01T00:00:00Z", "2018-12-31T23:59:59Z"),
    ("2013-03-15T12:00:00Z", "2019-10-02T00:00:00Z"),
    ("2016-05-03T00:00:00Z", "2016-05-20T00:00:00Z"),
    (None, "2005-06-30T00:00:00Z"),
]


def when(start: str | None, end: str | None) -> list[datetime | None]:
    return [datetime.fromisoformat(t) if t else None for t in (start, end)]


def check_period(
    database: str, area: dict[str, Any], start: str | None, end: str | None, counts: facets.Counts
) -> None:
    by_collection, by_month = plain_counts(database, {**area, "datetime": f"{start or '..'}/{end}"})
    assert counts.by(0) == by_collection, (start, end)
    months = Counter({f"{m // 12}-{m % 12 + 1:02d}": n for m, n in counts.by(2).items()})
    assert +months == by_month, (start, end)


async def counted_from_timelines(conn: asyncpg.Connection) -> int:
    """How many counts this connection made of a period's months the timeline did not
    cover whole (facets.within_period's query)."""
    derived: int = await conn.fetchval(
        "SELECT sum(generic_plans + custom_plans) FROM pg_prepared_statements"
        " WHERE statement LIKE '%FROM facets.items%'"
        " AND statement NOT LIKE '%UNION ALL%' AND statement NOT LIKE '%pg_prepared%'"
    )
    return derived


MIRROR_AGREES = """
    SELECT
        (SELECT count(*) FROM (
            SELECT collection, id FROM pgstac.items
            EXCEPT SELECT collection, id FROM facets.items) v),
        (SELECT count(*) FROM (
            SELECT collection, id FROM facets.items
            EXCEPT SELECT collection, id FROM pgstac.items) v),
        (SELECT count(*) FROM (
            (SELECT cell, collection, platform, month, class, count(*) FROM facets.items
             GROUP BY 1, 2, 3, 4, 5
             EXCEPT SELECT cell, collection, platform, month, class, n FROM facets.cells WHERE n > 0)
            UNION ALL
            (SELECT cell, collection, platform, month, class, n FROM facets.cells WHERE n > 0
             EXCEPT SELECT cell, collection, platform, month, class, count(*) FROM facets.items
             GROUP BY 1, 2, 3, 4, 5)) v),
        (SELECT count(*) FROM pgstac.items i JOIN facets.items f USING (collection, id)
         CROSS JOIN LATERAL facets.quad(i.geometry) q
         WHERE f.class <> facets.cloud_class(facets.cloud_cover(i.content))
            OR (f.west, f.south, f.east, f.north, f.x1, f.y1, f.x2, f.y2, f.x3, f.y3, f.x4, f.y4)
               IS DISTINCT FROM (q.west, q.south, q.east, q.north,
                                 q.x1, q.y1, q.x2, q.y2, q.x3, q.y3, q.x4, q.y4)
            OR f.east - f.west > (SELECT widest FROM facets.spans)
            OR f.north - f.south > (SELECT tallest FROM facets.spans))
"""


def mirror_disagreements(database: str) -> tuple[int, int, int, int]:
    """Items missing from the mirror, extra in it, rollup rows off, and stale cloud classes or
    corners (or beyond the widest and tallest)."""
    with psycopg.connect(database) as conn:
        return conn.execute(MIRROR_AGREES).fetchone()  # type: ignore[return-value]


async def test_every_writer_is_followed_by_statement(
    client: httpx.AsyncClient, database: str, demo_items: Items
) -> None:
    """The mirror and the rollup follow pypgstac's copies into a partition it creates for the
    load (a year never seen), its upserts that change an item, and pgstac's updates and
    deletions through `pgstac.items`: one set-based pass per statement (migration 0010)."""
    extra = list(generate_items(200, 2031))
    for item in extra:
        item["id"] = f"{item['id']}-2031"
        for name in ("start_datetime", "end_datetime"):
            item["properties"].pop(name, None)
        item["properties"]["datetime"] = "2031-06-01T10:00:00Z"
    ids = [item["id"] for item in extra]
    try:
        load_items(database, extra, mode=Methods.insert)
        with psycopg.connect(database) as conn:
            unfollowed = conn.execute(
                "SELECT count(*) FROM pg_partition_tree('pgstac.items') t WHERE NOT EXISTS ("
                " SELECT FROM pg_trigger g WHERE g.tgrelid = t.relid AND g.tgname = 'facets_added')"
            ).fetchone()[0]  # type: ignore[index]
            row_triggers = conn.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'facets_items'"
            ).fetchone()[0]  # type: ignore[index]
        assert (unfollowed, row_triggers) == (0, 0)
        assert mirror_disagreements(database) == (0, 0, 0, 0)
        await check_exact(client, database, {"datetime": "2031-01-01T00:00:00Z/.."})

        for item in extra[:50]:  # cloudier: another class
            item["properties"]["eo:cloud_cover"] = 97.5
        load_items(database, extra[:50], mode=Methods.upsert)
        assert mirror_disagreements(database) == (0, 0, 0, 0)

        with psycopg.connect(database) as conn:
            conn.execute(
                "UPDATE pgstac.items SET content = jsonb_set(content, "
                "'{properties,eo:cloud_cover}', '0') WHERE id = ANY(%s)",
                [ids[50:100]],
            )
            conn.execute("DELETE FROM pgstac.items WHERE id = ANY(%s)", [ids[100:150]])
        assert mirror_disagreements(database) == (0, 0, 0, 0)
        await check_exact(client, database, {"bbox": FRANCE, "filter": cloud("<=", 5)})
    finally:
        with psycopg.connect(database) as conn:
            conn.execute("DELETE FROM pgstac.items WHERE id = ANY(%s)", [ids])
    assert mirror_disagreements(database) == (0, 0, 0, 0)


async def counted_both_ways(conn: asyncpg.Connection, search: dict[str, Any]) -> tuple[int, int]:
    """The total of a search counted alone, and by its rollup keys."""
    alone = await facets.count(conn, search, None, None, grouped=False)
    grouped = await facets.count(conn, search, None, None)
    return alone.total, grouped.total


def plain_total(database: str, search: dict[str, Any]) -> int:
    return sum(plain_counts(database, search)[0].values())


def rectangles_at_corners(items: Items) -> list[list[float]]:
    """Rectangles whose north-east corner lies in a footprint's bounding box: just inside its
    south-west corner (outside a turned footprint: apart, though the boxes overlap) and at
    its centre (they meet, though neither lies within the other's width or height)."""
    rectangles = []
    for item in items[:40]:
        west, south, east, north = shape(item["geometry"]).bounds
        for x, y in ((west + 0.01, south + 0.01), ((west + east) / 2, (south + north) / 2)):
            rectangles.append([x - 0.7, y - 0.4, x, y])
    return rectangles


async def test_rectangles_count_their_quadrilaterals_exactly(
    database: str, demo_items: Items
) -> None:
    """A rectangle's count reads the corners of the footprints around it (migration 0012):
    the same totals as pgstac's SQL, whether a footprint lies across an edge, across a corner
    and apart, or across a corner and meeting it."""
    rng = random.Random(12)
    searches: list[dict[str, Any]] = [{"bbox": b} for b in rectangles_at_corners(demo_items)]
    for _ in range(30):
        x, y, half = rng.uniform(-4, 8), rng.uniform(42, 50), rng.choice([0.05, 0.3, 1.0, 2.5])
        search: dict[str, Any] = {"bbox": [x - half, y - half, x + half, y + half]}
        if rng.random() < 0.5:
            search["filter"] = cloud("<=", rng.choice([5, 20, 50]))
        searches.append(search)
    settings = {"search_path": "pgstac,public"}
    conn = await asyncpg.connect(database, server_settings=settings)
    try:
        for search in searches:
            total = plain_total(database, search)
            assert await counted_both_ways(conn, search) == (total, total), search
    finally:
        await conn.close()
    apart = [
        s for s in searches[:80:2]
        if any(
            shapely.box(*s["bbox"]).intersects(shapely.box(*shape(i["geometry"]).bounds))
            and not shapely.box(*s["bbox"]).intersects(shape(i["geometry"]))
            for i in demo_items[:40]
        )
    ]  # fmt: skip
    assert apart, "some footprints' boxes overlap a rectangle that their footprints miss"


async def test_a_rectangles_edge_is_read_by_the_bands_of_its_footprints(
    database: str, demo_items: Items
) -> None:
    """The footprints around a rectangle are read by their cell and the band of their south
    edge (migration 0014): the count's expression is the index's. A rectangle from pole to
    pole, whose bands and cells would make a million descents, reads its cells' bands whole;
    both count exactly."""
    conn = await asyncpg.connect(database, server_settings={"search_path": "pgstac,public"})
    try:
        terms = read_terms({"bbox": [2.31, 43.52, 3.61, 44.73]}, None, None)
        assert terms is not None and terms.area is not None
        cells = facets.cells_of(facets.area_shape(terms.area))
        async with facets.snapshot(conn) as spans:
            built = facets.rollup_sql(terms, cells, spans, grouped=False)
            assert built is not None
            plan = await conn.fetchval(
                "EXPLAIN (FORMAT JSON) " + facets.TOTAL.format(built[0]), *built[1]
            )
        assert "items_cell_band_idx" in plan
        for bbox in ([2.31, 43.52, 3.61, 44.73], [2.0, -90.0, 2.5, 90.0]):
            total = plain_total(database, {"bbox": bbox})
            assert await counted_both_ways(conn, {"bbox": bbox}) == (total, total), bbox
    finally:
        await conn.close()


BANDS_MIGRATION = (
    Path(__file__).resolve().parents[1] / "pgstac/migrations/versions/0014_facets_bands.py"
)


async def test_the_bands_are_the_indexs(database: str) -> None:
    """A band computed here is the one PostgreSQL files a footprint under, for any latitude
    a request or a footprint may carry, and the count's expression is the migration's: a band
    missed would be footprints left out of a count."""
    migration = runpy.run_path(str(BANDS_MIGRATION))
    assert migration["BAND"] == facets.BAND
    latitudes = [44.95, -0.05, 0.3, -0.0, 90.0, -90.0, 100.05, -100.05, 1e300, -1e300]
    latitudes += [float("inf"), float("-inf"), float("nan")]
    conn = await asyncpg.connect(database)
    try:
        filed = await conn.fetch(
            f"SELECT {facets.BAND} AS band"  # noqa: S608 - a constant
            " FROM unnest($1::float8[]) WITH ORDINALITY t(south, i) ORDER BY i",
            latitudes,
        )
    finally:
        await conn.close()
    assert [r["band"] for r in filed] == [facets.band(v) for v in latitudes]
    assert facets.bands(44.95, 45.05) == [449, 450]
    assert facets.bands(-1e308, -99.99) == [-1000]


def footprint(item_id: str, template: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    item = json.loads(json.dumps(template))
    item["id"], item["geometry"] = item_id, geometry
    item["bbox"] = list(shape(geometry).bounds)
    return item


def polygon(*points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[*map(list, points), list(points[0])]]}


# Footprints in the South Atlantic (no demo item there), around the rectangle RECTANGLE.
RECTANGLE = [10.0, -30.0, 10.625, -29.375]
SHAPES = {
    # clockwise, across the west edge, anchored outside it
    "clockwise": polygon((9.5, -29.8), (9.5, -29.6), (10.2, -29.6), (10.2, -29.8)),
    # a diamond whose edge passes through the north-east corner: too close to call by
    # arithmetic, PostGIS says they touch
    "touching": polygon((10.75, -29.5), (11.0, -29.25), (10.75, -29.0), (10.5, -29.25)),
    # the same diamond moved away: its box still overlaps the rectangle
    "apart": polygon((10.8, -29.45), (11.05, -29.2), (10.8, -28.95), (10.55, -29.2)),
    # concave (an arrow head) across the south edge
    "concave": polygon((10.3, -30.4), (10.5, -29.9), (10.3, -30.1), (10.1, -29.9)),
    # six corners across the east edge
    "hexagon": polygon(
        (10.5, -29.7), (10.7, -29.8), (10.9, -29.7), (10.9, -29.5), (10.7, -29.4), (10.5, -29.5)
    ),
    # two parts, the first far away, the second inside
    "parts": {
        "type": "MultiPolygon",
        "coordinates": [
            [[[12.0, -32.0], [12.2, -32.0], [12.2, -31.8], [12.0, -31.8], [12.0, -32.0]]],
            [[[10.2, -29.7], [10.3, -29.7], [10.3, -29.6], [10.2, -29.6], [10.2, -29.7]]],
        ],
    },
    # wider than any demo footprint, anchored 3° west: the rectangle's reach grows with it
    "wide": polygon((7.0, -29.9), (10.05, -29.9), (10.05, -29.85), (7.0, -29.85)),
}


async def test_footprints_of_every_shape_around_a_rectangle(
    database: str, demo_items: Items
) -> None:
    """Clockwise, concave, six-cornered, two-part and very wide footprints, and one whose
    edge touches the rectangle's corner, are counted as PostGIS sees them."""
    shapes = {
        f"shape-{name}": footprint(f"shape-{name}", demo_items[0], g) for name, g in SHAPES.items()
    }
    meeting = {
        name for name, item in shapes.items()
        if shape(item["geometry"]).intersects(shapely.box(*RECTANGLE))
    }  # fmt: skip
    assert meeting == {f"shape-{n}" for n in SHAPES} - {"shape-apart"}
    settings = {"search_path": "pgstac,public"}
    conn = await asyncpg.connect(database, server_settings=settings)
    try:
        load_items(database, list(shapes.values()), mode=Methods.upsert)
        assert mirror_disagreements(database) == (0, 0, 0, 0)
        for bbox in (RECTANGLE, [10.0, -30.0, 10.6, -29.4], [9.0, -31.0, 11.0, -29.0]):
            search = {"bbox": bbox}
            total = plain_total(database, search)
            assert await counted_both_ways(conn, search) == (total, total), bbox
        search = {"bbox": RECTANGLE}
        assert plain_total(database, search) == len(meeting)
    finally:
        await conn.close()
        with psycopg.connect(database) as c:
            c.execute("DELETE FROM pgstac.items WHERE id = ANY(%s)", [list(shapes)])


async def test_the_densest_tile_is_estimated_from_the_rollup(
    database: str, demo_items: Items
) -> None:
    """The footprint tiles' share (extensions/viewer/tiles.py) comes from the rollup's cells,
    not from a pass over the items: the same order of magnitude as the pass's estimate
    (migration 0011), at zooms whose tiles are larger and smaller than a cell."""
    settings = {"search_path": "pgstac,public"}
    conn = await asyncpg.connect(database, server_settings=settings)
    try:
        for search in ({}, {"bbox": FRANCE, "filter": cloud("<=", 20)}):
            for z in (3, 6, 11):
                ours = await facets.densest_tile(conn, search, None, None, z)
                share = await conn.fetchval(
                    "SELECT tiles.footprint_share($1::text::jsonb, $2, 1)", json.dumps(search), z
                )
                assert ours is not None and 1 / 3 <= ours / (0.9 / share) <= 3, (search, z)
        other = {"filter": {"op": "<=", "args": [{"property": "gsd"}, 2]}}
        assert await facets.densest_tile(conn, other, None, None, 5) is None
    finally:
        await conn.close()
