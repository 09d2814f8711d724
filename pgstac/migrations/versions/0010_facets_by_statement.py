"""Facets kept current by statement, not by row: a load's rows reach the mirror and the rollup
in one set-based pass per statement instead of three statements per item.

The row trigger of 0005 ran an insert into the mirror, an upsert of the rollup and an update
of the longest span for every item: at a million items it cost about 140 µs an item, 40 % of
a pypgstac load (3.0 k items/s with it, 5.0 k without; the same 100,000 items loaded into the
same archive). The statement triggers read the statement's transition tables (`added`,
`removed`): one insert of all its rows into the mirror, one upsert per rollup row touched.

PostgreSQL fires a statement trigger only for the table a statement names. pgstac writes
through `pgstac.items` (its functions, deletions) and pypgstac straight into the leaf
partitions, so every table of the tree gets the triggers, each firing for its own statements
only, and an event trigger gives them to every partition created or attached later (pgstac
creates one when a collection's items reach a new year). An event trigger may only be created
by a superuser: as another role, the row trigger of 0005 stays (exact, slower loads) and
`dinamis db migrate` warns; run once as a superuser, it switches (`facets.follow_by_statement`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# As in 0005, reading the statement's rows `r` instead of one row.
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
TRIGGERS = {
    # name: (event, transition tables)
    "facets_added": ("INSERT", "NEW TABLE AS added"),
    "facets_replaced": ("UPDATE", "OLD TABLE AS removed NEW TABLE AS added"),
    "facets_removed": ("DELETE", "OLD TABLE AS removed"),
}
CREATE_TRIGGERS = "\n".join(
    f"""
        EXECUTE format(
            'CREATE TRIGGER {name} AFTER {event} ON %s REFERENCING {tables} '
            'FOR EACH STATEMENT EXECUTE FUNCTION facets.follow_items()', tree
        );"""
    for name, (event, tables) in TRIGGERS.items()
)

# Constant SQL assembled from the constant fragments above.
FUNCTIONS = f"""
CREATE FUNCTION facets.follow_items() RETURNS trigger
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
        WITH mirrored AS (
            INSERT INTO facets.items ({COLUMNS})
            SELECT {MIRRORED} FROM added r
            ON CONFLICT (collection, id) DO NOTHING
            RETURNING {KEY}, end_datetime - datetime AS span
        ), counted AS (
            -- In key order: two loads adding to the same rows lock them in the same order.
            INSERT INTO facets.cells ({KEY}, n)
            SELECT {KEY}, count(*) FROM mirrored GROUP BY {KEY} ORDER BY {KEY}
            ON CONFLICT ({KEY}) DO UPDATE SET n = facets.cells.n + EXCLUDED.n
        )
        UPDATE facets.spans s SET longest = m.span
        FROM (SELECT max(span) AS span FROM mirrored) m
        WHERE m.span > s.longest;
    END IF;
    RETURN NULL;
END
$$;

-- The tables of pgstac.items' tree, read from the catalogue alone: pg_partition_tree locks
-- every partition, which deadlocks with a load creating another one at the same time.
CREATE FUNCTION facets.item_tables() RETURNS SETOF regclass
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE tree(relid) AS (
        SELECT 'pgstac.items'::regclass::oid
        UNION ALL
        SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.relid
    )
    SELECT relid::regclass FROM tree
$$;

-- Gives the statement triggers to every table of the tree that lacks them. As its owner:
-- pgstac creates partitions as pgstac_ingest, which may neither read the facets' schema nor
-- create triggers.
CREATE FUNCTION facets.follow_partitions() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = facets, pgstac, public AS $$
DECLARE
    tree regclass;
    followed integer := 0;
BEGIN
    FOR tree IN
        SELECT t FROM facets.item_tables() t
        WHERE NOT EXISTS (
            SELECT FROM pg_trigger g WHERE g.tgrelid = t AND g.tgname = 'facets_added'
        )
    LOOP
        {CREATE_TRIGGERS}
        followed := followed + 1;
    END LOOP;
    RETURN followed;
END
$$;

CREATE FUNCTION facets.follow_new_partitions() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = facets, pgstac, public AS $$
BEGIN
    IF EXISTS (
        SELECT FROM pg_event_trigger_ddl_commands() c
        WHERE c.schema_name = 'pgstac' AND c.object_type = 'table'
    ) THEN
        PERFORM facets.follow_partitions();
    END IF;
END
$$;
"""

BY_STATEMENT = """
-- Switches the facets to statement triggers when the role may (a superuser); otherwise keeps
-- the row trigger. Idempotent: `dinamis db migrate` calls it every time.
CREATE FUNCTION facets.follow_by_statement() RETURNS boolean
LANGUAGE plpgsql SET search_path = facets, pgstac, public AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'facets_new_partitions') THEN
        PERFORM facets.follow_partitions();
        RETURN true;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN false;
    END IF;
    DROP TRIGGER IF EXISTS facets_items ON pgstac.items;
    PERFORM facets.follow_partitions();
    CREATE EVENT TRIGGER facets_new_partitions ON ddl_command_end
        WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
        EXECUTE FUNCTION facets.follow_new_partitions();
    RETURN true;
END
$$;

SELECT facets.follow_by_statement();
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)
    op.execute(BY_STATEMENT)


def downgrade() -> None:
    drops = "\n".join(
        f"EXECUTE format('DROP TRIGGER IF EXISTS {name} ON %s', tree);" for name in TRIGGERS
    )
    op.execute(
        f"""
        DROP EVENT TRIGGER IF EXISTS facets_new_partitions;
        DO $$
        DECLARE
            tree regclass;
        BEGIN
            FOR tree IN SELECT t FROM facets.item_tables() t LOOP
                {drops}
            END LOOP;
            IF NOT EXISTS (
                SELECT FROM pg_trigger
                WHERE tgrelid = 'pgstac.items'::regclass AND tgname = 'facets_items'
            ) THEN
                CREATE TRIGGER facets_items AFTER INSERT OR UPDATE OR DELETE ON pgstac.items
                    FOR EACH ROW EXECUTE FUNCTION facets.follow_item();
            END IF;
        END
        $$;
        DROP FUNCTION facets.follow_by_statement();
        DROP FUNCTION facets.follow_new_partitions();
        DROP FUNCTION facets.follow_partitions();
        DROP FUNCTION facets.item_tables();
        DROP FUNCTION facets.follow_items();
        """
    )
