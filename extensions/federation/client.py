"""An async client of Airbus OneAtlas: API key → bearer token (refreshed before it expires),
catalogue search (API v2), quicklooks and thumbnails.

Every call is bounded: one overall timeout covers the retries (on 429, 5xx and network
errors, with backoff), and a circuit breaker fails at once while the upstream is known to be
down, so that a dead archive never slows the searches that need it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from extensions.federation.settings import OneAtlasSettings

TOKEN_PATH = "/auth/realms/IDP/protocol/openid-connect/token"  # noqa: S105 - a path
SEARCH_PATH = "/api/v2/opensearch"
CIRCUIT = "oneatlas"


class UpstreamError(Exception):
    """The Airbus archive could not answer (502 for the caller)."""

    status_code = 502


class UpstreamTimeout(UpstreamError):
    status_code = 504


class UpstreamUnavailable(UpstreamError):
    """Not configured here (503)."""

    status_code = 503


class Retryable(UpstreamError):
    """A failure worth another attempt: 429, 5xx, a network error."""


class OneAtlasClient:
    def __init__(self, settings: OneAtlasSettings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(
                settings.timeout_seconds, connect=min(5.0, settings.timeout_seconds)
            ),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            headers={"User-Agent": "dinamis-stac"},
        )
        self.breakers = AsyncCircuitBreakerFactory(
            default_threshold=settings.breaker_threshold, default_ttl=settings.breaker_seconds
        )
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        await self.http.aclose()

    # -- calls -----------------------------------------------------------------------------

    async def search(self, query: dict[str, Any]) -> dict[str, Any]:
        """One page of the catalogue (POST /api/v2/opensearch), checked for its shape."""
        response = await self._call("POST", self.settings.search_url + SEARCH_PATH, json=query)
        try:
            page = response.json()
        except ValueError as exc:
            raise UpstreamError("The Airbus archive answered something that is not JSON.") from exc
        if not (
            isinstance(page, dict)
            and isinstance(page.get("features"), list)
            and isinstance(page.get("totalResults"), int)
        ):
            raise UpstreamError(
                "The Airbus archive answered something that is not a search result."
            )
        return page

    async def image(self, href: str) -> tuple[bytes, str]:
        """A quicklook or thumbnail of the access API (it needs the bearer token)."""
        if not href.startswith(self.settings.access_url + "/"):
            raise UpstreamError("Not an image of the Airbus archive.")
        response = await self._call("GET", href)
        kind = response.headers.get("content-type", "image/jpeg")
        if not kind.startswith("image/"):
            raise UpstreamError("The Airbus archive answered something that is not an image.")
        return response.content, kind

    # -- plumbing ----------------------------------------------------------------------------

    async def _call(self, method: str, url: str, **options: Any) -> httpx.Response:
        if not self.settings.enabled:
            raise UpstreamUnavailable(
                "The Airbus archive is not configured (DINAMIS_ONEATLAS_API_KEY)."
            )
        breaker = await self.breakers.get_breaker(CIRCUIT)
        try:
            async with asyncio.timeout(self.settings.timeout_seconds), breaker:
                return await self._with_retries(method, url, **options)
        except OpenedState as exc:
            raise UpstreamError(
                "The Airbus archive failed repeatedly: it is not asked again for "
                f"{self.settings.breaker_seconds:.0f} s."
            ) from exc
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"The Airbus archive did not answer within {self.settings.timeout_seconds:g} s."
            ) from exc

    async def _with_retries(self, method: str, url: str, **options: Any) -> httpx.Response:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=wait_exponential(multiplier=0.2, max=2),
            retry=retry_if_exception_type(Retryable),
            reraise=True,
        ):
            with attempt:
                return await self._once(method, url, **options)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, method: str, url: str, **options: Any) -> httpx.Response:
        token = await self._bearer()
        try:
            response = await self.http.request(
                method, url, headers={"Authorization": f"Bearer {token}"}, **options
            )
        except httpx.TimeoutException as exc:
            raise Retryable(f"The Airbus archive timed out: {exc}") from exc
        except httpx.TransportError as exc:
            raise Retryable(f"The Airbus archive cannot be reached: {exc}") from exc
        if response.status_code == 401:
            self._token = None  # expired early: the next attempt asks a new one
            raise Retryable("The Airbus archive refused the token.")
        if response.status_code == 429 or response.status_code >= 500:
            raise Retryable(f"The Airbus archive answered {response.status_code}.")
        if response.status_code >= 400:
            raise UpstreamError(f"The Airbus archive refused the request ({response.status_code}).")
        return response

    async def _bearer(self) -> str:
        """The access token, asked again a minute (or a tenth of its life) before it expires."""
        async with self._token_lock:
            if self._token and time.monotonic() < self._token[1]:
                return self._token[0]
            assert self.settings.api_key is not None
            try:
                response = await self.http.post(
                    self.settings.auth_url + TOKEN_PATH,
                    data={
                        "apikey": self.settings.api_key.get_secret_value(),
                        "grant_type": "api_key",
                        "client_id": "IDP",
                    },
                )
            except httpx.TransportError as exc:
                raise Retryable(f"The Airbus authentication cannot be reached: {exc}") from exc
            if response.status_code >= 500:
                raise Retryable(f"The Airbus authentication answered {response.status_code}.")
            if response.status_code != 200:
                raise UpstreamError(
                    "The Airbus archive refused our API key (DINAMIS_ONEATLAS_API_KEY)."
                )
            try:
                body = response.json()
                token, lifetime = str(body["access_token"]), float(body.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError) as exc:
                raise UpstreamError(
                    "The Airbus authentication answered something unexpected."
                ) from exc
            self._token = (token, time.monotonic() + lifetime - max(60.0, lifetime / 10))
            return token
