"""Harvest fingerprints: what each harvested metadata file looked like when it was loaded.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A product whose metadata file still has the same fingerprint (size and modification
    # time, zip CRC, or S3 ETag) is skipped without being read: re-harvests are cheap.
    op.create_table(
        "harvested",
        sa.Column("key", sa.Text, primary_key=True, comment="storage-relative path of the file"),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("item_id", sa.Text, nullable=False),
        sa.Column("collection", sa.Text, nullable=False),
        sa.Column(
            "harvested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema="dinamis",
    )


def downgrade() -> None:
    op.drop_table("harvested", schema="dinamis")
