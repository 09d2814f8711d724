"""Asset files and their signatures.

- `GET /assets/{path}`: a signed URL's file, with range requests, ETag and Content-Length, so
  GDAL/QGIS read a Cloud-Optimized GeoTIFF in place over /vsicurl/ (S3: a redirect to a
  presigned GET);
- `GET /collections/{c}/items/{i}/assets/{key}`: the address of a data asset: redirects a
  caller who may download it to a fresh signed URL, tells the others why not;
- `GET /sign?href=…` and `GET /token/{collection}`: signatures in the Planetary Computer's
  shape, for scripts;
- `GET /access/signatures` and `GET /access/downloads`: the audit, for instructors.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import unquote, urlsplit

import attr
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from stac_fastapi.types.extension import ApiExtension
from stac_fastapi.types.requests import get_base_url
from starlette.types import Message, Receive, Scope, Send

from extensions.access import (
    ANONYMOUS,
    DOWNLOADABLE,
    decide,
    fetch_item,
    get_rights,
    refuse,
    require_downloadable,
)
from extensions.assets.hrefs import (
    ASSETS_PATH,
    is_public,
    is_relative,
    is_web,
    record_signatures,
)
from extensions.assets.storage import S3Storage
from extensions.errors import InvalidRequest, NotFound
from extensions.i18n import _
from extensions.identity import require_role
from extensions.observability import DOWNLOADS
from extensions.services import ServicesDep, services_of
from extensions.signing import Grant, SignatureRefused, Signer

if TYPE_CHECKING:
    from extensions.database import Database
    from extensions.services import Services

ITEM_ASSET = re.compile(r"/collections/([^/]+)/items/([^/]+)/assets/([^/?#]+)$")
Duration = Annotated[
    int | None,
    Query(ge=60, description="Lifetime of the signature in seconds (4 hours at most by default)"),
]


PRESIGNED_SECONDS = 300
"""Lifetime of the presigned S3 GET a signed URL redirects to."""
RANGES = re.compile(r"(\d+)-(\d+)")


def no_asset(key: str, collection: str, item_id: str) -> str:
    """That an item has no such asset (its files, its web-map image)."""
    return _(
        "Pas d'asset %(key)r dans l'item %(collection)s/%(item)s.",
        key=key,
        collection=collection,
        item=item_id,
    )


def ranged(header: str | None) -> int:
    """The bytes a `Range: bytes=a-b[, c-d]` header asks for (0 for none or open ranges): what
    the audit counts of an S3 download, which the API does not see pass."""
    if not header or not header.startswith("bytes="):
        return 0
    return sum(int(end) - int(start) + 1 for start, end in RANGES.findall(header))


async def record_download(database: Database, grant: Grant, signature: str, size: int) -> None:
    """One row per signed URL used, counting its requests and bytes (GDAL reads a COG in
    many ranges)."""
    DOWNLOADS.labels(grant.collection).inc()
    async with database.write() as conn:
        await conn.execute(
            """
            INSERT INTO dinamis.downloads
                (signature, account_id, entity_id, collection, item, asset, requests, bytes)
            VALUES ($1, $2, $3, $4, $5, $6, 1, $7)
            ON CONFLICT (signature) DO UPDATE SET
                requests = downloads.requests + 1,
                bytes = downloads.bytes + excluded.bytes,
                last_at = now()
            """,
            Signer.digest(signature),
            grant.account,
            grant.entity,
            grant.collection,
            grant.item,
            grant.asset,
            size,
        )


class CountedFileResponse(FileResponse):
    """A file response that reports the bytes it sent."""

    def __init__(
        self, *args: Any, on_sent: Callable[[int], Awaitable[None]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.on_sent = on_sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = 0

        async def counting(message: Message) -> None:
            nonlocal sent
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        await super().__call__(scope, receive, counting)
        await self.on_sent(sent)


async def recheck(services: Services, grant: Grant) -> None:
    """A signed URL is honoured while the account it was made for may still download its
    item: deactivated, expired or its licence withdrawn, the URL stops working within
    `DINAMIS_SIGNING_RECHECK_SECONDS` (the answer is kept that long: GDAL's many range
    requests of one file cost one check)."""
    if grant.account is None:
        return
    key = (grant.account, grant.collection, grant.item)
    verdict = services.hrefs.rechecked.get(key)
    if verdict is None:
        identity = await services.identity.account(grant.account) if services.identity else None
        rights = ANONYMOUS
        if identity is not None and services.access is not None:
            rights = await services.access.rights(identity)
        item = (grant.collection, grant.item)
        verdict = (await decide(services.database, rights, [item]))[item]
        services.hrefs.rechecked[key] = verdict
    if verdict != DOWNLOADABLE:
        raise SignatureRefused(
            _(
                "Le compte pour lequel cette adresse a été signée ne peut plus télécharger ce "
                "fichier (compte désactivé ou expiré, ou licence retirée)."
            )
        )


async def token_grant(
    services: Services,
    token: str,
    path: str,
    collection: str,
    item_id: str,
    key: str,
    seconds: int | None = None,
) -> Grant:
    """The grant a collection token (`?token=`, from GET /token/{collection}) gives on one
    asset: its account's, within its collection, rechecked like a signed URL."""
    signer = services.hrefs.signer
    account, entity, expires = signer.verify_token(token, collection)
    lifetime = min(seconds or signer.settings.ttl_seconds, expires - int(time.time()))
    grant = Grant(
        path, collection, item_id, key, account, entity, signer.expires(max(lifetime, 60))
    )
    await recheck(services, grant)
    return grant


