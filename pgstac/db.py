"""Synchronous connections for the CLI, migrations and bulk loads (the API uses asyncpg pools)."""

from __future__ import annotations

import psycopg
from pypgstac.db import PgstacDB

SEARCH_PATH = "pgstac,public"


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg connection whose search_path resolves pgstac's unqualified internal calls."""
    return psycopg.connect(
        dsn,
        autocommit=autocommit,
        options=f"-c search_path={SEARCH_PATH}",
        application_name="dinamis",
    )


def close_pgstac_db(db: PgstacDB) -> None:
    """Close a pypgstac database: its `close()` alone closes its pool but leaves the
    connection it handed out open (and held by an exit handler until the process ends)."""
    pool = db.pool
    db.disconnect()  # the connection back to the pool…
    if pool is not None:
        pool.close()  # …which closes it


SETTLE = ("VACUUM (ANALYZE) facets.cells", "VACUUM (ANALYZE) facets.items", "ANALYZE pgstac.items")


def settle_after_load(dsn: str) -> None:
    """After a large load, leave the counts fast by themselves: the facets' rollup and mirror
    vacuumed (their visibility map set, so that counting reads the rollup's index only:
    about 8x faster on a fresh million items) and the planner's statistics current."""
    with connect(dsn, autocommit=True) as conn:
        for statement in SETTLE:
            conn.execute(statement)
