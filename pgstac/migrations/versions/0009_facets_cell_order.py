"""The facets' mirror kept in cell order: the items an area's count reads one by one (those
near its edge) then share pages. Its index on (class, cell, month) becomes (cell, class,
month), which serves the same lookups and orders the table (`CLUSTER`, after large loads).

Measured at a million demo items, a viewer's filter change (page, counts, timeline): p95
361 ms with the mirror in arrival order, 245 ms in cell order.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        DROP INDEX facets.items_class_cell_idx;
        CREATE INDEX items_cell_class_idx ON facets.items (cell, class, month);
        CLUSTER facets.items USING items_cell_class_idx;
        ANALYZE facets.items;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE facets.items SET WITHOUT CLUSTER;
        DROP INDEX facets.items_cell_class_idx;
        CREATE INDEX items_class_cell_idx ON facets.items (class, cell, month);
        """
    )