async def get_asset(
    request: Request,
    services: ServicesDep,
    path: Annotated[str, Path(description="Asset path relative to the storage root")],
) -> Response:
    """A file of the asset storage, for a signed URL; supports `Range`, `If-Range`, `HEAD`,
    ETag and Content-Length."""
    hrefs, database = services.hrefs, services.database
    grant = hrefs.signer.verify(path, request.query_params)
    if grant is not None:
        await recheck(services, grant)
    signature = request.query_params["sig"]
    storage = hrefs.storage
    if isinstance(storage, S3Storage):
        if grant is None:  # public: the same redirect for everybody, cacheable
            return RedirectResponse(storage.presign(path, 3600), status_code=307)
        requested = ranged(request.headers.get("range")) or await storage.size(path)
        await record_download(database, grant, signature, requested)
        # Short: GDAL comes back here (checked and audited again) when it has expired.
        seconds = min(grant.expires - int(time.time()), PRESIGNED_SECONDS)
        return RedirectResponse(
            storage.presign(path, max(seconds, 1)),
            status_code=307,
            headers={"Cache-Control": "no-store"},
        )
    file = storage.path(path)
    if grant is None:
        return FileResponse(file, headers={"Cache-Control": "public, max-age=86400"})

    async def audit(size: int) -> None:
        await record_download(database, grant, signature, size)

    return CountedFileResponse(
        file, headers={"Cache-Control": "private, max-age=300"}, on_sent=audit
    )


async def grant_for(
    request: Request,
    collection: str,
    item_id: str,
    key: str,
    token: str | None = None,
    seconds: int | None = None,
) -> Grant | str:
    """A grant for this asset if the caller (or the collection token) may read it; the
    public URL of a public asset; 401/403 saying why not otherwise."""
    hrefs = services_of(request).hrefs
    item = await fetch_item(services_of(request).database, collection, item_id)
    asset = ((item or {}).get("assets") or {}).get(key)
    if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
        raise NotFound(no_asset(key, collection, item_id))
    href = asset["href"]
    if not is_relative(href):  # never shown to whoever may not download it
        if not is_public(asset):
            await require_downloadable(request, collection, item_id)
        if not is_web(href):
            raise NotFound(
                _(
                    "Le fichier %(key)r de %(collection)s/%(item)s n'est pas servi ici.",
                    key=key,
                    collection=collection,
                    item=item_id,
                )
            )
        return str(href)
    if is_public(asset):
        return hrefs.public_url(get_base_url(request), href)
    if token:
        return await token_grant(
            services_of(request), token, href, collection, item_id, key, seconds
        )
    rights = await require_downloadable(request, collection, item_id)
    return hrefs.grant(rights, href, collection, item_id, key, seconds)


async def signed(
    request: Request, collection: str, item_id: str, key: str, via: str, **options: Any
) -> tuple[str, Grant | None]:
    grant = await grant_for(request, collection, item_id, key, **options)
    if isinstance(grant, str):
        return grant, None
    services = services_of(request)
    await record_signatures(services.database, [grant], via)
    return services.hrefs.signed_url(get_base_url(request), grant), grant


async def get_item_asset(
    request: Request,
    collection_id: str,
    item_id: str,
    asset_key: str,
    token: Annotated[str | None, Query(description="A token from GET /token/{collection}")] = None,
    duration: Duration = None,
) -> Response:
    """Redirects (307) to a signed URL of the asset for a caller who may download it."""
    url, _grant = await signed(
        request, collection_id, item_id, asset_key, "redirect", token=token, seconds=duration
    )
    return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})


class SignedHref(BaseModel):
    href: str
    expiry: str | None = Field(
        default=None, alias="msft:expiry", description="When the signature expires"
    )
    expires: str | None = Field(default=None, alias="dinamis:expires")


async def sign(
    request: Request,
    href: Annotated[
        str, Query(max_length=4000, description="An asset href from an item of this API")
    ],
    duration: Duration = None,
) -> SignedHref:
    """A signed URL for an asset href (the Planetary Computer's `sign` shape)."""
    parts = urlsplit(href)
    found = ITEM_ASSET.search(parts.path)
    if found:
        collection, item_id, key = (unquote(g) for g in found.groups())
    else:
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        if f"/{ASSETS_PATH}/" not in parts.path or not {"col", "item", "asset"} <= query.keys():
            raise InvalidRequest(
                _(
                    "`href` doit être le href d'un asset de cette API : "
                    "…/collections/{c}/items/{id}/assets/{key}"
                )
            )
        collection, item_id, key = (unquote(query[k]) for k in ("col", "item", "asset"))
    url, grant = await signed(request, collection, item_id, key, "sign", seconds=duration)
    expiry = grant.expiry if grant else None
    return SignedHref.model_validate(
        {"href": url, "msft:expiry": expiry, "dinamis:expires": expiry}
    )


