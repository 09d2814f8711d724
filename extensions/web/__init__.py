"""The web pages' shell: the shared Jinja2 environment, CSRF and flash messages.

Pages are server-rendered (Jinja2), French first, and work without JavaScript. Every form
carries a CSRF token checked against a cookie (the double-submit pattern); the session
cookie is HttpOnly and SameSite=Lax, and Secure in production.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData, UploadFile

from extensions.errors import PermissionDenied
from extensions.i18n import _, month, number, percent, plural_translation, translation
from extensions.i18n import language as current_language
from extensions.identity import get_identity
from extensions.services import services_of
from extensions.signing import same
from extensions.web.language import switched_to

HERE = Path(__file__).parent
CSRF_COOKIE = "dinamis_csrf"
CSRF_FIELD = "csrf_token"
FLASH_COOKIE = "dinamis_flash"


PARIS = ZoneInfo("Europe/Paris")


def fr_date(value: date | str | None) -> str:
    """JJ/MM/AAAA, from a date, a datetime or an ISO string."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def fr_datetime(value: datetime | None) -> str:
    """JJ/MM/AAAA HH:MM, in French time."""
    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M") if value else ""


def make_templates(
    folders: list[Path], public_url: str, filters: dict[str, Callable[..., Any]]
) -> Jinja2Templates:
    """One environment over the core's templates and each plugin's, with their filters."""
    environment = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in [HERE / "templates", *folders]]),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Texts are French, translated in the reader's language (`{{ _("…") }}`, `{% trans %}`).
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        translation, plural_translation, newstyle=True
    )
    environment.globals.update(
        site_name="DINAMIS",
        public_url=public_url,
        language=current_language,
        switched_to=switched_to,
    )
    environment.filters.update(
        fr_date=fr_date,
        fr_datetime=fr_datetime,
        translated=translation,
        number=number,
        percent=percent,
        month=month,
        **filters,
    )
    return Jinja2Templates(env=environment)


def signer(request: Request, salt: str) -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key and accepts all: the newest last.
    keys = services_of(request).settings.web.secret_keys[::-1]
    return URLSafeTimedSerializer(keys, salt=salt)


def csrf_token(request: Request) -> str:
    """The request's CSRF token: the cookie's, or a new one set by `render`."""
    if "csrf" not in request.scope:
        request.scope["csrf"] = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    token: str = request.scope["csrf"]
    return token


def check_csrf(request: Request, form: Any) -> None:
    """Refuse a form whose token does not match its cookie."""
    sent, expected = form.get(CSRF_FIELD), request.cookies.get(CSRF_COOKIE)
    if not sent or not expected or not same(str(sent), expected):
        raise PermissionDenied(
            _(
                "Le formulaire a expiré ou ne vient pas de ce site : rechargez la page et recommencez."
            )
        )


async def read_form(request: Request, max_files: int = 0) -> FormData:
    """The posted form, once its CSRF token is checked. Only forms that take files accept
    them (`max_files`): Starlette refuses any other before writing it anywhere; fields are
    within Starlette's limits (1000 fields of 1 MB) and the body within `BodyLimit`'s."""
    form = await request.form(max_files=max_files)
    check_csrf(request, form)
    return form


def values_of(form: FormData) -> dict[str, Any]:
    """The form's text fields; a repeated field (checkboxes) becomes a list."""
    values: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key == CSRF_FIELD or isinstance(value, UploadFile):
            continue
        if key in values:
            values[key] = (
                [*values[key], value] if isinstance(values[key], list) else [values[key], value]
            )
        else:
            values[key] = value
    return values


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
    services = services_of(request)
    message = take_flash(request)
    response = services.templates.TemplateResponse(
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
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token(request),
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
        max_age=12 * 3600,
    )
    if message:
        response.delete_cookie(FLASH_COOKIE)
    return response


def redirect(
    url: str, request: Request | None = None, message: str | None = None, kind: str = "success"
) -> Response:
    """POST-redirect-GET, with an optional message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if message and request is not None:
        flash(response, request, message, kind)
    return response


def local_path(url: str | None, default: str = "/") -> str:
    """`url` if it is a path of this site (a safe place to return to), else `default`."""
    if url and url.startswith("/") and not url.startswith(("//", "/\\")):
        return url
    return default


async def mark_page(request: Request) -> None:
    request.scope["page"] = True


def page_router(**options: Any) -> APIRouter:
    """A router of HTML pages: errors raised there are shown as a page, not as JSON, and
    the pages stay out of the OpenAPI document."""
    return APIRouter(
        dependencies=[Depends(mark_page), Depends(get_identity)], include_in_schema=False, **options
    )


def is_page(request: Request) -> bool:
    return bool(request.scope.get("page"))


def error_page(request: Request, status_code: int, message: str) -> Response:
    """An error on a page: back to the sign-in for a missing session, a page saying what is
    wrong otherwise."""
    if status_code == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = urlsplit(request.headers.get("referer", "")).path or "/compte"
        return redirect(
            f"/connexion?suivant={quote(local_path(target, '/compte'))}", request, message, "error"
        )
    return render(request, "erreur.html", {"status": status_code, "message": message}, status_code)


__all__ = [
    "CSRF_FIELD",
    "check_csrf",
    "csrf_token",
    "error_page",
    "flash",
    "is_page",
    "local_path",
    "make_templates",
    "page_router",
    "redirect",
    "render",
    "signer",
]
