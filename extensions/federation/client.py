"""An async client of Airbus OneAtlas: API key → bearer token (refreshed before it expires),
catalogue search (API v2), quicklooks and thumbnails, and the order contract: contracts,
prices, archive orders, feasibility studies, taskings, and the download of their deliveries.

Every call is bounded: one overall timeout covers the retries (with backoff), and a circuit
breaker fails at once while the upstream is known to be down, so that a dead archive never
slows the searches that need it. Ordering has a circuit of its own (another Airbus service).

Retries. Reads (GET, and the search and price POSTs, which change nothing upstream) are
retried on 429, 5xx and network errors. Order and tasking POSTs are retried only when Airbus
certainly did nothing: the connection could not be made (or the token could not be had),
401 (token refused), 429 and 503. A timeout, a dropped connection or another 5xx after the
request was sent may have created the order: it is reported, not repeated, and the caller
looks the order up before placing it again (placing twice would buy the product twice).

A 4xx answer (other than 401 and 429) means that our request is wrong (an unknown scene, an
area outside it, an option Airbus does not sell): `UpstreamRefused`, with Airbus' message,
never retried, and not counted as a failure by the circuit breaker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from extensions.federation.settings import OneAtlasSettings
from extensions.i18n import N_, _

TOKEN_PATH = "/auth/realms/IDP/protocol/openid-connect/token"  # noqa: S105 - a path
SEARCH_PATH = "/api/v2/opensearch"
CONTRACTS_PATH = "/api/v1/contracts"
PRICES_PATH = "/api/v1/prices"
ORDERS_PATH = "/api/v1/orders"
FEASIBILITY_PATH = "/api/v1/feasibility"
TASKINGS_PATH = "/api/v1/taskings"
CIRCUIT = "oneatlas"
ORDER_CIRCUIT = "oneatlas-orders"
CHUNK_BYTES = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
T = TypeVar("T")

# What an order and a tasking of the contract must hold, and of which type.
ORDER_FIELDS: dict[str, type] = {"id": str, "status": str, "products": list, "deliveries": list}
TASKING_FIELDS: dict[str, type] = {"id": str, "status": str, "segments": list, "deliveries": list}
# What each answer of the ordering and tasking APIs should be, as an error names it.
CONTRACTS = N_("des contrats")
PRICE = N_("un prix")
ORDER = N_("une commande")
FEASIBILITY = N_("une étude de faisabilité")
TASKING = N_("une programmation")


class UpstreamError(Exception):
    """The Airbus archive could not answer (502 for the caller)."""


class UpstreamTimeout(UpstreamError):
    """No answer in time (504)."""


class UpstreamUnavailable(UpstreamError):
    """Not configured here (503)."""


class UpstreamRefused(UpstreamError):
    """Airbus refused the request itself (4xx): it is wrong, and asking again will not help.

    `upstream_message` is Airbus' own explanation, `upstream_status` its HTTP status.
    """

    def __init__(self, upstream_status: int, upstream_message: str) -> None:
        super().__init__(
            _(
                "L'archive Airbus a refusé la requête (%(status)s) : %(reason)s",
                status=upstream_status,
                reason=upstream_message,
            )
        )
        self.upstream_status = upstream_status
        self.upstream_message = upstream_message


class Retryable(UpstreamError):
    """A failure worth another attempt of a read: 429, 5xx, a network error."""


class Unprocessed(Retryable):
    """A failure after which Airbus certainly did nothing (no connection, no token, 401, 429,
    503): worth another attempt even of an order."""


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
            default_threshold=settings.breaker_threshold,
            default_ttl=settings.breaker_seconds,
            exclude=[UpstreamRefused],  # our mistake, not an outage
        )
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        await self.http.aclose()

    # -- catalogue -------------------------------------------------------------------------

    async def search(self, query: dict[str, Any]) -> dict[str, Any]:
        """One page of the catalogue (POST /api/v2/opensearch), checked for its shape."""
        response = await self._call("POST", self.settings.search_url + SEARCH_PATH, json=query)
        try:
            page = response.json()
        except ValueError as exc:
            raise UpstreamError(_("L'archive Airbus a répondu autre chose que du JSON.")) from exc
        if not (
            isinstance(page, dict)
            and isinstance(page.get("features"), list)
            and isinstance(page.get("totalResults"), int)
        ):
            raise UpstreamError(
                _("L'archive Airbus a répondu autre chose qu'un résultat de recherche.")
            )
        return page

    async def image(self, href: str) -> tuple[bytes, str]:
        """A quicklook or thumbnail of the access API (it needs the bearer token)."""
        if not href.startswith(self.settings.access_url + "/"):
            raise UpstreamError(_("Ce n'est pas une image de l'archive Airbus."))
        response = await self._call("GET", href)
        kind = response.headers.get("content-type", "image/jpeg")
        if not kind.startswith("image/"):
            raise UpstreamError(_("L'archive Airbus a répondu autre chose qu'une image."))
        return response.content, kind

    # -- archive orders --------------------------------------------------------------------

    async def contracts(self) -> list[dict[str, Any]]:
        """The contracts our account may order under (GET /api/v1/contracts)."""
        body = await self._order_call("GET", self.settings.data_url + CONTRACTS_PATH, CONTRACTS)
        items = body.get("items")
        if not (isinstance(items, list) and all(isinstance(i, dict) for i in items)):
            raise UpstreamError(not_what(CONTRACTS))
        return items

    async def price(self, order: dict[str, Any]) -> dict[str, Any]:
        """The price of an archive order (POST /api/v1/prices, the body of an order); nothing
        is ordered, so it is retried like a read."""
        body = await self._order_call(
            "POST", self.settings.data_url + PRICES_PATH, PRICE, json=order, idempotent=True
        )
        total = body.get("price")
        if not (
            isinstance(total, dict)
            and _is_number(total.get("amount"))
            and isinstance(total.get("currency"), str)
            and isinstance(body.get("products"), list)
        ):
            raise UpstreamError(not_what(PRICE))
        return body

    async def place_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """Place an archive order (POST /api/v1/orders → 201): never repeated once sent."""
        body = await self._order_call(
            "POST", self.settings.data_url + ORDERS_PATH, ORDER, json=order, idempotent=False
        )
        return _checked(body, ORDER, **ORDER_FIELDS)

    async def order_status(self, order_id: str) -> dict[str, Any]:
        """An archive order as Airbus sees it now (GET /api/v1/orders/{id})."""
        url = f"{self.settings.data_url}{ORDERS_PATH}/{quote(order_id, safe='')}"
        body = await self._order_call("GET", url, ORDER)
        return _checked(body, ORDER, **ORDER_FIELDS)

    # -- tasking ---------------------------------------------------------------------------

    async def feasibility(self, request: dict[str, Any]) -> dict[str, Any]:
        """Whether a tasking is feasible, and its opportunities (POST /api/v1/feasibility);
        nothing is ordered, so it is retried like a read."""
        body = await self._order_call(
            "POST",
            self.settings.tasking_url + FEASIBILITY_PATH,
            FEASIBILITY,
            json=request,
            idempotent=True,
        )
        return _checked(body, FEASIBILITY, feasible=bool, opportunities=list)

    async def place_tasking(self, request: dict[str, Any]) -> dict[str, Any]:
        """Order a tasking (POST /api/v1/taskings → 201): never repeated once sent."""
        body = await self._order_call(
            "POST",
            self.settings.tasking_url + TASKINGS_PATH,
            TASKING,
            json=request,
            idempotent=False,
        )
        return _checked(body, TASKING, **TASKING_FIELDS)

    async def tasking_status(self, tasking_id: str) -> dict[str, Any]:
        """A tasking as Airbus sees it now (GET /api/v1/taskings/{id})."""
        url = f"{self.settings.tasking_url}{TASKINGS_PATH}/{quote(tasking_id, safe='')}"
        body = await self._order_call("GET", url, TASKING)
        return _checked(body, TASKING, **TASKING_FIELDS)

    # -- deliveries ------------------------------------------------------------------------

    async def download(self, href: str, target: Path) -> Path:
        """Stream a delivery (a zip) to `target`, through a temporary file of its own so that
        `target` only ever holds a whole file, even with two downloads at once; only hrefs of
        the ordering and tasking APIs are fetched (they get our token). Bounded by `download_timeout_seconds`."""
        bases = (self.settings.data_url, self.settings.tasking_url)
        if not any(href.startswith(base.rstrip("/") + "/") for base in bases):
            raise UpstreamError(_("Ce n'est pas une livraison de l'API de commande d'Airbus."))
        return await self._guarded(
            lambda: self._fetch(href, target),
            idempotent=True,
            circuit=ORDER_CIRCUIT,
            seconds=self.settings.download_timeout_seconds,
        )

    async def _fetch(self, href: str, target: Path) -> Path:
        token = await self._bearer()
        partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.part")  # one per caller
        seconds = self.settings.download_timeout_seconds
        timeout = httpx.Timeout(seconds, connect=min(5.0, seconds))
        try:
            # Redirects are followed (to storage, say): httpx drops the token when the host
            # changes.
            async with self.http.stream(
                "GET",
                href,
                headers={"Authorization": f"Bearer {token}"},
                timeout=timeout,
                follow_redirects=True,
            ) as response:
                if response.status_code >= 400:
                    await response.aread()  # the error's message
                self._check(response)
                await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
                output = await asyncio.to_thread(partial.open, "wb")
                try:
                    first = True
                    async for chunk in response.aiter_bytes(CHUNK_BYTES):
                        if first and chunk:
                            first = False
                            if not chunk.startswith(ZIP_MAGIC[: len(chunk)]):
                                raise UpstreamError(
                                    _("L'API de commande d'Airbus a livré autre chose qu'un zip.")
                                )
                        await asyncio.to_thread(output.write, chunk)
                finally:
                    await asyncio.to_thread(output.close)
            if first:
                raise UpstreamError(_("L'API de commande d'Airbus a livré un fichier vide."))
            await asyncio.to_thread(partial.replace, target)
            return target
        except httpx.TransportError as exc:
            raise _transport_error(exc) from exc
        finally:
            if partial.exists():
                partial.unlink()

    # -- plumbing ----------------------------------------------------------------------------

    async def _order_call(
        self, method: str, url: str, what: str, *, idempotent: bool | None = None, **options: Any
    ) -> dict[str, Any]:
        """A call of the ordering or tasking API, answered by a JSON object."""
        response = await self._call(
            method,
            url,
            idempotent=method == "GET" if idempotent is None else idempotent,
            circuit=ORDER_CIRCUIT,
            **options,
        )
        try:
            body = response.json()
        except ValueError as exc:
            raise UpstreamError(
                _(
                    "L'API de commande d'Airbus a répondu autre chose que du JSON pour %(what)s.",
                    what=_(what),
                )
            ) from exc
        if not isinstance(body, dict):
            raise UpstreamError(not_what(what))
        return body

    async def _call(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool = True,
        circuit: str = CIRCUIT,
        **options: Any,
    ) -> httpx.Response:
        return await self._guarded(
            lambda: self._once(method, url, **options),
            idempotent=idempotent,
            circuit=circuit,
            seconds=self.settings.timeout_seconds,
        )

    async def _guarded(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        idempotent: bool,
        circuit: str,
        seconds: float,
    ) -> T:
        """The operation under the circuit breaker and one timeout, with retries."""
        if not self.settings.enabled:
            raise UpstreamUnavailable(
                _("L'archive Airbus n'est pas configurée (DINAMIS_ONEATLAS_API_KEY).")
            )
        breaker = await self.breakers.get_breaker(circuit)
        try:
            async with asyncio.timeout(seconds), breaker:
                return await self._with_retries(operation, idempotent)
        except OpenedState as exc:
            raise UpstreamError(
                _(
                    "L'archive Airbus a échoué à plusieurs reprises : elle n'est plus "
                    "interrogée pendant %(seconds)s s.",
                    seconds=f"{self.settings.breaker_seconds:.0f}",
                )
            ) from exc
        except TimeoutError as exc:
            raise UpstreamTimeout(
                _("L'archive Airbus n'a pas répondu en %(seconds)s s.", seconds=f"{seconds:g}")
            ) from exc

    async def _with_retries(self, operation: Callable[[], Awaitable[T]], idempotent: bool) -> T:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=wait_exponential(multiplier=0.2, max=2),
            retry=retry_if_exception_type(Retryable if idempotent else Unprocessed),
            reraise=True,
        ):
            with attempt:
                try:
                    return await operation()
                except Retryable as exc:
                    if idempotent or isinstance(exc, Unprocessed):
                        raise
                    raise UpstreamError(
                        _(
                            "%(problem)s La requête n'a pas été renvoyée : Airbus l'a peut-être "
                            "reçue (cherchez la commande avant de la passer à nouveau).",
                            problem=exc,
                        )
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, method: str, url: str, **options: Any) -> httpx.Response:
        token = await self._bearer()
        try:
            response = await self.http.request(
                method, url, headers={"Authorization": f"Bearer {token}"}, **options
            )
        except httpx.TransportError as exc:
            raise _transport_error(exc) from exc
        self._check(response)
        return response

    def _check(self, response: httpx.Response) -> None:
        """Raise what an error status means; a refused token is forgotten."""
        status = response.status_code
        if status == 401:
            self._token = None  # expired early: the next attempt asks a new one
            raise Unprocessed(_("L'archive Airbus a refusé le jeton."))
        if status in (429, 503):
            raise Unprocessed(_("L'archive Airbus a répondu %(status)s.", status=status))
        if status >= 500:
            raise Retryable(_("L'archive Airbus a répondu %(status)s.", status=status))
        if status >= 400:
            raise UpstreamRefused(status, _upstream_message(response))

    async def _bearer(self) -> str:
        """The access token, asked again a minute (or a tenth of its life) before it expires.

        Its failures happen before the request itself: `Unprocessed`, retried even for orders.
        """
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
                raise Unprocessed(
                    _("L'authentification d'Airbus est injoignable : %(problem)s", problem=exc)
                ) from exc
            if response.status_code >= 500:
                raise Unprocessed(
                    _(
                        "L'authentification d'Airbus a répondu %(status)s.",
                        status=response.status_code,
                    )
                )
            if response.status_code != 200:
                raise UpstreamError(
                    _("L'archive Airbus a refusé notre clé d'API (DINAMIS_ONEATLAS_API_KEY).")
                )
            try:
                body = response.json()
                token, lifetime = str(body["access_token"]), float(body.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError) as exc:
                raise UpstreamError(
                    _("L'authentification d'Airbus a répondu quelque chose d'inattendu.")
                ) from exc
            self._token = (token, time.monotonic() + lifetime - max(60.0, lifetime / 10))
            return token


# Errors raised before anything was sent: the connection was never made.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _transport_error(exc: httpx.TransportError) -> Retryable:
    if isinstance(exc, NOT_SENT):
        return Unprocessed(_("L'archive Airbus est injoignable : %(problem)s", problem=exc))
    if isinstance(exc, httpx.TimeoutException):
        return Retryable(_("L'archive Airbus a mis trop de temps : %(problem)s", problem=exc))
    return Retryable(_("L'archive Airbus est injoignable : %(problem)s", problem=exc))


def _upstream_message(response: httpx.Response) -> str:
    """Airbus' explanation of a refusal: `message` (or a usual alternative) of a JSON body,
    else the start of the text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error_description", "description", "detail", "error"):
            if isinstance(body.get(key), str) and body[key].strip():
                return str(body[key]).strip()[:500]
    text = response.text.strip()
    return text[:500] if text else f"HTTP {response.status_code}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _checked(body: dict[str, Any], what: str, **fields: type) -> dict[str, Any]:
    """The body, if each field has its type; UpstreamError naming the first that does not."""
    for name, kind in fields.items():
        if not isinstance(body.get(name), kind):
            raise UpstreamError(
                _(
                    "L'API de commande d'Airbus a répondu autre chose que %(what)s (`%(name)s` "
                    "manque ou n'est pas un %(kind)s).",
                    what=_(what),
                    name=name,
                    kind=kind.__name__,
                )
            )
    return body


def not_what(what: str) -> str:
    """That the ordering API's answer is not `what` (a marked noun: CONTRACTS, PRICE…)."""
    return _("L'API de commande d'Airbus a répondu autre chose que %(what)s.", what=_(what))
