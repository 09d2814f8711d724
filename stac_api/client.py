"""The core client: stac-fastapi-pgstac's, plus what a STAC client of this product expects.

- each item says whether the caller may download it (`dinamis:access`), and its asset hrefs
  are presented for that caller (extensions.assets.hrefs): signed data URLs for those who
  may, no storage location for the others; `downloadable=true` keeps only the items the
  caller may download, by adding the caller's rights to the search's CQL2 filter;
- a search naming a collection that does not exist is a clear 400, not an empty page;
- responses of item searches are `application/geo+json` also when `fields` is used;
- GET `fields` follows the same semantics as POST (stac_api.fields), `fields=` included;
- GET filters are validated like POST ones (stac_api.search), once per distinct filter;
- collection links carry titles, as STAC best practices ask;
- `numberMatched` is exact on every page, counted by extensions.facets alongside the search
  (pgstac's own count is turned off: it estimates large results);
- `place` (a commune, department, region, territory or country) becomes the search's area.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import unquote_plus

import orjson
from asyncpg.exceptions import DataError, InvalidDatetimeFormatError, RaiseError
from fastapi import Request
from pydantic import ValidationError
from stac_fastapi.api.models import GeoJSONResponse, JSONResponse
from stac_fastapi.pgstac.core import CoreCrudClient, clean_search_args
from stac_fastapi.types.errors import InvalidQueryParameter
from stac_fastapi.types.requests import get_base_url
from stac_fastapi.types.stac import ItemCollection

from extensions import facets
from extensions.access import ACCESS, OUTSIDE_MISSION, Rights, decide, get_rights
from extensions.assets import AssetHrefs, record_signatures
from extensions.errors import InvalidSearch
from extensions.federation.search import (
    PWH,
    TOKEN,
    Federation,
    ProductType,
    page_links,
    product_type,
)
from extensions.federation.stac import COLLECTION
from extensions.places import resolve_place
from stac_api.fields import fields_from_query
from stac_api.search import validated_filter

ACCESS_PROPERTY = f"properties.{ACCESS}"
SIMULATED = "SIMULATED: no Airbus key on this server, the archive is a local stand-in."


def as_geojson(result: Any) -> Any:
    """stac-fastapi-pgstac answers `fields` searches with a plain JSONResponse; an item
    collection is GeoJSON whatever fields it carries."""
    if isinstance(result, JSONResponse) and not isinstance(result, GeoJSONResponse):
        result.headers["content-type"] = GeoJSONResponse.media_type
    return result


LINK_TITLES = {
    "self": "This collection",
    "root": "DINAMIS STAC",
    "parent": "DINAMIS STAC",
    "items": "Items of this collection",
    "http://www.opengis.net/def/rel/ogc/1.0/queryables": "Queryables of this collection",
}


def title_links(collection: dict[str, Any]) -> None:
    for link in collection.get("links", []):
        if "title" not in link and link.get("rel") in LINK_TITLES:
            link["title"] = LINK_TITLES[link["rel"]]


def say_if_simulated(collection: dict[str, Any], request: Request) -> None:
    """The Airbus archive served by the simulator says so."""
    federation = getattr(request.app.state, "federation", None)
    if collection.get("id") == COLLECTION and federation and federation.client.settings.simulated:
        collection["dinamis:simulated"] = True
        collection["description"] = f"{SIMULATED} {collection.get('description', '')}"


def check_json_parameters(**parameters: str | None) -> None:
    """GET parameters that carry JSON must parse, or the client is told which one is wrong."""
    for name, value in parameters.items():
        if value is None:
            continue
        try:
            orjson.loads(unquote_plus(value))
        except orjson.JSONDecodeError as exc:
            raise InvalidSearch(f"`{name}` must be JSON ({exc}): {value[:80]!r}") from exc


def query_fields(request: Request, fields: list[str] | None) -> list[str] | None:
    """`fields=` (present but empty) asks for the default set, not for the full item."""
    if fields is None and request.query_params.get("fields", None) == "":
        return []
    return fields


def downloadable_only(search_request: Any, request: Request) -> bool:
    """`downloadable=true` in a POST body or GET query."""
    value = getattr(search_request, "downloadable", None)
    if value is not None:
        return bool(value)
    raw = request.query_params.get("downloadable")
    if raw is None or raw.lower() in ("false", "0", "no", ""):
        return False
    if raw.lower() in ("true", "1", "yes"):
        return True
    raise InvalidSearch(f"`downloadable` must be true or false, not {raw!r}")


def restrict(search_request: Any, rights: Rights) -> None:
    """And the caller's rights into the search's filter: the database does the work."""
    allowed = rights.cql2()
    if allowed is True:
        return
    if allowed is False:
        allowed = {"op": "isNull", "args": [{"property": "id"}]}  # no item matches
    current = search_request.filter_expr
    search_request.filter_expr = {"op": "and", "args": [current, allowed]} if current else allowed
    search_request.filter_lang = "cql2-json"


def wants_access(search_request: Any) -> bool:
    """Whether `dinamis:access` belongs in the response's properties (`fields` may leave it
    out: then only asset hrefs are adapted)."""
    fields = getattr(search_request, "fields", None)
    if fields is None:
        return True
    include, exclude = fields.include or set(), fields.exclude or set()
    if {ACCESS_PROPERTY, "properties"} & exclude:
        return False
    return not include or bool({ACCESS_PROPERTY, "properties"} & include)


async def present(
    features: list[dict[str, Any]], request: Request, rights: Rights, with_access: bool
) -> None:
    """Each item's `dinamis:access` and asset hrefs for this caller; the signatures issued
    are audited."""
    keys = [
        (f["collection"], f["id"])
        for f in features
        if isinstance(f.get("collection"), str) and isinstance(f.get("id"), str)
    ]
    verdicts = await decide(request, rights, keys)
    hrefs: AssetHrefs = request.app.state.asset_hrefs
    base_url = get_base_url(request)
    grants = []
    for feature in features:
        key = (feature.get("collection"), feature.get("id"))
        verdict = verdicts.get(key) or rights.verdict(str(key[0])) or OUTSIDE_MISSION  # type: ignore[arg-type]
        grants += hrefs.present(feature, base_url, verdict, rights)
        if not with_access:
            feature.get("properties", {}).pop(ACCESS, None)
    await record_signatures(request, grants, "item")


# What a search request carries that does not decide which items match: its page, its shape,
# and our own terms, which are applied before pgstac reads the search.
NOT_MATCHING = {
    *("limit", "token", "sortby", "fields", "conf"),
    *("product_type", "downloadable", "place", "aggregations", "datetime_frequency_interval"),
}


def matching_terms(search_request: Any) -> dict[str, Any]:
    """The search as pgstac reads it, without what only shapes the page."""
    body = search_request.model_dump(mode="json", exclude_none=True, by_alias=True)
    return {k: v for k, v in body.items() if k not in NOT_MATCHING}


def commandable_only(kind: ProductType, collections: set[str]) -> bool:
    return kind == "commandable" or collections == {COLLECTION}


def with_commandable(kind: ProductType, collections: set[str]) -> bool:
    return kind == "all" or COLLECTION in collections


def hold(search_request: Any, kind: ProductType, collections: set[str]) -> None:
    """Narrow the search's collections to those held here."""
    if kind == "pwh":
        search_request.collections = [PWH]
    elif COLLECTION in collections:
        search_request.collections = sorted(collections - {COLLECTION})


