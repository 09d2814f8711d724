"""Cache headers that follow the caller: catalogue responses to anonymous callers are the same
for everybody and may be cached by proxies; responses to an identified caller carry signed
URLs and are private."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CATALOGUE = ("/search", "/collections")
CREDENTIALS = "Authorization, X-API-Key, Cookie"


class CachingByIdentity:
    def __init__(self, app: ASGIApp, max_age: int = 60) -> None:
        self.app = app
        self.public = f"public, max-age={max_age}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    if scope.get("identity") is not None:
                        headers["Cache-Control"] = "private, no-store"
                    elif (
                        "rights" in scope
                        and message["status"] < 400
                        and scope["path"].startswith(CATALOGUE)
                    ):
                        headers["Cache-Control"] = self.public
                if "rights" in scope:  # the answer depended on who asked
                    headers.append("Vary", CREDENTIALS)
            await send(message)

        await self.app(scope, receive, sending)
