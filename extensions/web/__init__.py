"""The web pages' shell: settings, the shared Jinja2 environment, CSRF and flash messages.

Pages are server-rendered (Jinja2), French first, and work without JavaScript. Every form
carries a CSRF token checked against a cookie (the double-submit pattern); the session
cookie is HttpOnly and SameSite=Lax, and Secure in production.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Literal, Self

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from extensions.errors import PermissionDenied

HERE = Path(__file__).parent
CSRF_COOKIE = "dinamis_csrf"
CSRF_FIELD = "csrf_token"
FLASH_COOKIE = "dinamis_flash"
DEV_SECRET = "development-secret-do-not-use-in-production"  # noqa: S105 - refused in production


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_", extra="ignore", populate_by_name=True)

    mode: Literal["development", "production"] = Field(
        default="development", validation_alias=AliasChoices("DINAMIS_MODE")
    )
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    """Signs links (e-mail verification, RL validation), flash messages and sessions."""
    public_url: str = "http://127.0.0.1:8080"
    """Where users reach the site: the base of links sent by e-mail."""

    @model_validator(mode="after")
    def refuse_default_secret_in_production(self) -> Self:
        secret = self.secret_key.get_secret_value()
        if self.mode == "production" and (secret == DEV_SECRET or len(secret) < 32):
            raise ValueError("DINAMIS_SECRET_KEY must be set (32+ characters) in production mode")
        return self

    @property
    def secure_cookies(self) -> bool:
        return self.mode == "production" or self.public_url.startswith("https://")


def make_templates(folders: list[Path], settings: WebSettings) -> Jinja2Templates:
    """One environment over the core's templates and each plugin's."""
    environment = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in [HERE / "templates", *folders]]),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(site_name="DINAMIS", public_url=settings.public_url)
    return Jinja2Templates(env=environment)


def signer(request: Request, salt: str) -> URLSafeTimedSerializer:
    settings: WebSettings = request.app.state.web_settings
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt=salt)


def csrf_token(request: Request) -> str:
    """The request's CSRF token: the cookie's, or a new one set by `render`."""
    if "csrf" not in request.scope:
        request.scope["csrf"] = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    token: str = request.scope["csrf"]
    return token


def check_csrf(request: Request, form: Any) -> None:
    """Refuse a form whose token does not match its cookie."""
    sent, expected = form.get(CSRF_FIELD), request.cookies.get(CSRF_COOKIE)
    if not sent or not expected or not secrets.compare_digest(str(sent), expected):
        raise PermissionDenied(
            "The form expired or did not come from this site: reload the page and try again."
        )


def flash(response: Response, request: Request, message: str, kind: str = "success") -> None:
    """A message shown once, on the next page."""
    value = signer(request, "flash").dumps({"message": message, "kind": kind})
    response.set_cookie(FLASH_COOKIE, value, max_age=120, httponly=True, samesite="lax")


def take_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        value: dict[str, str] = signer(request, "flash").loads(raw, max_age=120)
    except BadSignature:
        return None
    return value


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """A page: the template with the identity, the CSRF token and any flash message."""
    templates: Jinja2Templates = request.app.state.templates
    message = take_flash(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "identity": request.scope.get("identity"),
            "csrf_token": csrf_token(request),
            "csrf_field": CSRF_FIELD,
            "flash": message,
            **(context or {}),
        },
        status_code=status_code,
    )
    settings: WebSettings = request.app.state.web_settings
    response.set_cookie(
        CSRF_COOKIE, csrf_token(request), httponly=True, samesite="lax",
        secure=settings.secure_cookies, max_age=12 * 3600,
    )  # fmt: skip
    if message:
        response.delete_cookie(FLASH_COOKIE)
    return response


def redirect(url: str, request: Request | None = None, message: str | None = None) -> Response:
    """POST-redirect-GET, with an optional message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if message and request is not None:
        flash(response, request, message)
    return response


__all__ = [
    "CSRF_FIELD",
    "WebSettings",
    "check_csrf",
    "csrf_token",
    "flash",
    "make_templates",
    "redirect",
    "render",
    "signer",
]
