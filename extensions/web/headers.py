"""Security headers on every response: no framing (clickjacking), no MIME sniffing, no
referrer beyond the origin, and a Content-Security-Policy.

Pages run only the scripts and styles this site serves (no inline code, no `eval`); they
may reach other hosts only for what the settings name: the viewer's online basemaps and the
S3 storage that asset files redirect to (the API's Swagger UI is served here too). Anything
else (JSON, asset files) may load nothing and be framed by nobody.

A page whose address holds a single-use credential (a `{token}` path parameter, a `token` or
`sig` query parameter: password reset, RL e-validation, e-mail verification, signed URLs)
sends no referrer at all, so that the link never leaves in a `Referer` header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extensions.assets import S3Settings

if TYPE_CHECKING:
    from extensions.settings import Settings

HSTS = "max-age=31536000; includeSubDomains"
CREDENTIALS_IN_QUERY = ("token", "sig")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def storage_origins(settings: Settings, s3: S3Settings | None = None) -> list[str]:
    """Where an asset address may redirect a browser to: the S3 storage's host, as boto3
    presigns it (an endpoint's own host, path-style; AWS: the bucket's host)."""
    if not settings.storage.s3_url:
        return []
    s3 = s3 or S3Settings()
    if s3.endpoint_url:
        return [origin(s3.endpoint_url)]
    bucket = settings.storage.s3_url.removeprefix("s3://").partition("/")[0]
    regional = [f"https://{bucket}.s3.{s3.region_name}.amazonaws.com"] if s3.region_name else []
    return [f"https://{bucket}.s3.amazonaws.com", *regional]


def policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def page_policy(settings: Settings) -> str:
    """Pages: this site's scripts, styles and fonts only; images and tiles also from the
    online basemaps (and asset images from the S3 storage); MapLibre's workers and images
    come from blob: URLs it makes itself."""
    basemaps = sorted({origin(b.tiles) for b in settings.viewer.basemaps})
    return policy(
        {
            "default-src": ["'self'"],
            "script-src": ["'self'"],
            "style-src": ["'self'"],
            "img-src": ["'self'", "data:", "blob:", *basemaps, *storage_origins(settings)],
            "connect-src": ["'self'", *basemaps],
            "worker-src": ["'self'", "blob:"],
            "child-src": ["'self'", "blob:"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'none'"],
        }
    )


RESOURCE_POLICY = policy({"default-src": ["'none'"], "frame-ancestors": ["'none'"]})
"""JSON, images, asset files: nothing to load, nowhere to be framed (an XML or SVG file
opened on its own runs no script)."""


def carries_credential(scope: Scope) -> bool:
    """The address holds a single-use token or a signature."""
    if "token" in scope.get("path_params", {}):
        return True
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return any(name in query for name in CREDENTIALS_IN_QUERY)


class SecurityHeaders:
    """ASGI middleware adding the security headers to every response that lacks them."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.page_policy = page_policy(settings)
        self.hsts = settings.production or settings.web.public_url.startswith("https://")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.add_headers(scope, MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def add_headers(self, scope: Scope, headers: MutableHeaders) -> None:
        page = headers.get("content-type", "").startswith("text/html")
        csp = self.page_policy if page else RESOURCE_POLICY
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        referrer = "no-referrer" if carries_credential(scope) else "strict-origin-when-cross-origin"
        headers.setdefault("Referrer-Policy", referrer)
        if self.hsts:
            headers.setdefault("Strict-Transport-Security", HSTS)


__all__ = ["SecurityHeaders", "page_policy", "storage_origins"]
