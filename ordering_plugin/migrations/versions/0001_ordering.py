"""Ordering: projects, requests, statuses, messages, quotas, counters.

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

S = "ordering"
NOW = sa.text("now()")
JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("scope", sa.String(80), primary_key=True),
        sa.Column("value", sa.Integer(), nullable=False),
        schema=S,
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("kind", sa.String(3), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("themes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("objectives", sa.Text(), nullable=False),
        sa.Column("methodology", sa.Text(), nullable=False),
        sa.Column("expected_results", sa.Text(), nullable=False),
        sa.Column("publications", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False, index=True),
        sa.Column("owner_email", sa.Text(), nullable=False),
        sa.Column("owner_name", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Integer(), index=True),
        sa.Column("entity_name", sa.Text()),
        sa.Column("members", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_table(
        "requests",
        sa.Column("id", sa.String(48), primary_key=True),
        sa.Column(
            "project_id",
            sa.String(20),
            sa.ForeignKey(f"{S}.projects.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(1), nullable=False),
        sa.Column("product_id", sa.String(40), nullable=False),
        sa.Column("family", sa.String(20), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False, index=True),
        sa.Column("requester_email", sa.Text(), nullable=False),
        sa.Column("requester_name", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Integer(), index=True),
        sa.Column("entity_name", sa.Text()),
        sa.Column("geometry", JSONB, nullable=False),
        sa.Column("area_km2", sa.Float(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filter", JSONB),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column("scenes", JSONB, nullable=False),
        sa.Column("opportunity", JSONB),
        sa.Column("over_quota", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("quota_state", sa.String(10), nullable=False),
        sa.Column("upstream_id", sa.Text()),
        sa.Column("upstream_status", sa.Text()),
        sa.Column("price", JSONB),
        sa.Column("segments", JSONB, nullable=False),
        sa.Column("delivered", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        schema=S,
    )
    op.create_table(
        "statuses",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "request_id",
            sa.String(48),
            sa.ForeignKey(f"{S}.requests.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason_code", sa.String(40)),
        sa.Column("reason_text", sa.Text()),
        schema=S,
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "request_id",
            sa.String(48),
            sa.ForeignKey(f"{S}.requests.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("author_role", sa.String(20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        schema=S,
    )
    op.create_table(
        "quotas",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("entity_name", sa.Text()),
        sa.Column("family", sa.String(20), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("allowed_km2", sa.Float(), nullable=False),
        sa.Column("reserved_km2", sa.Float(), nullable=False),
        sa.Column("used_km2", sa.Float(), nullable=False),
        sa.UniqueConstraint("entity_id", "family", "period_start"),
        schema=S,
    )


def downgrade() -> None:
    for table in ("quotas", "messages", "statuses", "requests", "projects", "counters"):
        op.drop_table(table, schema=S)
