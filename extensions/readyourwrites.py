"""Read-your-writes with a read replica: a client that just wrote reads from the primary until
the replica has replayed its write.

After a request that may write (any method but GET, HEAD and OPTIONS, except the searches sent
by POST) succeeds, the response carries the primary's log position in a cookie. While a
request carries it, the replica is asked once whether it has replayed that far: if not, every
catalogue read of the request goes to the primary (`extensions.database.primary_reads`); if it
has, the cookie is removed. The cookie lives `DINAMIS_DB_READ_YOUR_WRITES_SECONDS` at most, the
bound on a client's primary reads behind a replica that stopped. Nothing happens without a
replica. Clients that keep cookies (browsers, `httpx.Client`, `requests.Session`) are served
their own writes; others read the replica, milliseconds behind the primary.
"""

from __future__ import annotations

import contextlib
import re
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extensions.database import Database, primary_reads
from extensions.settings import Settings
from pgstac.db import UNREACHABLE

COOKIE = "dinamis_written"
POSITION = re.compile(r"[0-9]{1,20}")
"""A position in the primary's log, in bytes from its start."""
READS = frozenset({"GET", "HEAD", "OPTIONS"})
READS_BY_POST = re.compile(r"/(search|aggregate|aggregations|statistics|coverage|geometries)/?$")
"""The POST routes that only read: searches, aggregates, a zone's coverage, a file's shape."""


class ReadYourWrites:
    """The middleware (pure ASGI: bodies stream through)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_age = settings.database.read_your_writes_seconds
        self.secure = settings.secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope.get("app")
        services = getattr(app.state, "services", None) if app is not None else None
        if scope["type"] != "http" or services is None or not services.database.replicated:
            await self.app(scope, receive, send)
            return
        database: Database = services.database
        carried = HTTPConnection(scope).cookies.get(COOKIE, "")
        written = int(carried) if POSITION.fullmatch(carried) else None
        behind = written is not None and not await self.replayed(database, written)
        writes = scope["method"] not in READS and not READS_BY_POST.search(scope["path"])

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = None
                if writes and message["status"] < 400:
                    with contextlib.suppress(*UNREACHABLE):  # the write's answer comes first
                        position = await database.primary_position()
                        cookie = self.cookie(str(position), self.max_age)
                elif written is not None and not behind:
                    cookie = self.cookie("", 0)
                if cookie is not None:
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        token = primary_reads.set(behind)
        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            primary_reads.reset(token)

    @staticmethod
    async def replayed(database: Database, position: int) -> bool:
        """Whether the replica has the write; one that cannot say sends reads to the primary."""
        try:
            return await database.reader_has(position)
        except UNREACHABLE:
            return False

    def cookie(self, value: str, max_age: int) -> str:
        cookie: SimpleCookie = SimpleCookie()
        cookie[COOKIE] = value
        morsel = cookie[COOKIE]
        morsel["max-age"] = max_age
        morsel["path"] = "/"
        morsel["httponly"] = True
        morsel["samesite"] = "lax"
        morsel["secure"] = self.secure
        return morsel.OutputString()
