"""Tiles: a footprint tile's features carry id, collection, platform, datetime and cloud cover,
all of which the facets' mirror holds, so that a thinned tile is made from the mirror alone.

A thinned tile (extensions/viewer/tiles.py) found its footprints in the mirror, then joined
them to `pgstac.items` for their properties. The planner costs a lookup of each footprint in
every partition of the archive and so joined by reading all of pgstac's items: at 1.9 M items,
a zoom 6 tile over France took 2.1 to 3.2 s warm, and 13 to 17 s at zoom 5 from a cold cache,
against 0.2 to 0.5 s warm and about 1 s cold from the mirror alone (scratch `tilecold.py`,
the same 10,000 footprints). The incidence angle, which the mirror does not hold, leaves the
layer: the viewer shows none (its list of scenes under a click gives mission, date and cloud
cover, and a scene's details come from the item itself). `tiles.footprints`, which draws the
tiles no mirror can (pgstac's own terms), gives the same properties.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import runpy
from pathlib import Path

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

WITH_ANGLE = runpy.run_path(str(Path(__file__).with_name("0011_footprint_share.py")))["UPGRADE"]
ANGLE = "                   (content->'properties'->>'view:incidence_angle')::float8 AS angle,\n"


def upgrade() -> None:
    assert WITH_ANGLE.count(ANGLE) == 1
    op.execute(WITH_ANGLE.replace(ANGLE, ""))


def downgrade() -> None:
    op.execute(WITH_ANGLE)
