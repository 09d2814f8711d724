"""Registry: entities, accounts, licences, missions, partnerships, adhesions, tokens, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import String, Text
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("upload_path", sa.Text(), nullable=True),
        sa.Column("upload_name", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    op.create_table(
        "entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("acronym", sa.String(length=80), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("nationality", sa.String(length=80), nullable=False),
        sa.Column("parent_establishment", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("city", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("interest_domain", sa.Text(), nullable=False),
        sa.Column("activity_sector", sa.String(length=20), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("is_relay", sa.Boolean(), nullable=False),
        sa.Column("relay_id", sa.Integer(), nullable=True),
        sa.Column("super_entity_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["registry.entities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["relay_id"],
            ["registry.entities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["super_entity_id"],
            ["registry.entities.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    op.create_table(
        "licences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("attestation", sa.Text(), nullable=False),
        sa.Column("certification", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", "version"),
        schema="registry",
    )
    op.create_table(
        "link_tokens",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("nonce"),
        schema="registry",
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("function", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("nationality", sa.String(length=80), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("roles", postgresql.ARRAY(String(length=30)), nullable=False),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validated_by_id", sa.Integer(), nullable=True),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["registry.entities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["validated_by_id"],
            ["registry.accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
        schema="registry",
    )
    op.create_table(
        "entity_acceptances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column(
            "accepted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("accepted_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["entity_id"], ["registry.entities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["licence_id"],
            ["registry.licences.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entity_id", "licence_id"),
        schema="registry",
    )
    op.create_table(
        "legal_representatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("function", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("nationality", sa.String(length=80), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["entity_id"], ["registry.entities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entity_id"),
        schema="registry",
    )
    op.create_table(
        "missions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("area", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("description_path", sa.Text(), nullable=True),
        sa.Column("description_name", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["entity_id"], ["registry.entities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    op.create_table(
        "account_certifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column(
            "certified_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["account_id"], ["registry.accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["licence_id"],
            ["registry.licences.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "licence_id"),
        schema="registry",
    )
    op.create_table(
        "adhesions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("submitted_by", sa.Text(), nullable=False),
        sa.Column("relay_id", sa.Integer(), nullable=True),
        sa.Column("rl_validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rl_address", postgresql.INET(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("act_path", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["registry.accounts.id"],
        ),
        sa.ForeignKeyConstraint(["entity_id"], ["registry.entities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["relay_id"],
            ["registry.entities.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("address", postgresql.INET(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["registry.accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["registry.accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
        schema="registry",
    )
    op.create_table(
        "mission_sensors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("sensor", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["mission_id"], ["registry.missions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    op.create_table(
        "partnerships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("private_entity_id", sa.Integer(), nullable=False),
        sa.Column("public_entity_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["registry.accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["private_entity_id"], ["registry.entities.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["public_entity_id"],
            ["registry.entities.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="registry",
    )
    # Look-ups the flows make.
    op.create_index("accounts_entity", "accounts", ["entity_id"], schema="registry")
    op.create_index("entities_status", "entities", ["status"], schema="registry")
    op.create_index("auth_tokens_account", "auth_tokens", ["account_id"], schema="registry")
    op.create_index("audit_subject", "audit_log", ["subject_type", "subject_id"], schema="registry")
    op.create_index("audit_at", "audit_log", ["at"], schema="registry")
    op.create_index("partnerships_public", "partnerships", ["public_entity_id"], schema="registry")
    op.create_index("adhesions_entity", "adhesions", ["entity_id"], schema="registry")
    op.create_index(
        "licences_one_current",
        "licences",
        ["code"],
        unique=True,
        schema="registry",
        postgresql_where=sa.text("current"),
    )
    # Accent- and case-insensitive entity search.
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


def downgrade() -> None:
    op.drop_table("partnerships", schema="registry")
    op.drop_table("mission_sensors", schema="registry")
    op.drop_table("auth_tokens", schema="registry")
    op.drop_table("audit_log", schema="registry")
    op.drop_table("adhesions", schema="registry")
    op.drop_table("account_certifications", schema="registry")
    op.drop_table("missions", schema="registry")
    op.drop_table("legal_representatives", schema="registry")
    op.drop_table("entity_acceptances", schema="registry")
    op.drop_table("accounts", schema="registry")
    op.drop_table("link_tokens", schema="registry")
    op.drop_table("licences", schema="registry")
    op.drop_table("entities", schema="registry")
    op.drop_table("drafts", schema="registry")
