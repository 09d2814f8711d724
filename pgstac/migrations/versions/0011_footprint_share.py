"""Footprint tiles thinned alike on both sides of every tile edge.

A tile held at most `max_features` footprints, any of those it crosses: where a search has
more, each tile kept its own subset, so a footprint across an edge was drawn on one side and
cut on the other, and each side had its own density. Longitude 0, an edge at every zoom, ran
as a seam through France. Tippecanoe's answer (`--drop-fraction-as-needed`): a zoom keeps
the same share of the features in every tile, the densest tile's allowance, each feature
kept or dropped by a draw of its own.

- `tiles.sample(id)`: an item's draw, in [0, 1), from its id (the same in every tile);
- `tiles.footprint_share(search, z, max_features)`: the share of a search's footprints that
  every tile of zoom z draws, so that the densest holds about max_features (1: all);
- `tiles.footprints(search, z, x, y, max_features, share)`: the footprints whose draw is
  under the share, the lowest draws first when a tile still holds more than max_features.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import runpy
from pathlib import Path

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE OR REPLACE FUNCTION tiles.sample(id text) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $function$
    SELECT ('x' || substr(md5(id), 1, 8))::bit(32)::bigint / 4294967296.0
$function$;

CREATE OR REPLACE FUNCTION tiles.footprint_share(search jsonb, z int, max_features int)
RETURNS float8 LANGUAGE plpgsql STABLE PARALLEL SAFE AS $function$
DECLARE
    matching text := pgstac.stac_search_to_where(search);
    cell int := least(z, 9);
    densest float8;
BEGIN
    -- The footprints a tile crosses, estimated in one pass over the search's items, no
    -- geometry transformed: each item counts for the tiles its extent spans on average,
    -- (1 + width) × (1 + height) in tiles, in the cell of its centre; a cell is a tile of
    -- zoom 9 at the smallest (some 55 km across France, a footprint's size), its count
    -- shared by its tiles, as a tile smaller than the footprints sees its neighbourhood's.
    -- A tenth is kept in hand for the estimate's error.
    EXECUTE format($query$
        SELECT max(n) FROM (
            SELECT sum((1 + x1 - x0) * (1 + y1 - y0)) / 4 ^ (%1$s - %3$s) AS n
            FROM (
                SELECT (ST_XMin(geometry) + 180) / 360 * 2 ^ %1$s AS x0,
                       (ST_XMax(geometry) + 180) / 360 * 2 ^ %1$s AS x1,
                       (1 - asinh(tan(radians(least(85.0511, ST_YMax(geometry))))) / pi())
                           / 2 * 2 ^ %1$s AS y0,
                       (1 - asinh(tan(radians(greatest(-85.0511, ST_YMin(geometry))))) / pi())
                           / 2 * 2 ^ %1$s AS y1
                FROM pgstac.items WHERE %2$s
            ) extents
            GROUP BY floor((x0 + x1) / 2 ^ (%1$s - %3$s + 1)),
                     floor((y0 + y1) / 2 ^ (%1$s - %3$s + 1))
        ) cells
    $query$, z, matching, cell) INTO densest;
    RETURN least(1, 0.9 * max_features / greatest(densest, 1));
END
$function$;

DROP FUNCTION IF EXISTS tiles.footprints(jsonb, int, int, int, int);

CREATE OR REPLACE FUNCTION tiles.footprints(
    search jsonb, z int, x int, y int, max_features int, share float8
) RETURNS bytea LANGUAGE plpgsql STABLE PARALLEL SAFE AS $function$
DECLARE
    matching text := pgstac.stac_search_to_where(search);
    tile bytea;
BEGIN
    -- The envelope is written as constants so that the planner uses the geometry index; the
    -- footprints are those that cross the tile (as tipg and the search see them).
    EXECUTE format($query$
        SELECT ST_AsMVT(f, 'footprints', 4096, 'geom') FROM (
            SELECT id, collection,
                   content->'properties'->>'platform' AS platform,
                   to_char(datetime AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS datetime,
                   (content->'properties'->>'eo:cloud_cover')::float8 AS cloud,
                   (content->'properties'->>'view:incidence_angle')::float8 AS angle,
                   ST_AsMVTGeom(ST_Transform(geometry, 3857), ST_TileEnvelope(%1$s, %2$s, %3$s),
                                4096, 64, true) AS geom
            FROM pgstac.items
            WHERE ST_Intersects(geometry, ST_Transform(ST_TileEnvelope(%1$s, %2$s, %3$s), 4326))
              AND (%4$s)
              AND tiles.sample(id) < %6$s
            ORDER BY tiles.sample(id)
            LIMIT %5$s
        ) f
    $query$, z, x, y, matching, max_features, share) INTO tile;
    RETURN tile;
END
$function$;
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS tiles.footprints(jsonb, int, int, int, int, float8);
DROP FUNCTION IF EXISTS tiles.footprint_share(jsonb, int, int);
DROP FUNCTION IF EXISTS tiles.sample(text);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
    op.execute(runpy.run_path(str(Path(__file__).with_name("0007_tiles.py")))["UPGRADE"])
