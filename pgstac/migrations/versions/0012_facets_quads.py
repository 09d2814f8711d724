"""Facets: each mirrored footprint's corners, so that the items near a rectangle's edge are
counted from an index alone.

A count's third part (extensions/facets.py) tests, one by one, the items near the edge of the
searched area: at 4 M items, a 4° × 4° box has some 550,000 of them, fetched from the mirror's
heap and tested with `ST_Intersects` (1.2 µs an item: 680 ms). Most footprints are convex
quadrilaterals (a scene's four corners), for which a rectangle's test is arithmetic on
their corners: their bounding boxes overlap and either the footprint lies within the
rectangle's width or height (a connected footprint then meets it) or no edge of the
footprint separates it from the rectangle (the separating axis theorem). The mirror keeps the
corners (counter-clockwise) and their bounding box; an index holding them with the facets'
keys answers the count without reading the table (210 ms for the same box). Other
footprints (more corners, holes, several parts, not convex) keep their corners empty and are
tested by their geometry, through a small index of their own.

`facets.spans` keeps the widest and tallest quadrilateral: how far from a rectangle an item
meeting it may be anchored.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

QUAD = ("west", "south", "east", "north", "x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4")
COLUMNS = (
    "collection, id, datetime, end_datetime, month, platform, cloud, class, cell, geometry, "
    + ", ".join(QUAD)
)
# The mirror's columns from a row of pgstac.items `r` and its corners `q` (facets.quad).
MIRRORED = """
    r.collection,
    r.id,
    r.datetime,
    r.end_datetime,
    (extract(year FROM r.datetime AT TIME ZONE 'UTC')::int * 12
        + extract(month FROM r.datetime AT TIME ZONE 'UTC')::int - 1),
    coalesce(r.content->'properties'->>'platform', ''),
    facets.cloud_cover(r.content),
    facets.cloud_class(facets.cloud_cover(r.content)),
    facets.cell(r.geometry),
    r.geometry,
""" + ", ".join(f"q.{c}" for c in QUAD)
KEY = "cell, collection, platform, month, class"
# The rollup and the longest span, widest and tallest quadrilateral, from the rows just
# mirrored (`mirrored`: the key, span, width and height).
COUNTED = f"""
        counted AS (
            -- In key order: two loads adding to the same rows lock them in the same order.
            INSERT INTO facets.cells ({KEY}, n)
            SELECT {KEY}, count(*) FROM mirrored GROUP BY {KEY} ORDER BY {KEY}
            ON CONFLICT ({KEY}) DO UPDATE SET n = facets.cells.n + EXCLUDED.n
        )
        UPDATE facets.spans s
        SET longest = greatest(s.longest, m.span),
            widest = greatest(s.widest, m.width),
            tallest = greatest(s.tallest, m.height)
        FROM (
            SELECT max(span) AS span, max(width) AS width, max(height) AS height FROM mirrored
        ) m
        WHERE m.span > s.longest OR m.width > s.widest OR m.height > s.tallest;
"""
RETURNING = f"RETURNING {KEY}, end_datetime - datetime AS span, east - west AS width, north - south AS height"
# Mirrors the rows `rows` (a trigger's new row or its statement's), then counts them.
MIRROR = f"""
        WITH mirrored AS (
            INSERT INTO facets.items ({COLUMNS})
            SELECT {MIRRORED} FROM {{rows}} r CROSS JOIN LATERAL facets.quad(r.geometry) q
            ON CONFLICT (collection, id) DO NOTHING
            {RETURNING}
        ), {COUNTED}"""

# Constant SQL assembled from the constant fragments above.
UPGRADE = f"""
ALTER TABLE facets.items
    {", ".join(f"ADD COLUMN {c} double precision" for c in QUAD)};
ALTER TABLE facets.spans
    ADD COLUMN widest double precision NOT NULL DEFAULT 0,
    ADD COLUMN tallest double precision NOT NULL DEFAULT 0;

-- A footprint that is a convex quadrilateral: its bounding box and its corners,
-- counter-clockwise from the first; nothing for any other shape.
CREATE FUNCTION facets.quad(
    g geometry,
    OUT west double precision, OUT south double precision,
    OUT east double precision, OUT north double precision,
    OUT x1 double precision, OUT y1 double precision, OUT x2 double precision,
    OUT y2 double precision, OUT x3 double precision, OUT y3 double precision,
    OUT x4 double precision, OUT y4 double precision
) LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    ring geometry;
    x double precision[];
    y double precision[];
    j integer;
    k integer;
BEGIN
    IF GeometryType(g) <> 'POLYGON' OR ST_NRings(g) <> 1 OR ST_NPoints(g) <> 5 THEN
        RETURN;
    END IF;
    ring := ST_ExteriorRing(g);
    x := ARRAY[ST_X(ST_PointN(ring, 1)), ST_X(ST_PointN(ring, 2)),
               ST_X(ST_PointN(ring, 3)), ST_X(ST_PointN(ring, 4))];
    y := ARRAY[ST_Y(ST_PointN(ring, 1)), ST_Y(ST_PointN(ring, 2)),
               ST_Y(ST_PointN(ring, 3)), ST_Y(ST_PointN(ring, 4))];
    IF (x[1] - x[3]) * (y[2] - y[4]) - (x[2] - x[4]) * (y[1] - y[3]) < 0 THEN
        x := ARRAY[x[1], x[4], x[3], x[2]];  -- clockwise: turned round
        y := ARRAY[y[1], y[4], y[3], y[2]];
    END IF;
    FOR i IN 1..4 LOOP  -- every corner turns left, none is flat
        j := i % 4 + 1;
        k := j % 4 + 1;
        IF (x[j] - x[i]) * (y[k] - y[j]) - (y[j] - y[i]) * (x[k] - x[j]) <= 0 THEN
            RETURN;
        END IF;
    END LOOP;
    west := least(x[1], x[2], x[3], x[4]);
    east := greatest(x[1], x[2], x[3], x[4]);
    south := least(y[1], y[2], y[3], y[4]);
    north := greatest(y[1], y[2], y[3], y[4]);
    x1 := x[1]; y1 := y[1]; x2 := x[2]; y2 := y[2];
    x3 := x[3]; y3 := y[3]; x4 := x[4]; y4 := y[4];
