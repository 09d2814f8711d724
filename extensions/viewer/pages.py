"""The catalogue viewer's page: a browser opening the site (or `/catalogue`) lands on it.

The page is a shell: the viewer itself is a script built at set-up from npm packages
(`make install` runs `npm run build` into `static/`), served from here, asking no other host.
What it needs to start (language and its messages, API root, who is signed in, basemaps,
missions, the pages of the plugins) is written into the page as JSON.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from fastapi import FastAPI, Request
from fastapi.responses import Response
from stac_fastapi.types.requests import get_base_url

from extensions.federation.stac import COLLECTION
from extensions.i18n import language
from extensions.identity import get_identity
from extensions.services import services_of
from extensions.web import page_router, render
from extensions.web.language import weights
from pgstac.missions import MISSIONS

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LOCALES = HERE / "locales"
JSON_TYPES = ("application/json", "application/geo+json")


def wants_viewer(request: Request) -> bool:
    """A browser asks for HTML by name; API clients ask for JSON or anything (`*/*`):
    they get the STAC landing page. `?f=json` / `?f=html` decide explicitly."""
    explicit = request.query_params.get("f")
    if explicit in ("json", "html"):
        return explicit == "html"
    accepted = weights(request.headers.get("accept", ""))  # wildcards do not count
    html = accepted.get("text/html", 0.0)
    return html > 0 and html >= max(accepted.get(t, 0.0) for t in JSON_TYPES)


@cache
def messages(lang: str) -> dict[str, str]:
    """The viewer's messages in `lang` (msgid: the French text); empty for French."""
    path = LOCALES / lang / "LC_MESSAGES" / "viewer.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string}


def site_links(plugins: set[str]) -> dict[str, str | None]:
    """The product's other pages the viewer links to (None: that plugin is not loaded)."""
    registry, ordering = "registry" in plugins, "ordering" in plugins
    return {
        "portal": "/portail" if registry else None,
        "signIn": "/connexion" if registry else None,
        "signOut": "/deconnexion" if registry else None,
        "account": "/compte" if registry else None,
        "orders": "/commandes" if ordering else None,
        "archiveOrder": "/commandes/archive" if ordering else None,
        "api": "/api.html",
    }


def missions() -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "label": m.label,
            "collections": list(m.collections),
            "platforms": [{"id": p.id, "label": p.label} for p in m.platforms],
        }
        for m in MISSIONS
    ]


async def viewer_page(request: Request) -> Response:
    """The viewer, in the caller's language, with what it needs to start."""
    services = services_of(request)
    settings = services.settings
    identity = await get_identity(request)
    lang = language()
    api_root = str(get_base_url(request)).rstrip("/")
    config = {
        "lang": lang,
        "messages": messages(lang),
        "api": api_root,
        "links": site_links({p.name for p in services.plugins}),
        "user": None
        if identity is None
        else {
            "name": identity.name,
            "entity": identity.entity_name,
            "roles": sorted(identity.roles),
        },
        "basemaps": [b.model_dump() for b in settings.viewer.basemaps],
        "missions": missions(),
        "commandable": COLLECTION,
        "footprintsPerTile": settings.viewer.footprints_per_tile,
    }
    response = render(request, "viewer.html", {"config": config, "lang": lang})
    response.headers["Vary"] = "Accept, Accept-Language, Cookie"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def add_viewer_page(app: FastAPI) -> None:
    router = page_router()

    @router.get("/catalogue")
    async def catalogue(request: Request) -> Response:
        return await viewer_page(request)

    app.include_router(router)
