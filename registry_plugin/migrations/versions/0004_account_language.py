"""The language of each account (its mails are written in it): French unless the account
chose English, on its page or with the language switch while signed in.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("language", sa.String(5), server_default="fr", nullable=False),
        schema="registry",
    )
    # extensions.i18n.LANGUAGES when this was written; a new language is a new migration.
    op.create_check_constraint(
        "accounts_language_known", "accounts", "language IN ('fr', 'en')", schema="registry"
    )


def downgrade() -> None:
    op.drop_constraint("accounts_language_known", "accounts", schema="registry")
    op.drop_column("accounts", "language", schema="registry")
