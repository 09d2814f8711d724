"""Rate limits on what attackers hammer: sign-in, token and e-mail endpoints.

Counted by the `limits` library (fixed windows) in a storage every process of the site shares:
by default the database (`dinamis.rate_limits`), so N API workers or replicas count one limit,
not N; or any async storage `limits` supports (e.g. `async+redis://…`).
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

import asyncpg
from fastapi import Request
from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from extensions.errors import TooManyRequests
from extensions.i18n import _

if TYPE_CHECKING:
    from extensions.database import Database

DATABASE = "database"


class RateLimitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_RATE_LIMIT_", extra="ignore")

    storage: str = DATABASE
    """`database` (shared by every process), or a `limits` async storage URI
    (`async+redis://host:6379`, `async+memory://` for one process only)."""
    sign_in: str = "10/minute"
    """Sign-in and token requests, per client address."""
    mail: str = "5/hour"
    """Verification and notification e-mails requested, per client address and per address."""
    enabled: bool = True

    @field_validator("storage")
    @classmethod
    def shared_and_async(cls, value: str) -> str:
        if value != DATABASE and not value.startswith("async+"):
            raise ValueError(
                f"DINAMIS_RATE_LIMIT_STORAGE is `{DATABASE}` or an async storage of the limits "
                f"library (`async+redis://…`), not {value!r}"
            )
        return value


class DatabaseStorage(Storage):
    """Fixed-window counters in `dinamis.rate_limits` (an unlogged table: counters need no
    crash safety); one upsert per hit."""

    STORAGE_SCHEME = ["dinamis+database"]  # noqa: RUF012 - the base class declares it
    SWEEP_CHANCE = 0.01
    """How often a hit also deletes the counters whose window is over."""

    def __init__(self, uri: str | None = None, database: Database | None = None, **options: Any):
        super().__init__(uri, **options)
        assert database is not None, "the database storage needs the database"
        self.database = database

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (asyncpg.PostgresError, OSError)

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        async with self.database.write() as conn:
            if random.random() < self.SWEEP_CHANCE:
                await conn.execute("DELETE FROM dinamis.rate_limits WHERE expires_at < now()")
            hits: int = await conn.fetchval(
                """
                INSERT INTO dinamis.rate_limits AS r (key, hits, expires_at)
                VALUES ($1, $3, now() + make_interval(secs => $2))
                ON CONFLICT (key) DO UPDATE SET
                    hits = CASE WHEN r.expires_at <= now() THEN $3 ELSE r.hits + $3 END,
                    expires_at = CASE WHEN r.expires_at <= now() THEN excluded.expires_at
                                      ELSE r.expires_at END
                RETURNING hits
                """,
                key,
                float(expiry),
                amount,
            )
        return hits

    async def get(self, key: str) -> int:
        async with self.database.write() as conn:
            hits = await conn.fetchval(
                "SELECT hits FROM dinamis.rate_limits WHERE key = $1 AND expires_at > now()", key
            )
        return int(hits or 0)

    async def get_expiry(self, key: str) -> float:
        async with self.database.write() as conn:
            expires = await conn.fetchval(
                "SELECT extract(epoch FROM expires_at) FROM dinamis.rate_limits WHERE key = $1",
                key,
            )
        return float(expires) if expires is not None else time.time()

    async def check(self) -> bool:
        async with self.database.write() as conn:
            return bool(await conn.fetchval("SELECT true"))

    async def reset(self) -> int | None:
        async with self.database.write() as conn:
            await conn.execute("DELETE FROM dinamis.rate_limits")
        return None

    async def clear(self, key: str) -> None:
        async with self.database.write() as conn:
            await conn.execute("DELETE FROM dinamis.rate_limits WHERE key = $1", key)


class RateLimiter:
    def __init__(self, settings: RateLimitSettings, database: Database) -> None:
        self.settings = settings
        storage = (
            DatabaseStorage(database=database)
            if settings.storage == DATABASE
            else storage_from_string(settings.storage)
        )
        self.limiter = FixedWindowRateLimiter(storage)

    async def hit(self, limit: str, *keys: str) -> None:
        """Count one attempt under each key; TooManyRequests when any is over its limit."""
        if not self.settings.enabled:
            return
        item = parse(limit)
        for key in keys:
            if not await self.limiter.hit(item, key):
                reset = (await self.limiter.get_window_stats(item, key)).reset_time
                retry = max(1, int(reset - time.time()))
                raise TooManyRequests(
                    _("Trop de tentatives : réessayez dans %(retry)s s.", retry=retry),
                    retry_after=retry,
                )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
