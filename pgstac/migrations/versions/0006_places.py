"""Places: the offline gazetteer behind `place=` and `/places` (communes, départements,
régions, overseas territories, countries), filled by `dinamis db migrate`
(extensions/places/loader.py).

Names are matched on a normalised key (lower case, no accents, one space between words)
that Python computes for the data and for the query alike, so no index depends on
`unaccent`, which is not immutable. Prefixes use a text_pattern_ops b-tree, words inside a
name and misspellings a pg_trgm index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = """
-- In public, which the API's search_path (pgstac, public) reaches: not in the migrating
-- role's own schema, where "$user" would put it.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE SCHEMA IF NOT EXISTS places;

CREATE TABLE places.places (
    id text PRIMARY KEY,                  -- the kind and the code, joined by a colon
    kind text NOT NULL
        CHECK (kind IN ('country', 'territory', 'region', 'departement', 'commune')),
    code text NOT NULL,                   -- INSEE/COG code, or ISO 3166-1 alpha-3
    name text NOT NULL,                   -- French name, as written
    context text,                         -- e.g. "Hérault, Occitanie"
    population integer,                   -- legal population where known
    importance smallint NOT NULL,         -- 0 country … 4 commune: ranks homonyms
    key text NOT NULL,                    -- normalised name
    geom geometry(MultiPolygon, 4326) NOT NULL,
    UNIQUE (kind, code)
);
CREATE INDEX places_geom_idx ON places.places USING gist (geom);
CREATE INDEX places_key_idx ON places.places (key text_pattern_ops);

-- Every name a place answers to (its own, and e.g. a country's English names).
CREATE TABLE places.names (
    place_id text NOT NULL REFERENCES places.places (id) ON DELETE CASCADE,
    key text NOT NULL,
    PRIMARY KEY (place_id, key)
);
CREATE INDEX names_key_prefix_idx ON places.names (key text_pattern_ops);
CREATE INDEX names_key_trgm_idx ON places.names USING gin (key gin_trgm_ops);

-- What is loaded: the loader skips its work when the fingerprint of its sources is the same.
CREATE TABLE places.source (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    fingerprint text NOT NULL,
    counts jsonb NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP SCHEMA IF EXISTS places CASCADE")
