"""Vector tiles drawn by the catalogue viewer, made by PostGIS in one call each.

- `tiles.footprints(search, z, x, y, max_features)`: the footprints of the items a search
  matches (its terms as pgstac reads them, turned into SQL by pgstac itself), in one tile;
- `tiles.basemap(z, x, y)`: the embedded offline basemap, from the gazetteer's outlines
  (countries and territories, then régions, départements and communes as one zooms in).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE SCHEMA IF NOT EXISTS tiles;

CREATE OR REPLACE FUNCTION tiles.footprints(search jsonb, z int, x int, y int, max_features int)
RETURNS bytea LANGUAGE plpgsql STABLE PARALLEL SAFE AS $function$
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
            LIMIT %5$s
        ) f
    $query$, z, x, y, matching, max_features) INTO tile;
    RETURN tile;
END
$function$;

CREATE OR REPLACE FUNCTION tiles.basemap(z int, x int, y int)
RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $function$
    SELECT ST_AsMVT(p, 'places', 4096, 'geom') FROM (
        SELECT kind, name,
               ST_AsMVTGeom(
                   ST_Transform(ST_Simplify(ST_ClipByBox2D(geom, area::box2d), tolerance, true), 3857),
                   ST_TileEnvelope(z, x, y), 4096, 16, true) AS geom
        FROM places.places,
             (SELECT ST_Expand(ST_Transform(ST_TileEnvelope(z, x, y), 4326), 360.0 / 2 ^ z / 64) AS area,
                     360.0 / (1024 * 2 ^ z) AS tolerance) AS tile
        WHERE geom && area
          AND kind = ANY(CASE WHEN z < 4 THEN '{country,territory}'
                              WHEN z < 6 THEN '{country,territory,region}'
                              WHEN z < 9 THEN '{country,territory,region,departement}'
                              ELSE '{country,territory,region,departement,commune}' END::text[])
    ) p
$function$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP SCHEMA IF EXISTS tiles CASCADE")
