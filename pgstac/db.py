"""Synchronous connections for the CLI, migrations and bulk loads (the API uses asyncpg pools),
and what tells a database that cannot be reached from one that refused a statement."""

from __future__ import annotations

import asyncpg
import psycopg
from psycopg_pool import PoolTimeout
from pypgstac.db import PgstacDB
from sqlalchemy.exc import DBAPIError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

SEARCH_PATH = "pgstac,public"


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg connection whose search_path resolves pgstac's unqualified internal calls."""
    return psycopg.connect(
        dsn,
        autocommit=autocommit,
        options=f"-c search_path={SEARCH_PATH}",
        application_name="dinamis",
    )


class DatabaseUnavailable(RuntimeError):
    """The database did not answer for as long as a bulk job waits for it."""


# What a driver raises when the server cannot be reached, is restarting or shutting down, or
# has no connection to spare: nothing the caller sent is wrong, and asking again later works.
UNREACHABLE: tuple[type[Exception], ...] = (
    ConnectionError,  # refused or reset: the server is down or restarting
    asyncpg.PostgresConnectionError,  # class 08, e.g. a pooled connection the restart closed
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    # A pooled connection the server dropped mid-restart, found in an impossible state
    # ("cannot switch to state …; another operation is in progress"): the pool replaces it.
    asyncpg.InternalClientError,
    psycopg.errors.ConnectionException,
    psycopg.errors.AdminShutdown,
    psycopg.errors.CrashShutdown,
    psycopg.errors.CannotConnectNow,
    psycopg.errors.TooManyConnections,
    psycopg.errors.ConnectionTimeout,
    PoolTimeout,  # no connection came back to the pool in time
)


def unreachable(exc: BaseException) -> bool:
    """Whether `exc`, or what it wraps (SQLAlchemy's `orig`, a `raise … from`), says the
    database cannot be reached rather than that it refused what was asked.

    psycopg raises its plain `OperationalError` for a failed connection or a connection lost
    mid-query; its subclasses (a cancelled statement, a lock not granted) are answers.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UNREACHABLE) or type(current) is psycopg.OperationalError:
            return True
        current = current.orig if isinstance(current, DBAPIError) else current.__cause__
    return False


def wait_for_database(dsn: str, seconds: float) -> None:
    """Return once the database answers again; raise `DatabaseUnavailable` after `seconds`."""
    try:
        for attempt in Retrying(
            stop=stop_after_delay(seconds),
            wait=wait_fixed(0.5),
            retry=retry_if_exception_type(psycopg.OperationalError),
            reraise=True,
        ):
            with attempt, psycopg.connect(dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"the database has not answered for {seconds:.0f} s: {str(exc).strip()}"
        ) from exc


def close_pgstac_db(db: PgstacDB) -> None:
    """Close a pypgstac database: its `close()` alone closes its pool but leaves the
    connection it handed out open (and held by an exit handler until the process ends)."""
    pool = db.pool
    db.disconnect()  # the connection back to the pool…
    if pool is not None:
        pool.close()  # …which closes it


SETTLE = ("VACUUM (ANALYZE) facets.cells", "VACUUM (ANALYZE) facets.items", "ANALYZE pgstac.items")
REORDER_SHARE = 0.1
"""A load of at least this share of the archive rewrites the facets' mirror and rollup in cell
order."""


def settle_after_load(dsn: str, loaded: int) -> None:
    """After a large load (`loaded` items), leave the counts fast by themselves: the facets'
    mirror and rollup back in cell order when the load was a large share of them (the rows
    an area's count reads then share pages: `CLUSTER`, which holds counts back while it
    runs — some 10 s a million items), both vacuumed (their visibility map set, so that
    counting reads the rollup's index only: about 8x faster on a fresh million items) and
    the planner's statistics current."""
    with connect(dsn, autocommit=True) as conn:
        mirrored = conn.execute(
            "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'facets.items'::regclass"
        ).fetchone()
        if loaded >= REORDER_SHARE * (mirrored[0] if mirrored else 0):
            conn.execute("CLUSTER facets.items USING items_cell_class_idx")
            conn.execute("CLUSTER facets.cells USING cells_pkey")
        for statement in SETTLE:
            conn.execute(statement)
