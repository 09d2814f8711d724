"""The item a paging token names, found by an index: a search's next pages in milliseconds.

pgstac's `get_token_record` finds the token's item with `id = convert_from(decode(…), 'UTF8')`.
`convert_from` takes the encoding's name as a `name`, whose collation is "C", so the comparison
is made in "C" while every partition's `id` index is in the database's collation: no index
applies, and each next or previous page read every partition of the archive (measured at a
million items: 530 ms of a 550 ms page, against 15 to 70 ms for the first page). pgstac is not
edited here (pgstac/__init__.py): this adds, beside its indexes, a hash index of the ids in
"C" on `pgstac.items`, which PostgreSQL gives to every partition, those pgstac creates later
included. Measured at a million items: the lookup 560 ms → 5 ms, a next page 450-575 → 31-107
ms; 38 MB, built in 1.6 s (writes wait meanwhile); 60,000 items loaded at 1,170-1,353
items/s with it, 1,233-1,273 without (scratch, alternated: no difference beyond the noise).

pgstac's `maintain_partitions(dropindexes => true)` counts this index among the partitions'
unpaired ones and cannot drop it (it belongs to `pgstac.items`); `dinamis db migrate` runs it
without.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        'CREATE INDEX IF NOT EXISTS items_token_lookup ON pgstac.items USING hash ((id COLLATE "C"))'
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS pgstac.items_token_lookup")
