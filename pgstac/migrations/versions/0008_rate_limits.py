"""Rate limit counters in the database, shared by every process of the site (N API workers
or replicas count one limit, not N): the storage of the `limits` library's fixed windows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE UNLOGGED TABLE dinamis.rate_limits (
            key text PRIMARY KEY,
            hits integer NOT NULL,
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX rate_limits_expiry ON dinamis.rate_limits (expires_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE dinamis.rate_limits")
