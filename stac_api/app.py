"""`create_app(settings)`: the DINAMIS STAC API, built from stac-fastapi-pgstac.

Nothing is built at import time; run with `dinamis serve` or
`uvicorn stac_api.app:create_app --factory`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from brotli_asgi import BrotliMiddleware
from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from stac_fastapi.api.app import StacApi
from stac_fastapi.api.models import (
    EmptyRequest,
    ItemCollectionUri,
    JSONResponse,
    create_get_request_model,
    create_post_request_model,
    create_request_model,
)
from stac_fastapi.extensions import ItemCollectionFilterExtension, SearchFilterExtension
from stac_fastapi.extensions.free_text import FreeTextConformanceClasses
from stac_fastapi.pgstac.core import health_check
from stac_fastapi.pgstac.extensions import FreeTextExtension
from stac_fastapi.pgstac.models.extensions import Extensions
from stac_fastapi.types.search import APIRequest
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.staticfiles import StaticFiles

from extensions.areas import add_geometries
from extensions.assets import AssetsExtension
from extensions.bodies import BodyLimit
from extensions.federation.search import add_federation
from extensions.i18n import _
from extensions.observability import RequestObservation, observability_router  # observability
from extensions.places import add_places
from extensions.plugins import load_plugins
from extensions.readyourwrites import ReadYourWrites  # replica
from extensions.services import services_of
from extensions.settings import ApiSettings, Settings
from extensions.signing import same
from extensions.stac_browser import add_stac_browser
from extensions.tiles import add_tiles
from extensions.viewer import add_viewer
from extensions.viewer.pages import STATIC as VIEWER_STATIC
from extensions.web import HERE as WEB_HERE
from extensions.web.api_docs import docs_router, swagger_ui_files
from extensions.web.headers import SecurityHeaders
from extensions.web.language import ReadersLanguage
from stac_api.aggregation import aggregation_extension
from stac_api.caching import CachingByIdentity
from stac_api.client import SIMULATED, DinamisClient
from stac_api.errors import (
    STATUS_CODES,
    AuthenticationRequired,
    PermissionDenied,
    add_error_handlers,
)
from stac_api.proxies import SubPath, TrustedProxies  # sub-path
from stac_api.queryables import DinamisFiltersClient
from stac_api.search import DinamisSearch, DinamisSearchGet
from stac_api.services import open_services

WEB_STATIC = WEB_HERE / "static"


def search_reader(client: DinamisClient, get_request_model: type[APIRequest]) -> Any:
    """A dependency reading `GET /search`'s parameters into the search model, for other
    routes that take a search (the viewer's footprint tiles)."""

    async def read_search(request: Request, query: Any = Depends(get_request_model)) -> Any:
        return client.search_from_query(request, **query.kwargs())

    return read_search


def transaction_scopes(prefix: str = "") -> list[dict[str, str]]:
    """Every route of the transaction extensions, under the API's path prefix: all need the
    admin credential (a scope without the prefix would match no route and guard nothing)."""
    collection = f"{prefix}/collections/{{collection_id}}"
    item = f"{collection}/items/{{item_id}}"
    return [
        {"path": f"{prefix}/collections", "method": "POST"},
        *({"path": collection, "method": m} for m in ("PUT", "PATCH", "DELETE")),
        {"path": f"{collection}/items", "method": "POST"},
        *({"path": item, "method": m} for m in ("PUT", "PATCH", "DELETE")),
        {"path": f"{collection}/bulk_items", "method": "POST"},
    ]


bearer = HTTPBearer(auto_error=False, description="Admin credential for transactions")


async def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> None:
    """Transactions change the catalogue: they need the admin bearer token."""
    expected = services_of(request).settings.api.admin_token
    if expected is None:
        raise PermissionDenied(
            _(
                "Les transactions sont désactivées : aucun identifiant d'administration n'est "
                "configuré sur ce serveur."
            )
        )
    if credentials is None:
        raise AuthenticationRequired(
            _(
                "Les transactions demandent l'identifiant d'administration : envoyez "
                "`Authorization: Bearer <jeton>`."
            )
        )
    if not same(credentials.credentials, expected.get_secret_value()):
        raise PermissionDenied(_("L'identifiant d'administration n'est pas valide."))


def build_extensions(api_settings: ApiSettings) -> Extensions:
    """stac-fastapi-pgstac's registry of extensions, plus free-text on items and assets, and
    queryables that list our search terms."""
    return Extensions(
        search_map={
            "free_text": FreeTextExtension(conformance_classes=[FreeTextConformanceClasses.SEARCH]),
            "filter": SearchFilterExtension(client=DinamisFiltersClient()),
        },
        item_collection_map={
            "free_text": FreeTextExtension(conformance_classes=[FreeTextConformanceClasses.ITEMS]),
            "filter": ItemCollectionFilterExtension(client=DinamisFiltersClient()),
        },
        extra_map={"assets": AssetsExtension()},
        settings=api_settings,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API: core, collections, features, item search and its extensions, assets."""
    settings = settings or Settings()
    api_settings = settings.api
    if settings.oneatlas.simulated:
        api_settings = api_settings.model_copy(
            update={
                "stac_fastapi_description": f"{api_settings.stac_fastapi_description} {SIMULATED}"
            }
        )
    extensions = build_extensions(api_settings)

    post_request_model = create_post_request_model(extensions.search, base_model=DinamisSearch)
    get_request_model = create_get_request_model(extensions.search, base_model=DinamisSearchGet)
    items_get_request_model: type[APIRequest] = ItemCollectionUri
    if extensions.item_collection:
        items_get_request_model = create_request_model(  # type: ignore[assignment]
            model_name="ItemCollectionUri",
            base_model=ItemCollectionUri,
            extensions=extensions.item_collection,
            request_type="GET",
        )
    collection_search = extensions.collection_search
    collections_get_request_model: type[APIRequest] = (
        collection_search.GET if collection_search else EmptyRequest
    )

    client = DinamisClient(
        pgstac_search_model=post_request_model,
        landing_page_id=api_settings.stac_fastapi_landing_id,
    )
    application_extensions: list[Any] = [
        aggregation_extension(client, get_request_model, post_request_model),
        *extensions.search,
        *extensions.item_collection,
        *extensions.transaction,
        *extensions.extra,
    ]
    if collection_search is not None:
        application_extensions.append(collection_search)

    plugins = load_plugins(settings.plugins)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings, plugins=plugins) as services:
            app.state.services = services
            # stac-fastapi-pgstac's client reads the catalogue through this (its contract).
            app.state.get_connection = services.database.connection
            for plugin in plugins:
                await plugin.startup(services)
            worker = None
            if settings.jobs.worker == "in-process":
                worker = asyncio.create_task(
                    services.jobs.run_worker_async(
                        install_signal_handlers=False,
                        concurrency=settings.jobs.concurrency,
                        shutdown_graceful_timeout=settings.jobs.shutdown_seconds,
                        delete_jobs="successful",
                        additional_context={"services": services},
                    )
                )
            try:
                yield
            finally:
                if worker:
                    worker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker

    app = FastAPI(
        openapi_url=api_settings.openapi_url,
        docs_url=None,  # Swagger UI served here: extensions/web/api_docs.py
        redoc_url=None,
        title=api_settings.stac_fastapi_title,
        version=api_settings.stac_fastapi_version,
        description=api_settings.stac_fastapi_description,
        lifespan=lifespan,
    )
    # The viewer's built scripts first: /static/viewer/ is theirs.
    app.mount("/static/viewer", StaticFiles(directory=VIEWER_STATIC, check_dir=False))
    app.mount("/static/swagger-ui", swagger_ui_files())
    app.mount("/static", StaticFiles(directory=WEB_STATIC), name="static")

    api = StacApi(
        app=app,
        router=APIRouter(prefix=api_settings.prefix_path),
        settings=api_settings,
        extensions=application_extensions,
        client=client,
        response_class=JSONResponse,
        items_get_request_model=items_get_request_model,
        search_get_request_model=get_request_model,
        search_post_request_model=post_request_model,
        collections_get_request_model=collections_get_request_model,
        exceptions=STATUS_CODES,
        route_dependencies=[
            (transaction_scopes(api_settings.prefix_path), [Depends(require_admin)])  # type: ignore[list-item]
        ],
        middlewares=[
            Middleware(SubPath),  # sub-path: the pages' own paths under DINAMIS_API_ROOT_PATH
            Middleware(ReadersLanguage),  # i18n: pages and errors in the reader's language
            # Asset files are served as they are: compressing them would drop Content-Length
            # and break the byte ranges GDAL reads COGs with.
            Middleware(
                BrotliMiddleware,
                excluded_handlers=[
                    rf"^{api_settings.prefix_path}/assets/",
                    # Images are compressed already.
                    rf"^{api_settings.prefix_path}/collections/[^/]+/items/[^/]+/(tiles|preview)",
                ],
            ),
            Middleware(TrustedProxies, trusted=api_settings.trusted_proxies),
            Middleware(CachingByIdentity),
            Middleware(ReadYourWrites, settings=settings),  # replica: a writer reads the primary
            Middleware(
                CORSMiddleware,
                allow_origins=api_settings.cors_origins,
                allow_origin_regex=api_settings.cors_origin_regex,
                allow_methods=api_settings.cors_methods,
                allow_credentials=api_settings.cors_credentials,
                allow_headers=api_settings.cors_headers,
                expose_headers=["Content-Range", "Content-Length", "ETag", "Accept-Ranges"],
                max_age=600,
            ),
            Middleware(BodyLimit, settings=settings),
            Middleware(RequestObservation),  # observability: request id, timing, access log
            Middleware(SecurityHeaders, settings=settings),  # the last: the outermost
        ],
        health_check=health_check,
    )
    add_tiles(api.app)
    add_viewer(
        api.app,
        api_settings.prefix_path,
        search_reader(client, get_request_model),
        post_request_model,
    )
    add_stac_browser(api.app)
    add_places(api.app)
    add_geometries(api.app)
    add_federation(api.app)
    api.app.include_router(docs_router(api_settings.docs_url, api_settings.openapi_url))
    api.app.include_router(observability_router())  # observability: /healthz, /readyz, /metrics
    add_error_handlers(api.app)
    for plugin in plugins:
        for router in plugin.routers():
            api.app.include_router(router)
    declare_path_parameters(api.app)
    return api.app


def declare_path_parameters(app: FastAPI) -> None:
    """Some stac-fastapi routes read `{collection_id}` from the path without declaring it
    (`…/aggregate`, `…/bulk_items`): the OpenAPI document declares every parameter of every
    path, so that generated clients and validators can call them."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path, operations in schema.get("paths", {}).items():
                names = re.findall(r"{(\w+)}", path)
                for operation in operations.values():
                    declared = {
                        p.get("name")
                        for p in operation.get("parameters", [])
                        if p.get("in") == "path"
                    }
                    operation.setdefault("parameters", []).extend(
                        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                        for n in names
                        if n not in declared
                    )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
