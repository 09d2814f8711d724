"""Relay partners: their conventions with DINAMIS, and who filed an adhesion on a partner's
behalf under which avenant.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_conventions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "entity_id",
            sa.Integer(),
            sa.ForeignKey("registry.entities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("document_path", sa.Text(), nullable=False),
        sa.Column("document_name", sa.Text(), nullable=False),
        sa.Column("designated_by_id", sa.Integer(), sa.ForeignKey("registry.accounts.id")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        schema="registry",
    )
    op.create_index(
        "relay_conventions_entity", "relay_conventions", ["entity_id"], schema="registry"
    )
    op.add_column(
        "adhesions",
        sa.Column("filed_by_id", sa.Integer(), sa.ForeignKey("registry.accounts.id")),
        schema="registry",
    )
    op.add_column("adhesions", sa.Column("avenant", sa.Text()), schema="registry")
    op.create_index("entities_relay", "entities", ["relay_id"], schema="registry")


def downgrade() -> None:
    op.drop_index("entities_relay", "entities", schema="registry")
    op.drop_column("adhesions", "avenant", schema="registry")
    op.drop_column("adhesions", "filed_by_id", schema="registry")
    op.drop_table("relay_conventions", schema="registry")
