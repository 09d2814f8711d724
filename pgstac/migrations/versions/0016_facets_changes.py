"""Facets: the transactions that changed the counts, so that a count made once is served again
while it is still exact.

Every statement that changes the mirror, the rollup or the spans (the triggers of pgstac's
items write them, `facets.rebuild()` truncates them) notes its transaction in
`facets.changes`, in that same transaction: a snapshot sees the note exactly when it sees the
change. Counts made in a snapshot S0 are still exact in a later snapshot S1 when S1 sees no
noted transaction S0 did not: those started from S0's xmin on (older ones were finished in S0,
seen or rolled back), found by the primary key. One row per writing transaction, not per
statement, and no shared row to update: concurrent loads do not wait for each other.

`facets.forget_changes()` deletes the notes every running and future snapshot already sees,
and records from which transaction notes are kept (`facets.changes_kept`): counts made in an
older snapshot are made again.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NOTED = ("items", "cells", "spans")
NOTING = "\n".join(
    f"CREATE TRIGGER facets_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
    f" ON facets.{table} FOR EACH STATEMENT EXECUTE FUNCTION facets.note_change();"
    for table in NOTED
)

# Constant SQL assembled from the constant fragments above.
UPGRADE = f"""
CREATE TABLE facets.changes (xid xid8 PRIMARY KEY);

CREATE TABLE facets.changes_kept (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    since xid8 NOT NULL
);
INSERT INTO facets.changes_kept (since) VALUES ('0');

CREATE FUNCTION facets.note_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = facets, pg_catalog AS $$
BEGIN
    INSERT INTO facets.changes (xid) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE FUNCTION facets.forget_changes() RETURNS bigint
LANGUAGE plpgsql SET search_path = facets, pg_catalog AS $$
DECLARE
    horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
    forgotten bigint;
BEGIN
    DELETE FROM facets.changes WHERE xid < horizon;
    GET DIAGNOSTICS forgotten = ROW_COUNT;
    UPDATE facets.changes_kept SET since = horizon;
    RETURN forgotten;
END
$$;

{NOTING}
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(
        "\n".join(f"DROP TRIGGER facets_changed ON facets.{table};" for table in NOTED)
        + """
        DROP FUNCTION facets.forget_changes();
        DROP FUNCTION facets.note_change();
        DROP TABLE facets.changes_kept;
        DROP TABLE facets.changes;
        """
    )
