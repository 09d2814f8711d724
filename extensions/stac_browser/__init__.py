"""Radiant Earth's STAC Browser, served under `/browser/` and pointed at this catalogue.

It is built at set-up from the pinned npm package (`npm run build:browser`, see `build.sh`)
into `static/`. Its page is the built one, with `/browser/config.js` loaded first: that
script gives it the catalogue's address as this request sees it (behind a proxy too).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from stac_fastapi.types.requests import get_base_url
from starlette.staticfiles import StaticFiles

from extensions.errors import NotFound
from extensions.i18n import _
from extensions.web import page_router

HERE = Path(__file__).parent
STATIC = HERE / "static"
PATH = "/browser"


@cache
def built_page() -> str | None:
    """STAC Browser's page, its configuration script first (None: not built)."""
    index = STATIC / "index.html"
    if not index.is_file():
        return None
    return index.read_text().replace("<head>", f'<head><script src="{PATH}/config.js"></script>', 1)


def add_stac_browser(app: FastAPI) -> None:
    router = page_router()

    @router.get(f"{PATH}/")
    async def browser_page() -> HTMLResponse:
        page = built_page()
        if page is None:
            raise NotFound(
                _("STAC Browser n'est pas construit sur ce serveur (npm run build:browser).")
            )
        return HTMLResponse(page)

    @router.get(f"{PATH}/config.js")
    async def browser_config(request: Request) -> Response:
        config = {"catalogUrl": get_base_url(request)}
        script = b"window.STAC_BROWSER_CONFIG = " + orjson.dumps(config) + b";\n"
        return Response(script, media_type="text/javascript")

    app.include_router(router)
    app.mount(PATH, StaticFiles(directory=STATIC, check_dir=False), name="stac-browser")
