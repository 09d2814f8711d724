"""The reader's language, one choice for the whole product (pages, viewer, API errors).

The reader's choice first (`?lang=` on any address, remembered in the `dinamis_lang`
cookie: the switch of every page's header and of the viewer), then the browser's
Accept-Language, French otherwise.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extensions.i18n import DEFAULT, LANGUAGES, speaking

LANGUAGE_COOKIE = "dinamis_lang"
COOKIE_MAX_AGE = 365 * 86400


def weights(header: str) -> dict[str, float]:
    """The values of an Accept or Accept-Language header (lower case) and their q (1 when
    not given, 0 when unreadable)."""
    found: dict[str, float] = {}
    for part in header.split(","):
        value, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, number = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(number)
                except ValueError:
                    q = 0.0
        if value:
            found.setdefault(value.lower(), q)
    return found


def chosen(connection: HTTPConnection) -> str | None:
    """The language the reader picked: `?lang=`, else the cookie (None: no choice)."""
    asked = connection.query_params.get("lang") or connection.cookies.get(LANGUAGE_COOKIE)
    return asked if asked in LANGUAGES else None


def language(connection: HTTPConnection) -> str:
    """The reader's choice, then the browser's Accept-Language; French otherwise."""
    if asked := chosen(connection):
        return asked
    tags = weights(connection.headers.get("accept-language", ""))
    for tag, q in sorted(tags.items(), key=lambda t: -t[1]):
        if q > 0 and tag.split("-")[0] in LANGUAGES:
            return tag.split("-")[0]
    return DEFAULT


def switched_to(connection: HTTPConnection, lang: str) -> str:
    """This page's address in `lang` (the language switch's link)."""
    query = [(k, v) for k, v in connection.query_params.multi_items() if k != "lang"]
    return f"{connection.url.path}?{urlencode([*query, ('lang', lang)])}"


class ReadersLanguage:
    """Every request is answered in its reader's language; `?lang=` is remembered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        lang = language(connection)
        switched = connection.query_params.get("lang") in LANGUAGES

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if switched:
                    headers.append(
                        "Set-Cookie",
                        f"{LANGUAGE_COOKIE}={lang}; Max-Age={COOKIE_MAX_AGE}; Path=/; SameSite=Lax",
                    )
                html = headers.get("content-type", "").startswith("text/html")
                if html and "accept-language" not in headers.get("vary", "").lower():
                    headers.append("Vary", "Accept-Language, Cookie")
            await send(message)

        with speaking(lang):
            await self.app(scope, receive, sending)


__all__ = [
    "COOKIE_MAX_AGE",
    "LANGUAGE_COOKIE",
    "ReadersLanguage",
    "language",
    "switched_to",
    "weights",
]
