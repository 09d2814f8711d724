"""Core schema `dinamis`: the record of bulk loads into the catalogue.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per named dataset loaded in bulk (the demo archive, benchmark sets): lets a
    # second `dinamis demo` see that the same archive is already there and do nothing.
    op.create_table(
        "loads",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("parameters", postgresql.JSONB, nullable=False),
        sa.Column("item_count", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "finished_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        schema="dinamis",
    )


def downgrade() -> None:
    op.drop_table("loads", schema="dinamis")
