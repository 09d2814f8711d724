"""Our own schemas (registry, ordering, outbox…) through SQLAlchemy's async engine.

The STAC catalogue itself is served by stac-fastapi-pgstac's asyncpg pools; the rest of the
product uses one AsyncEngine per process, created in the app's lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of the product's own tables (each in its component's schema)."""


def async_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    return f"postgresql+asyncpg://{rest}" if scheme.startswith("postgres") else dsn


def make_engine(dsn: str, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(
        async_url(dsn), pool_size=pool_size, max_overflow=5, pool_pre_ping=True
    )


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the route commits what it changes."""
    async with request.app.state.sessions() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(get_session)]
