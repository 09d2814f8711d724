"""Access: the database evaluates an identity's rights (a CQL2 filter) on given items; the
audit of signatures issued and downloads served.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DOWNLOADABLE = """
CREATE OR REPLACE FUNCTION dinamis.downloadable(_collections text[], _ids text[], _filter jsonb)
RETURNS TABLE (collection text, id text)
LANGUAGE plpgsql STABLE
SET search_path = pgstac, public
AS $$
BEGIN
    -- pgstac turns the CQL2 filter into SQL exactly as it does for a search.
    RETURN QUERY EXECUTE format(
        'SELECT i.collection, i.id FROM pgstac.items i '
        'WHERE i.collection = ANY($1) AND i.id = ANY($2) AND (%s)',
        pgstac.cql2_query(_filter)
    ) USING _collections, _ids;
END
$$;
"""


def upgrade() -> None:
    op.execute(DOWNLOADABLE)
    op.create_table(
        "signatures",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("account_id", sa.Integer, nullable=True),
        sa.Column("entity_id", sa.Integer, nullable=True),
        sa.Column("collection", sa.Text, nullable=False),
        sa.Column("item", sa.Text, nullable=False),
        sa.Column("asset", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(20), nullable=False),
        schema="dinamis",
    )
    op.create_index("signatures_account_at", "signatures", ["account_id", "at"], schema="dinamis")
    op.create_index("signatures_item", "signatures", ["collection", "item"], schema="dinamis")
    op.create_table(
        "downloads",
        sa.Column("signature", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=True),
        sa.Column("entity_id", sa.Integer, nullable=True),
        sa.Column("collection", sa.Text, nullable=False),
        sa.Column("item", sa.Text, nullable=False),
        sa.Column("asset", sa.Text, nullable=False),
        sa.Column(
            "first_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "last_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
        sa.Column("bytes", sa.BigInteger, nullable=False, server_default="0"),
        schema="dinamis",
    )
    op.create_index(
        "downloads_account_at", "downloads", ["account_id", "last_at"], schema="dinamis"
    )


def downgrade() -> None:
    op.drop_table("downloads", schema="dinamis")
    op.drop_table("signatures", schema="dinamis")
    op.execute("DROP FUNCTION IF EXISTS dinamis.downloadable(text[], text[], jsonb)")
