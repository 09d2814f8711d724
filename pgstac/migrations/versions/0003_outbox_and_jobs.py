"""Mail outbox, and the job queue's tables (procrastinate) in their own `jobs` schema.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("recipients", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attachments", postgresql.JSONB, nullable=False, server_default="[]"),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("reference", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False, server_default="queued"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        schema="dinamis",
    )
    op.create_index("outbox_status", "outbox", ["status", "created_at"], schema="dinamis")
    op.create_index("outbox_reference", "outbox", ["reference"], schema="dinamis")
    # procrastinate's own schema, unchanged, in the `jobs` schema (its SQL is unqualified).
    op.execute("CREATE SCHEMA IF NOT EXISTS jobs")
    op.execute("SET LOCAL search_path TO jobs")
    op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
    op.execute("SET LOCAL search_path TO dinamis, public")


def downgrade() -> None:
    op.execute("DROP SCHEMA IF EXISTS jobs CASCADE")
    op.drop_table("outbox", schema="dinamis")
