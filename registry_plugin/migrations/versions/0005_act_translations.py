"""The Acte d'adhésion in the other languages: rendered with the French act at the decision,
from the same records, so that a reader downloads it in their language.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "adhesions",
        sa.Column(
            "act_translations",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        schema="registry",
    )


def downgrade() -> None:
    op.drop_column("adhesions", "act_translations", schema="registry")
