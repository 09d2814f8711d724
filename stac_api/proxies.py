"""Forwarding headers (`Forwarded`, `X-Forwarded-*`) count only when a configured proxy sent
them: from anyone else they would choose the host of every link in a response that shared
caches keep (cache poisoning), and the address that rate limits count."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from stac_fastapi.api.middleware import ProxyHeaderMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

FORWARDING = frozenset(
    {
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-forwarded-prefix",
        b"x-forwarded-proto",
    }
)


class TrustedProxies:
    """Drops the forwarding headers of a request that no trusted proxy sent; reads those of a
    trusted proxy: the client's address and scheme (uvicorn's reading, which skips the
    trusted hops of `X-Forwarded-For`), then the host and port that links are built with
    (stac-fastapi's reading of `Forwarded` and `X-Forwarded-Host`)."""

    def __init__(self, app: ASGIApp, trusted: Sequence[str] = ()) -> None:
        self.networks = [ipaddress.ip_network(t, strict=False) for t in trusted]
        self.forwarded = (
            ProxyHeadersMiddleware(ProxyHeaderMiddleware(app), trusted_hosts=list(trusted))  # type: ignore[arg-type]
            if trusted
            else None
        )
        self.direct = app

    def trusts(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.direct(scope, receive, send)
        elif self.forwarded is not None and self.trusts(scope):
            await self.forwarded(scope, receive, send)  # type: ignore[arg-type]
        else:
            # In place: inner middlewares read what the app leaves in the scope (its rights).
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k not in FORWARDING]
            await self.direct(scope, receive, send)