class CollectionToken(BaseModel):
    token: str
    expiry: str = Field(alias="msft:expiry")
    expires: str = Field(alias="dinamis:expires")


async def collection_token(
    request: Request, services: ServicesDep, collection_id: str, duration: Duration = None
) -> CollectionToken:
    """A token granting the collection's data assets (append `?token=…` to their
    `…/items/{id}/assets/{key}` hrefs); only for callers who may download every item."""
    rights = await get_rights(request)
    async with services.database.read() as conn:
        if not await conn.fetchval(
            "SELECT true FROM pgstac.collections WHERE id = $1", collection_id
        ):
            raise NotFound(
                _("La collection %(collection)s n'existe pas.", collection=collection_id)
            )
    if not rights.whole(collection_id):
        refuse(
            rights.verdict(collection_id) or "",
            _(
                "Vos droits sur cette collection dépendent de chaque item (votre mission) : "
                "signez chaque asset avec GET /sign?href=… ."
            ),
        )
    hrefs = services.hrefs
    identity = rights.identity
    account, entity = (identity.account_id, identity.entity_id) if identity else (None, None)
    expires = hrefs.signer.expires(duration)
    token = hrefs.signer.token(collection_id, account, entity, expires)
    grant = Grant("", collection_id, "*", "*", account, entity, expires)
    await record_signatures(services.database, [grant], "token")
    return CollectionToken.model_validate(
        {"token": token, "msft:expiry": grant.expiry, "dinamis:expires": grant.expiry}
    )


Instructor = Annotated[Any, Depends(require_role("instructor", "admin"))]


async def audit_rows(
    database: Database,
    table: str,
    time_column: str,
    account: int | None,
    collection: str | None,
    item: str | None,
    since: datetime | None,
    limit: int,
) -> list[dict[str, Any]]:
    async with database.read() as conn:
        rows = await conn.fetch(
            f"""
            SELECT * FROM dinamis.{table}
            WHERE ($1::int IS NULL OR account_id = $1) AND ($2::text IS NULL OR collection = $2)
              AND ($3::text IS NULL OR item = $3) AND ($4::timestamptz IS NULL OR {time_column} >= $4)
            ORDER BY {time_column} DESC LIMIT $5
            """,  # noqa: S608 - table and column names are this module's constants
            account,
            collection,
            item,
            since,
            limit,
        )
    return [
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
        for row in rows
    ]


async def signatures(
    services: ServicesDep,
    _: Instructor,
    account: int | None = None,
    collection: str | None = None,
    item: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Signatures issued, newest first (instructors)."""
    return await audit_rows(
        services.database, "signatures", "at", account, collection, item, since, limit
    )


async def downloads(
    services: ServicesDep,
    _: Instructor,
    account: int | None = None,
    collection: str | None = None,
    item: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Downloads served, one row per signed URL used, with its requests and bytes (instructors)."""
    return await audit_rows(
        services.database, "downloads", "last_at", account, collection, item, since, limit
    )


@attr.s
class AssetsExtension(ApiExtension):
    """Serves asset files through signed URLs, and signs them."""

    # Product-specific routes: no STAC conformance class to declare.
    conformance_classes: list[str] = attr.ib(factory=list)
    schema_href: str | None = attr.ib(default=None)

    def register(self, app: FastAPI) -> None:
        router = APIRouter(prefix=app.state.router_prefix, tags=["Assets and access"])
        router.add_api_route(
            f"/{ASSETS_PATH}/{{path:path}}",
            get_asset,
            methods=["GET", "HEAD"],
            name="Get asset file",
            response_class=FileResponse,
            responses={
                200: {"description": "The file, or the requested byte ranges (206)."},
                307: {"description": "S3 storage: to a presigned GET."},
                401: {"description": "Not a signed URL."},
                403: {"description": "Altered or expired signature."},
                404: {"description": "No such asset."},
            },
        )
        router.add_api_route(
            "/collections/{collection_id}/items/{item_id}/assets/{asset_key}",
            get_item_asset,
            methods=["GET"],
            name="Download an item's asset",
            response_class=RedirectResponse,
            responses={307: {"description": "To a signed URL"}, 401: {}, 403: {}, 404: {}},
        )
        router.add_api_route(
            "/sign", sign, methods=["GET"], name="Sign an asset href", response_model=SignedHref
        )
        router.add_api_route(
            "/token/{collection_id}",
            collection_token,
            methods=["GET"],
            name="Token for a collection",
            response_model=CollectionToken,
        )
        router.add_api_route(
            "/access/signatures", signatures, methods=["GET"], name="Signatures issued"
        )
        router.add_api_route(
            "/access/downloads", downloads, methods=["GET"], name="Downloads served"
        )
        app.include_router(router)