def airbus(request: Request) -> Federation:
    federation: Federation | None = getattr(request.app.state, "federation", None)
    if federation is None:
        raise InvalidSearch("The Airbus archive is not available on this server.")
    return federation


async def scope(search_request: Any, request: Request) -> tuple[ProductType, set[str]]:
    """Our own terms: `place` becomes the area; the product type and collections say which
    archives the search covers."""
    await apply_place(search_request, request)
    kind = product_type(search_request, request)
    if hasattr(search_request, "product_type"):
        search_request.product_type = None  # ours, not pgstac's
    return kind, set(search_request.collections or [])


async def only_downloadable(
    search_request: Any, request: Request, rights: Rights | None = None
) -> None:
    """`downloadable=true`: the caller's rights are and-ed into the search's filter."""
    if downloadable_only(search_request, request):
        restrict(search_request, rights or await get_rights(request))
    if hasattr(search_request, "downloadable"):
        search_request.downloadable = None  # ours, not pgstac's


async def count_matches(search_request: Any, request: Request, grouped: bool) -> facets.Counts:
    """Exact counts of the items held here that the search matches."""
    try:
        async with request.app.state.get_connection(request, "r") as conn:
            return await facets.count(
                conn,
                matching_terms(search_request),
                search_request.start_date,
                search_request.end_date,
                grouped=grouped,
            )
    except InvalidDatetimeFormatError as exc:
        raise InvalidSearch(f"Invalid date or time: {exc}") from exc
    except (DataError, RaiseError) as exc:  # what pgstac's SQL refuses in a search
        raise InvalidSearch(f"Invalid search: {exc}") from exc


