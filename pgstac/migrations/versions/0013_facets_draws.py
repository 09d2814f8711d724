"""Facets: the mirror's footprints by their draw, so that a thinned footprint tile reads only
the footprints it may draw.

Every tile of a zoom draws the same share of a search's footprints, each kept when its draw
(`tiles.sample(id)`, migration 0011) is under the share: a tile over France at zoom 5 then
tested the draw of every footprint it crosses (a million at 4 M items: seconds). One partial
geometry index per draw level (under 1/4, 1/16, … 1/4096: a third more entries than the
geometry index, in all) gives a tile the footprints under the level just above its share, at
most some four times what it draws (extensions/viewer/tiles.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LEVELS = range(1, 7)
"""Level k holds the footprints whose draw is under 4^-k (extensions/viewer/tiles.py)."""


def upgrade() -> None:
    for k in LEVELS:
        op.execute(
            f"CREATE INDEX items_draw_{k}_idx ON facets.items USING gist (geometry)"
            f" WHERE tiles.sample(id) < {4.0**-k!r}"
        )


def downgrade() -> None:
    for k in LEVELS:
        op.execute(f"DROP INDEX facets.items_draw_{k}_idx")
