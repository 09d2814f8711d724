"""Forwarding headers (`Forwarded`, `X-Forwarded-*`) count only when a configured proxy sent
them: from anyone else they would choose the host of every link in a response that shared
caches keep (cache poisoning), and the address that rate limits count."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Sequence

from stac_fastapi.api.middleware import ProxyHeaderMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
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


@functools.cache
def absolute_paths(root: bytes) -> re.Pattern[bytes]:
    """Where a page names one of the site's paths without the sub-path (`href="/portail"`)."""
    return re.compile(
        rb'(\s(?:href|src|action|formaction)=")(?=/(?!/))(?!' + re.escape(root) + rb'[/"])'
    )


class SubPath:
    """Serving under a sub-path (`dinamis serve` with DINAMIS_API_ROOT_PATH, the proxy
    stripping the prefix): links and redirects the app builds from the request carry it
    already; the pages' own absolute paths (`href="/portail"`) and redirects (`Location:
    /portail`) get it here, so that templates stay plain. Nothing is done at the root."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = scope.get("root_path", "").rstrip("/").encode()
        if scope["type"] != "http" or not root:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        def prefixed(path: bytes) -> bytes:
            if path.startswith(b"/") and not path.startswith((b"//", root + b"/")) and path != root:
                return root + path
            return path

        async def answer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "location" in headers:
                    headers["location"] = prefixed(headers["location"].encode()).decode("latin-1")
                if not headers.get("content-type", "").startswith("text/html"):
                    await send(message)
                    return
                start = message  # an HTML page: its paths are rewritten once it is whole
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            page = absolute_paths(root).sub(lambda m: m[1] + root, b"".join(body))
            MutableHeaders(scope=start)["content-length"] = str(len(page))
            await send(start)
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, answer)