async def apply_place(search_request: Any, request: Request) -> None:
    """`place` (POST body or GET query) becomes the search's `intersects`."""
    place = getattr(search_request, "place", None) or request.query_params.get("place")
    if hasattr(search_request, "place"):
        search_request.place = None  # ours, not pgstac's
    if not place:
        return
    if search_request.bbox is not None or search_request.intersects is not None:
        raise InvalidSearch("Give one area: `place`, `bbox` or `intersects`, not several.")
    async with request.app.state.get_connection(request, "r") as conn:
        geometry = await resolve_place(conn, place)
    search_request.intersects = geometry


class DinamisClient(CoreCrudClient):
    """Core endpoints over pgstac, and the federated Airbus archive (extensions.federation)."""

    async def _search_base(self, search_request: Any, request: Request) -> ItemCollection:
        kind, collections = await scope(search_request, request)
        token = str(getattr(search_request, "token", None) or "")
        # Both archives (`all`): numberMatched counts both, as /aggregate does.
        both = with_commandable(kind, collections) and not commandable_only(kind, collections)
        if commandable_only(kind, collections) or token.startswith(TOKEN):
            page = await airbus(request).page(
                request,
                search_request,
                int(token.removeprefix(TOKEN))
                if token.startswith(TOKEN) and token[len(TOKEN) :].isdigit()
                else 1,
            )
            if both:
                hold(search_request, kind, collections)
                await only_downloadable(search_request, request)
                held_count = await count_matches(search_request, request, grouped=False)
                page["numberMatched"] += held_count.total
            return page  # type: ignore[return-value]
        federation = getattr(request.app.state, "federation", None)
        upstream = None
        if both and federation is not None:
            with contextlib.suppress(InvalidSearch):  # a filter the archive cannot take
                upstream = federation.total(search_request)
        hold(search_request, kind, collections)
        if upstream is None:
            held = await self._held(search_request, request)
        else:  # side by side; the held items are served even when Airbus cannot count
            held, count = await asyncio.gather(
                self._held(search_request, request), upstream, return_exceptions=True
            )
            if isinstance(held, BaseException):
                raise held
            if isinstance(count, int):
                held["numberMatched"] += count
        held_done = not any(link.get("rel") == "next" for link in held.get("links", []))
        if both and federation is not None and held_done:
            # The held items are done: the next page is the Airbus archive's first.
            following = page_links(request, search_request, f"{TOKEN}1", None)[2:]
            held["links"] = [*held.get("links", []), *following]
        return held

    async def _held(self, search_request: Any, request: Request) -> ItemCollection:
        """A search of the items held here."""
        rights = await get_rights(request)
        await only_downloadable(search_request, request, rights)
        # The page and its exact count, side by side.
        page: Any
        counts: facets.Counts | BaseException
        page, counts = await asyncio.gather(
            super()._search_base(search_request, request),
            count_matches(search_request, request, grouped=False),
            return_exceptions=True,
        )
        if isinstance(page, InvalidQueryParameter):
            # pgstac reports any bad timestamp as a bad `datetime`, also one inside a filter.
            if isinstance(page.__cause__, InvalidDatetimeFormatError):
                raise InvalidQueryParameter(f"Invalid date or time: {page.__cause__}") from page
            raise page
        if isinstance(page, BaseException):
            raise page
        if isinstance(counts, BaseException):
            raise counts
        item_collection = page
        item_collection["numberMatched"] = counts.total
        features = list(item_collection.get("features", []))
        await present(features, request, rights, wants_access(search_request))
        return item_collection

    async def get_collection(self, collection_id: str, request: Request, **kwargs: Any) -> Any:
        collection = await super().get_collection(collection_id, request, **kwargs)
        title_links(collection)
        say_if_simulated(collection, request)
        return collection

    async def all_collections(self, request: Request, **kwargs: Any) -> Any:
        collections = await super().all_collections(request, **kwargs)
        if isinstance(collections, dict):
            for collection in collections.get("collections", []):
                title_links(collection)
                say_if_simulated(collection, request)
        return collections

    async def _check_collections(self, request: Request, collections: list[str] | None) -> None:
        if not collections:
            return
        async with request.app.state.get_connection(request, "r") as conn:
            known = await conn.fetch(
                "SELECT id FROM pgstac.collections WHERE id = ANY($1::text[])", collections
            )
        if missing := sorted(set(collections) - {row["id"] for row in known}):
            raise InvalidSearch(
                f"Unknown collection(s): {', '.join(missing)}. "
                "GET /collections lists the available ones."
            )

    def _clean_search_args(
        self,
        base_args: dict[str, Any],
        fields: list[str] | None = None,
        filter_query: str | None = None,
        filter_lang: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """GET parameters as a pgstac search: our fields semantics and filter validation."""
        clean = clean_search_args(base_args, **kwargs)
        if fields is not None:
            clean["fields"] = fields_from_query(fields)
        if filter_query:
            clean.update(validated_filter(filter_query, filter_lang or "cql2-text"))
        return clean

    async def post_search(self, search_request: Any, request: Request, **kwargs: Any) -> Any:
        await self._check_collections(request, search_request.collections)
        return as_geojson(await super().post_search(search_request, request, **kwargs))

    def search_from_query(
        self,
        request: Request,
        collections: list[str] | None = None,
        ids: list[str] | None = None,
        bbox: list[float] | None = None,
        limit: int | None = None,
        token: str | None = None,
        query: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """A GET search's parameters as the search model, as stac-fastapi-pgstac reads them."""
        check_json_parameters(intersects=kwargs.get("intersects"), query=query)
        kwargs["fields"] = query_fields(request, kwargs.get("fields"))
        base_args = {
            "collections": collections,
            "ids": ids,
            "bbox": bbox,
            "limit": limit,
            "token": token,
            "query": orjson.loads(unquote_plus(query)) if query else None,
        }
        filter_query = kwargs.pop("filter_expr", None)
        clean = self._clean_search_args(base_args, filter_query=filter_query, **kwargs)
        try:
            return self.pgstac_search_model(**clean)
        except ValidationError as exc:
            raise InvalidSearch(f"Invalid parameters: {exc}") from exc

    async def get_search(
        self, request: Request, collections: list[str] | None = None, **kwargs: Any
    ) -> Any:
        check_json_parameters(intersects=kwargs.get("intersects"), query=kwargs.get("query"))
        await self._check_collections(request, collections)
        kwargs["fields"] = query_fields(request, kwargs.get("fields"))
        return as_geojson(await super().get_search(request, collections=collections, **kwargs))

    async def item_collection(self, collection_id: str, request: Request, **kwargs: Any) -> Any:
        check_json_parameters(query=kwargs.get("query"))
        kwargs["fields"] = query_fields(request, kwargs.get("fields"))
        return as_geojson(await super().item_collection(collection_id, request, **kwargs))
