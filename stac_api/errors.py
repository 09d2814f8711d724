"""Every error as `{code, description}` JSON, and never a 500 for what a client can send.

Each package raises its own exception classes; this module maps them, FastAPI's validation
errors and the database's client-caused errors to status codes in one table. A database that
cannot be reached (down, restarting, out of connections) is a 503 with `Retry-After`.
"""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

import asyncpg
import procrastinate.exceptions
import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from stac_fastapi.api.errors import DEFAULT_STATUS_CODES
from stac_fastapi.api.models import JSONResponse
from starlette import status
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from extensions.assets import AssetNotFound, OutsideStorage
from extensions.errors import (
    PROBLEMS,
    UNKNOWN_PROBLEM,
    AuthenticationRequired,
    Conflict,
    InvalidFields,
    InvalidRequest,
    InvalidSearch,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    TooManyRequests,
    UnsupportedMediaType,
    library_message,
    validation_message,
)
from extensions.federation.client import (
    UpstreamError,
    UpstreamRefused,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from extensions.i18n import N_, _
from extensions.tiles import STATUS_CODES as TILE_STATUS_CODES
from extensions.web import error_page, is_page
from pgstac.db import UNREACHABLE, unreachable
from pgstac.settings import DatabaseNotConfigured

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
"""What a client is told to wait when the database cannot be reached: a restart or a
failover of PostgreSQL takes seconds."""


class SearchTimeout(Exception):
    """A search exceeded the database statement timeout."""


STATUS_CODES: dict[type[Exception], int] = {
    **DEFAULT_STATUS_CODES,
    AuthenticationRequired: status.HTTP_401_UNAUTHORIZED,
    PermissionDenied: status.HTTP_403_FORBIDDEN,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    InvalidRequest: status.HTTP_400_BAD_REQUEST,
    TooManyRequests: status.HTTP_429_TOO_MANY_REQUESTS,
    PayloadTooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
    UnsupportedMediaType: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    InvalidSearch: status.HTTP_400_BAD_REQUEST,
    AssetNotFound: status.HTTP_404_NOT_FOUND,
    OutsideStorage: status.HTTP_400_BAD_REQUEST,
    SearchTimeout: status.HTTP_504_GATEWAY_TIMEOUT,
    DatabaseNotConfigured: status.HTTP_503_SERVICE_UNAVAILABLE,
    # Errors PostgreSQL/pgstac raise for values a client sent: a malformed datetime, a
    # comparison of a number with a string, pgstac's own RAISE EXCEPTION on a bad search.
    asyncpg.exceptions.DataError: status.HTTP_400_BAD_REQUEST,
    asyncpg.exceptions.RaiseError: status.HTTP_400_BAD_REQUEST,
    # The application lane's: a value psycopg or PostgreSQL refuses (a NUL byte in a text),
    # bare or wrapped by SQLAlchemy.
    psycopg.DataError: status.HTTP_400_BAD_REQUEST,
    sqlalchemy.exc.DataError: status.HTTP_400_BAD_REQUEST,
    # The API sends no SQL of its own text; a syntax error comes from client text that pgstac
    # turns into a query, e.g. a free-text `q` with unbalanced operators.
    asyncpg.exceptions.PostgresSyntaxError: status.HTTP_400_BAD_REQUEST,
    asyncpg.exceptions.QueryCanceledError: status.HTTP_504_GATEWAY_TIMEOUT,
    **TILE_STATUS_CODES,
    UpstreamError: status.HTTP_502_BAD_GATEWAY,
    UpstreamRefused: status.HTTP_502_BAD_GATEWAY,  # Airbus refused what we sent it
    UpstreamTimeout: status.HTTP_504_GATEWAY_TIMEOUT,
    UpstreamUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}

ERROR_CODES: dict[type[Exception], str] = {
    asyncpg.exceptions.DataError: "InvalidParameterValue",
    asyncpg.exceptions.RaiseError: "InvalidParameterValue",
    psycopg.DataError: "InvalidParameterValue",
    sqlalchemy.exc.DataError: "InvalidParameterValue",
    asyncpg.exceptions.PostgresSyntaxError: "InvalidParameterValue",
    asyncpg.exceptions.QueryCanceledError: "SearchTimeout",
}


def error_response(status_code: int, code: str, description: str, **headers: str) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code, headers=headers)


def _code(exc: Exception) -> str:
    for cls in type(exc).__mro__:
        if cls in ERROR_CODES:
            return ERROR_CODES[cls]
    return type(exc).__name__


