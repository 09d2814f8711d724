"""Facets: a compact mirror of the items and their rollup, kept current by triggers.

`facets.items` holds, per item, what counting needs (collection, platform, times, cloud
cover, geometry) without pgstac's JSON; `facets.cells` counts the items per 1° cell of a
vertex of their footprint × collection × platform × month × cloud-cover class. Row triggers
on `pgstac.items` keep both current for every writer (pypgstac loads, transactions, harvests,
deletions), so counts never depend on who wrote the items.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The columns of facets.items, computed from a row of pgstac.items `r`.
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
    r.geometry
"""
COLUMNS = "collection, id, datetime, end_datetime, month, platform, cloud, class, cell, geometry"
KEY = "cell, collection, platform, month, class"

# Constant SQL assembled from the constant fragments above.
UPGRADE = f"""
CREATE SCHEMA IF NOT EXISTS facets;

-- Cloud-cover classes: 0 = [0], 1 = (0, 5], 2 = (5, 10], 3 = (10, 20], 4 = (20, 30],
-- 5 = (30, 50], 6 = (50, 100], -1 = unknown. Upper bounds are inclusive, so a viewer's
-- "at most N %" falls on a class boundary.
CREATE FUNCTION facets.cloud_class(cloud double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE
        WHEN cloud IS NULL THEN -1 WHEN cloud <= 0 THEN 0 WHEN cloud <= 5 THEN 1
        WHEN cloud <= 10 THEN 2 WHEN cloud <= 20 THEN 3 WHEN cloud <= 30 THEN 4
        WHEN cloud <= 50 THEN 5 ELSE 6 END)::smallint
$$;

-- As pgstac compares it: a JSON number, or nothing.
CREATE FUNCTION facets.cloud_cover(content jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(content->'properties'->'eo:cloud_cover') = 'number'
        THEN (content->'properties'->>'eo:cloud_cover')::double precision END
$$;

-- The 1° cell of the footprint's first vertex: a point of the footprint itself, so an item
-- counted in a cell that the query area covers does intersect that area.
CREATE FUNCTION facets.cell(geometry geometry) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ((least(greatest(floor(ST_Y(p)), -90), 89) + 90) * 360
            + least(greatest(floor(ST_X(p)), -180), 179) + 180)::integer
    FROM (SELECT ST_GeometryN(ST_Points(geometry), 1) AS p) v
$$;

CREATE TABLE facets.items (
    collection text NOT NULL,
    id text NOT NULL,
    datetime timestamptz NOT NULL,
    end_datetime timestamptz NOT NULL,
    month integer NOT NULL,
    platform text NOT NULL,
    cloud double precision,
    class smallint NOT NULL,
    cell integer NOT NULL,
    geometry geometry NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE INDEX items_geometry_idx ON facets.items USING gist (geometry);
CREATE INDEX items_datetime_idx ON facets.items (datetime);
CREATE INDEX items_class_cell_idx ON facets.items (class, cell, month);

CREATE TABLE facets.cells (
    cell integer NOT NULL,
    collection text NOT NULL,
    platform text NOT NULL,
    month integer NOT NULL,
    class smallint NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY ({KEY})
);

-- The longest item (end_datetime - datetime): how far before a period an item may start and
-- still overlap it. Only grows (a deletion leaves it larger than needed, never wrong).
CREATE TABLE facets.spans (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    longest interval NOT NULL
);
INSERT INTO facets.spans VALUES (true, interval '0');

-- Row triggers: pypgstac loads write into the partitions directly, where only row triggers
-- (which PostgreSQL clones onto every partition, present and future) see the rows.
CREATE FUNCTION facets.follow_item() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = facets, pgstac, public AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        WITH gone AS (
            DELETE FROM facets.items f WHERE f.collection = OLD.collection AND f.id = OLD.id
            RETURNING {KEY}
        )
        -- An emptied row stays, at zero, until the next rebuild.
        UPDATE facets.cells c SET n = c.n - 1 FROM gone g
        WHERE (c.cell, c.collection, c.platform, c.month, c.class)
            = (g.cell, g.collection, g.platform, g.month, g.class);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        WITH added AS (
            INSERT INTO facets.items ({COLUMNS})
            SELECT {MIRRORED} FROM (SELECT NEW.*) r
            ON CONFLICT (collection, id) DO NOTHING
            RETURNING {KEY}
        )
        INSERT INTO facets.cells ({KEY}, n) SELECT {KEY}, 1 FROM added
        ON CONFLICT ({KEY}) DO UPDATE SET n = facets.cells.n + 1;
        UPDATE facets.spans SET longest = NEW.end_datetime - NEW.datetime
        WHERE longest < NEW.end_datetime - NEW.datetime;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION facets.forget_collection() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = facets, pgstac, public AS $$
BEGIN
    -- pgstac may drop a collection's partitions without deleting its rows one by one.
    DELETE FROM facets.items WHERE collection = OLD.id;
    DELETE FROM facets.cells WHERE collection = OLD.id;
    RETURN NULL;
END
$$;

-- Everything again from pgstac.items: after a restore, or to check the triggers' work.
CREATE FUNCTION facets.rebuild() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = facets, pgstac, public AS $$
DECLARE
    total bigint;
BEGIN
    LOCK TABLE pgstac.items IN SHARE MODE;
    TRUNCATE facets.items, facets.cells;
    -- In cell order: the items of an area share pages, which area counts read together.
    INSERT INTO facets.items ({COLUMNS}) SELECT {MIRRORED} FROM pgstac.items r ORDER BY 9;
    INSERT INTO facets.cells ({KEY}, n)
    SELECT {KEY}, count(*) FROM facets.items GROUP BY {KEY} ORDER BY {KEY};
    UPDATE facets.spans
    SET longest = coalesce((SELECT max(end_datetime - datetime) FROM facets.items), '0');
    SELECT count(*) INTO total FROM facets.items;
    ANALYZE facets.items;
    ANALYZE facets.cells;
    RETURN total;
END
$$;

CREATE TRIGGER facets_items AFTER INSERT OR UPDATE OR DELETE ON pgstac.items
    FOR EACH ROW EXECUTE FUNCTION facets.follow_item();
CREATE TRIGGER facets_collection_delete AFTER DELETE ON pgstac.collections
    FOR EACH ROW EXECUTE FUNCTION facets.forget_collection();

SELECT facets.rebuild();
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS facets_items ON pgstac.items;
DROP TRIGGER IF EXISTS facets_collection_delete ON pgstac.collections;
DROP SCHEMA IF EXISTS facets CASCADE;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
