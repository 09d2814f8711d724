"""Rate limits on what attackers hammer: sign-in, token and e-mail endpoints.

Backed by the `limits` library; in memory by default (one process), or any storage it
supports (e.g. redis://) when the API runs as several replicas.
"""

from __future__ import annotations

import time

from fastapi import Request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from pydantic_settings import BaseSettings, SettingsConfigDict

from extensions.errors import TooManyRequests


class RateLimitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_RATE_LIMIT_", extra="ignore")

    storage: str = "memory://"
    sign_in: str = "10/minute"
    """Sign-in and token requests, per client address and per account."""
    mail: str = "5/hour"
    """Verification and notification e-mails requested, per client address and per address."""
    enabled: bool = True


class RateLimiter:
    def __init__(self, settings: RateLimitSettings | None = None) -> None:
        self.settings = settings or RateLimitSettings()
        self.limiter = MovingWindowRateLimiter(storage_from_string(self.settings.storage))

    def hit(self, limit: str, *keys: str) -> None:
        """Count one attempt under each key; TooManyRequests when any is over its limit."""
        if not self.settings.enabled:
            return
        item = parse(limit)
        for key in keys:
            if not self.limiter.hit(item, key):
                reset = self.limiter.get_window_stats(item, key).reset_time
                retry = max(1, int(reset - time.time()))
                raise TooManyRequests(
                    f"Trop de tentatives : réessayez dans {retry} s.", retry_after=retry
                )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
