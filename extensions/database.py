"""The two lanes every process takes to PostgreSQL.

1. **The catalogue lane** (asyncpg): pgstac's searches and items, the facets, places,
   rights and the access audit: the hot paths. `Database.read()` goes to the reader (a
   replica when `DINAMIS_DB_READER_URL` is set, its sessions in pgstac's read-only mode),
   `Database.write()` to the primary; one pool when no reader is set. A request of a client
   that just wrote reads from the primary (`primary_reads`, set by
   `extensions.readyourwrites`). stac-fastapi-pgstac reaches the same pools through
   `app.state.get_connection` (its contract).
2. **The application lane** (psycopg 3): the product's own schemas (registry, ordering,
   outbox) through SQLAlchemy sessions, and the job queue (procrastinate), sharing one
   connection pool to the primary.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Literal

import asyncpg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr
from sqlalchemy.dialects.postgresql.psycopg import _log_notices
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from stac_fastapi.pgstac.db import con_init, translate_pgstac_errors
from starlette.requests import Request

from pgstac.db import SEARCH_PATH
from pgstac.settings import DatabaseSettings

JOBS_SCHEMA = "jobs"

primary_reads: ContextVar[bool] = ContextVar("primary_reads", default=False)
"""Whether this request's catalogue reads go to the primary: its client wrote something the
replica has not replayed yet (read-your-writes)."""


class Base(DeclarativeBase):
    """Declarative base of the product's own tables (each in its component's schema)."""


async def _reset(connection: AsyncConnection) -> None:
    """Back in the pool: the notice handler SQLAlchemy adds when it takes a connection goes
    (the job queue's connections have none)."""
    with contextlib.suppress(ValueError):
        connection.remove_notice_handler(_log_notices)


class Database:
    """Both lanes of one process."""

    def __init__(
        self,
        reader: asyncpg.Pool | None,
        writer: asyncpg.Pool | None,
        pool: AsyncConnectionPool,
        engine: AsyncEngine,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.pool = pool
        self.engine = engine
        self.session = async_sessionmaker(engine, expire_on_commit=False)
        """A new session of the application lane; the caller commits what it changes."""

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: DatabaseSettings, name: str, catalogue: bool = True
    ) -> AsyncIterator[Database]:
        """Open the lanes (the catalogue's only when `catalogue`), and close them after."""
        primary = settings.dsn()
        writer = reader = None
        pool = AsyncConnectionPool(
            primary,
            min_size=1,
            max_size=settings.pool_max_size,
            timeout=settings.pool_timeout_seconds,
            open=False,
            close_returns=True,
            reset=_reset,
            kwargs={
                # Bounded like the catalogue lane: no query of the product runs unbounded.
                "options": f"-c search_path={JOBS_SCHEMA},public"
                f" -c statement_timeout={settings.statement_timeout_ms}",
                "application_name": f"{name}-app",
            },
        )
        # SQLAlchemy takes psycopg's pooled connections and gives them back on close.
        engine = create_async_engine(
            "postgresql+psycopg://", async_creator=pool.getconn, poolclass=NullPool
        )
        try:
            await pool.open()
            if catalogue:
                writer = await _catalogue_pool(primary, settings, name)
                reader = writer
                if settings.reader_url is not None:
                    reader = await _catalogue_pool(
                        settings.reader_dsn(), settings, f"{name}-reader", readonly=True
                    )
            yield cls(reader, writer, pool, engine)
        finally:
            for asyncpg_pool in {p for p in (reader, writer) if p is not None}:
                await asyncpg_pool.close()
            await engine.dispose()
            await pool.close()

    @property
    def replicated(self) -> bool:
        """Whether catalogue reads go to a reader of their own (a replica)."""
        return self.reader is not self.writer

    @asynccontextmanager
    async def read(self) -> AsyncIterator[asyncpg.Connection]:
        """A catalogue connection for reading: the reader's, unless this request's client
        must see a write the reader may not have yet."""
        assert self.reader is not None, "this process has no catalogue lane"
        pool = self.writer if primary_reads.get() and self.writer is not None else self.reader
        with translate_pgstac_errors():
            async with pool.acquire() as connection:
                yield connection

    async def primary_position(self) -> int:
        """Where the primary's write-ahead log is now (bytes from its start): every write
        committed so far is before it."""
        async with self.write() as conn:
            return int(await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'"))

    async def reader_has(self, position: int) -> bool:
        """Whether the reader has replayed the primary's log up to `position` (a primary
        used as reader always has)."""
        assert self.reader is not None, "this process has no catalogue lane"
        async with self.reader.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT coalesce(pg_last_wal_replay_lsn() - '0/0' >= $1, true)", position
                )
            )

    @asynccontextmanager
    async def write(self) -> AsyncIterator[asyncpg.Connection]:
        """A catalogue connection to the primary."""
        assert self.writer is not None, "this process has no catalogue lane"
        with translate_pgstac_errors():
            async with self.writer.acquire() as connection:
                yield connection

    def connection(
        self, request: Request, readwrite: Literal["r", "w"] = "r"
    ) -> AsyncIterator[asyncpg.Connection]:
        """stac-fastapi-pgstac's `get_connection(request, "r"|"w")`, on these pools."""
        return self.write() if readwrite == "w" else self.read()  # type: ignore[return-value]


async def _catalogue_pool(
    dsn: str, settings: DatabaseSettings, name: str, readonly: bool = False
) -> asyncpg.Pool:
    """A pool of the catalogue lane; `readonly` sessions have pgstac write nothing (no search
    cache), as a hot standby requires."""
    return await asyncpg.create_pool(
        dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        init=con_init,
        server_settings={
            "search_path": SEARCH_PATH,
            "application_name": name,
            "statement_timeout": str(settings.statement_timeout_ms),
            **({"pgstac.readonly": "true"} if readonly else {}),
        },
    )


@asynccontextmanager
async def application_lane(dsn: str) -> AsyncIterator[Database]:
    """The application lane alone, for a command (migrations' reference data, demos)."""
    settings = DatabaseSettings(url=SecretStr(dsn), pool_max_size=2)
    async with Database.open(settings, "dinamis-cli", catalogue=False) as database:
        yield database


__all__ = [
    "AsyncSession",
    "Base",
    "Database",
    "application_lane",
    "primary_reads",
]
