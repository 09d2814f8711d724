"""The API's interactive documentation (`/api.html`): Swagger UI from the pinned npm package
`swagger-ui-dist`, served by this app (no other host at run time), started by a static script
(the pages' CSP runs no inline code); and `/favicon.ico`, which browsers ask of every page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from extensions.web import render

SWAGGER_UI = Path(__file__).parent / "swagger-ui"
"""Swagger UI's files, copied from the npm package by `make install`
(scripts/package-npm-data.sh)."""


def swagger_ui_files() -> StaticFiles:
    return StaticFiles(directory=SWAGGER_UI, check_dir=False)


def docs_router(docs_url: str, openapi_url: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(docs_url, name="swagger_ui_html")  # the landing page links it by this name
    async def api_page(request: Request) -> Response:
        root = request.scope.get("root_path", "").rstrip("/")
        context = {"openapi_url": root + openapi_url, "static": root + "/static"}
        return render(request, "api.html", context)

    @router.get("/favicon.ico")
    async def favicon() -> Response:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    return router