END
$$;

-- The cells a box meets, inside the world (facets.cell's numbering), but those listed; a box
-- beyond the world meets its edge's cells (its items' own boxes are compared anyway).
CREATE FUNCTION facets.cells_around(
    west double precision, south double precision, east double precision,
    north double precision, but integer[]
) RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(c ORDER BY c), '{{}}') FROM (
        SELECT (y + 90) * 360 + x + 180 AS c
        FROM generate_series(
                least(greatest(floor(south), -90), 89)::int,
                greatest(least(floor(north), 89), -90)::int
             ) y,
             generate_series(
                least(greatest(floor(west), -180), 179)::int,
                greatest(least(floor(east), 179), -180)::int
             ) x
    ) cells
    WHERE NOT c = ANY(but)
$$;

CREATE OR REPLACE FUNCTION facets.follow_item() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = facets, pgstac, public AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        WITH gone AS (
            DELETE FROM facets.items f WHERE f.collection = OLD.collection AND f.id = OLD.id
            RETURNING {KEY}
        )
        UPDATE facets.cells c SET n = c.n - 1 FROM gone g
        WHERE (c.cell, c.collection, c.platform, c.month, c.class)
            = (g.cell, g.collection, g.platform, g.month, g.class);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
{MIRROR.format(rows="(SELECT NEW.*)")}
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION facets.follow_items() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = facets, pgstac, public AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        WITH gone AS (
            DELETE FROM facets.items f USING removed r
            WHERE f.collection = r.collection AND f.id = r.id
            RETURNING f.cell, f.collection, f.platform, f.month, f.class
        )
        -- An emptied row stays, at zero, until the next rebuild.
        UPDATE facets.cells c SET n = c.n - g.n
        FROM (SELECT {KEY}, count(*) AS n FROM gone GROUP BY {KEY}) g
        WHERE (c.cell, c.collection, c.platform, c.month, c.class)
            = (g.cell, g.collection, g.platform, g.month, g.class);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
{MIRROR.format(rows="added")}
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION facets.rebuild() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = facets, pgstac, public AS $$
DECLARE
    total bigint;
BEGIN
    LOCK TABLE pgstac.items IN SHARE MODE;
    TRUNCATE facets.items, facets.cells;
    -- In cell order: the items of an area share pages, which area counts read together.
    INSERT INTO facets.items ({COLUMNS})
    SELECT {MIRRORED} FROM pgstac.items r CROSS JOIN LATERAL facets.quad(r.geometry) q
    ORDER BY 9;
    INSERT INTO facets.cells ({KEY}, n)
    SELECT {KEY}, count(*) FROM facets.items GROUP BY {KEY} ORDER BY {KEY};
    UPDATE facets.spans SET
        longest = coalesce((SELECT max(end_datetime - datetime) FROM facets.items), '0'),
        widest = coalesce((SELECT max(east - west) FROM facets.items), 0),
        tallest = coalesce((SELECT max(north - south) FROM facets.items), 0);
    SELECT count(*) INTO total FROM facets.items;
    ANALYZE facets.items;
    ANALYZE facets.cells;
    RETURN total;
END
$$;

SELECT facets.rebuild();

-- The items of a cell by their west edge, with all a rectangle's count reads (an index-only
-- scan), and the footprints that are not quadrilaterals by their geometry.
CREATE INDEX items_cell_west_idx ON facets.items (cell, west) INCLUDE (
    east, south, north, x1, y1, x2, y2, x3, y3, x4, y4,
    collection, platform, month, class, datetime, end_datetime, cloud
);
CREATE INDEX items_shapes_idx ON facets.items USING gist (geometry) WHERE west IS NULL;
"""

DOWNGRADE = f"""
DROP INDEX facets.items_shapes_idx;
DROP INDEX facets.items_cell_west_idx;
ALTER TABLE facets.items {", ".join(f"DROP COLUMN {c}" for c in QUAD)};
ALTER TABLE facets.spans DROP COLUMN widest, DROP COLUMN tallest;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    # The functions of 0005 and 0010 as they were, then the columns they no longer fill.
    import runpy
    from pathlib import Path

    here = Path(__file__).parent
    old_0005 = runpy.run_path(str(here / "0005_facets.py"))
    old_0010 = runpy.run_path(str(here / "0010_facets_by_statement.py"))
    op.execute(DOWNGRADE)
    op.execute(old_0010["FUNCTIONS"].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    for name in ("follow_item", "rebuild"):
        start = old_0005["UPGRADE"].index(f"CREATE FUNCTION facets.{name}()")
        end = old_0005["UPGRADE"].index("$$;", start) + 3
        op.execute("CREATE OR REPLACE " + old_0005["UPGRADE"][start + len("CREATE ") : end])
    op.execute("DROP FUNCTION facets.quad(geometry)")
    op.execute("DROP FUNCTION facets.cells_around(float8, float8, float8, float8, integer[])")