def _description(exc: Exception) -> str:
    if isinstance(exc, asyncpg.exceptions.QueryCanceledError):
        return _(
            "La recherche a pris trop de temps et a été arrêtée : resserrez-la par zone, "
            "période ou collection."
        )
    if isinstance(exc, asyncpg.PostgresError):
        # The server's own message names the bad value; hints and internals are left out.
        problem = str(exc.args[0] if exc.args else exc).split("\n")[0]
        if isinstance(exc, asyncpg.exceptions.InvalidDatetimeFormatError):
            # pgstac reports any bad timestamp so, a page's or a count's, one in a filter too.
            return _("Date ou heure non valide : %(problem)s", problem=problem)
        return problem
    if isinstance(exc, (psycopg.DataError, sqlalchemy.exc.DataError)):
        refused = exc.orig if isinstance(exc, DBAPIError) else exc
        return _(
            "Valeur refusée par la base de données : %(problem)s",
            problem=str(refused).split("\n")[0],
        )
    return library_message(str(exc)) or type(exc).__name__


PLACES = {
    "query": N_("le paramètre « %(name)s »"),
    "path": N_("l'élément « %(name)s »"),
    "body": N_("le champ « %(name)s »"),
    "cookie": N_("le cookie « %(name)s »"),
}


def _page_message(errors: list[Any]) -> str:
    """A validation error told to a reader of the page, in their language: which parameter,
    and what it should be, never pydantic's text or pattern."""
    parts = []
    for error in errors:
        place, *names = [str(p) for p in error.get("loc", ())] or ["query"]
        name = ".".join(names) or place
        problem = _(
            PROBLEMS.get(error.get("type", ""), UNKNOWN_PROBLEM),
            **dict(error.get("ctx") or {}),
        )
        where = _(PLACES.get(place, PLACES["query"]), name=name)
        parts.append(_("%(where)s : %(problem)s", where=where, problem=problem))
    text = _(" ; ").join(parts)
    return _(
        "L'adresse ou le formulaire contient une valeur incorrecte — %(problems)s.", problems=text
    )


def add_error_handlers(app: FastAPI) -> None:
    """Render every error as `{code, description}` with the status from STATUS_CODES."""

    def mapped(status_code: int):
        def handler(request: Request, exc: Exception) -> Response:
            if status_code >= 500:
                logger.error("%s on %s %s", type(exc).__name__, request.method, request.url)
            headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else {}
            if isinstance(exc, TooManyRequests):
                headers["Retry-After"] = str(exc.retry_after)
            if is_page(request):
                return error_page(request, status_code, _description(exc))
            if isinstance(exc, InvalidFields):
                return JSONResponse(
                    {"code": _code(exc), "description": _description(exc), "fields": exc.errors},
                    status_code,
                )
            return error_response(status_code, _code(exc), _description(exc), **headers)

        return handler

    for exc_class, status_code in STATUS_CODES.items():
        app.add_exception_handler(exc_class, mapped(status_code))

    async def request_validation(request: Request, exc: RequestValidationError) -> Response:
        if is_page(request):
            return error_page(request, 400, _page_message(list(exc.errors())))
        return error_response(400, "InvalidParameterValue", validation_message(list(exc.errors())))

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, ValidationError):  # stac-fastapi wraps model errors
            message = validation_message(list(exc.__cause__.errors()))
            return error_response(exc.status_code, "InvalidParameterValue", message)
        code = HTTPStatus(exc.status_code).phrase.title().replace(" ", "").replace("-", "")
        description = library_message(str(exc.detail))
        return error_response(exc.status_code, code, description, **dict(exc.headers or {}))

    async def database_error(request: Request, exc: Exception) -> Response:
        """The drivers' errors that may mean the database is out of reach: a 503 then, the
        unexpected error it is otherwise."""
        if not unreachable(exc):
            return await unexpected(request, exc)
        logger.warning("Database unreachable on %s %s: %s", request.method, request.url, exc)
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        message = _(
            "La base de données est momentanément injoignable : "
            "réessayez dans %(seconds)s secondes.",
            seconds=RETRY_AFTER_SECONDS,
        )
        if is_page(request):
            page = error_page(request, 503, message)
            page.headers.update(retry)
            return page
        return error_response(503, "ServiceUnavailable", message, **retry)

    async def unexpected(request: Request, exc: Exception) -> Response:
        reference = uuid.uuid4().hex[:12]
        logger.exception("Unexpected error %s on %s %s", reference, request.method, request.url)
        message = _("Erreur inattendue du serveur (référence %(reference)s).", reference=reference)
        if is_page(request):
            return error_page(request, 500, message)
        return error_response(500, "InternalServerError", message)

    app.add_exception_handler(RequestValidationError, request_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    for driver_error in (
        *UNREACHABLE,
        psycopg.OperationalError,
        DBAPIError,  # SQLAlchemy's wrapping of psycopg's
        procrastinate.exceptions.ConnectorException,  # the job queue's wrapping of psycopg's
    ):
        app.add_exception_handler(driver_error, database_error)
    app.add_exception_handler(Exception, unexpected)
