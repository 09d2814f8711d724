"""Every request body is bounded before anything parses it, in one place: `BodyLimit`.

A body over its limit is refused with a 413 that says the limit: before its first byte is
read when its Content-Length says so, and as soon as the count of its chunks goes over
otherwise (chunked transfer). Nothing (sign-in, CSRF, form parsing) reads more than the
limit, so an upload is never spooled whole to disk. The limit is `DINAMIS_BODY_MAX_KB`,
except on the routes that take a file (`accepts_file`), which allow their own file size from
settings. The counting is Starlette's `RequestBodyLimitResponder`, which FastAPI's routes
pass on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extensions.i18n import _

if TYPE_CHECKING:
    from extensions.settings import Settings

FORM_OVERHEAD = 64 * 2**10
"""Multipart framing and a form's text fields, on top of the file a route accepts."""

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
FileLimit = Callable[["Settings"], tuple[int, str]]
"""From the settings: the largest file a route accepts, in bytes, and the sentence refusing
a larger one."""


class BodySettings(BaseSettings):
    """Request bodies."""

    model_config = SettingsConfigDict(env_prefix="DINAMIS_BODY_", extra="ignore")

    max_kb: int = Field(default=1024, ge=1)
    """Largest body of any request (a search with a detailed `intersects`, a form), except on
    the routes that take a file, which have their own limit."""


def size(max_bytes: int) -> str:
    """A limit in words, in the reader's language: 10 Mo, 1 Ko (10 MB, 1 KB)."""
    if max_bytes >= 2**20:
        return _("%(size)s Mo", size=f"{max_bytes / 2**20:g}")
    return _("%(size)s Ko", size=f"{max_bytes / 2**10:g}")


def accepts_file(limit: FileLimit) -> Callable[[Endpoint], Endpoint]:
    """Mark a route that takes a file: its body may be the file's `limit` plus a form."""

    def mark(endpoint: Endpoint) -> Endpoint:
        endpoint.file_limit = limit  # type: ignore[attr-defined]
        return endpoint

    return mark


class BodyLimit:
    """ASGI middleware refusing a request body over its route's limit (413)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _Counter(self.app, self.settings)(scope, receive, send)


class _Counter(RequestBodyLimitResponder):
    """Starlette's counter of a body's bytes (Content-Length first, then the chunks), with
    the limit of the route, and a 413 that says it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        max_bytes = settings.body.max_kb * 2**10
        super().__init__(app, max_bytes)
        self.settings = settings
        self.refusal: str | None = None  # the body's, said in the reader's language
        self.routed = False

    async def receive_with_limit(self) -> Message:
        if not self.routed:  # the first read comes once the request is routed
            self.routed = True
            self.allow_file()
        try:
            return await super().receive_with_limit()
        except HTTPException as exc:  # Starlette's refusal, which FastAPI's routes pass on
            exc.detail = self.refusal or _(
                "Le corps de la requête dépasse les %(size)s acceptés.",
                size=size(self.max_body_size),
            )
            raise

    async def send_with_limit(self, message: Message) -> None:
        """The app's 413 as it is (with its reason); Starlette puts a bare one instead of any
        other answer to a body declared over the limit."""
        if message["type"] == "http.response.start" and message["status"] == 413:
            self.response_started = True
            await self.send(message)
            return
        await super().send_with_limit(message)

    def allow_file(self) -> None:
        """The limit of a route that takes a file: its file and a form around it."""
        endpoint = getattr(self.scope.get("route"), "endpoint", None)
        limit: FileLimit | None = getattr(endpoint, "file_limit", None)
        if limit is not None:
            max_bytes, self.refusal = limit(self.settings)
            self.max_body_size = max_bytes + FORM_OVERHEAD
