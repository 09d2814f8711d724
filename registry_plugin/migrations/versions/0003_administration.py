"""Administration: an entity's other names (kept by a merge), a licence suspended for one
entity, and the legal representative's e-validation (asked again after a hand-over).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "entities",
        sa.Column(
            "other_names",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        schema="registry",
    )
    op.add_column(
        "entity_acceptances",
        sa.Column("suspended_at", sa.DateTime(timezone=True)),
        schema="registry",
    )
    op.add_column(
        "legal_representatives",
        sa.Column("validated_at", sa.DateTime(timezone=True)),
        schema="registry",
    )
    op.add_column(
        "legal_representatives",
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        schema="registry",
    )
    # The representatives who e-validated already: every entity past that step.
    op.execute(
        """
        UPDATE registry.legal_representatives r
        SET requested_at = r.created_at,
            validated_at = CASE WHEN e.status <> 'awaiting_rl' THEN coalesce(
                (SELECT max(a.rl_validated_at) FROM registry.adhesions a
                 WHERE a.entity_id = r.entity_id), r.created_at) END
        FROM registry.entities e WHERE e.id = r.entity_id
        """
    )


def downgrade() -> None:
    op.drop_column("legal_representatives", "requested_at", schema="registry")
    op.drop_column("legal_representatives", "validated_at", schema="registry")
    op.drop_column("entity_acceptances", "suspended_at", schema="registry")
    op.drop_column("entities", "other_names", schema="registry")
