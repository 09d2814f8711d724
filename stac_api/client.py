"""The core client: stac-fastapi-pgstac's, with the searches going through the search plan
(extensions.search), which covers both archives and presents each item for the caller.

Only the library's public methods are overridden:
- searches (`/search`, `/collections/{c}/items`, an item) are planned once and executed from
  the plan: exact `numberMatched`, each item's `dinamis:access` and asset hrefs for this
  caller, `product_type`, `place`, `downloadable` and the Airbus archive's pages;
- a search naming a collection that does not exist is a clear 400, not an empty page;
- item searches answer `application/geo+json` (also when `fields` is used), written from the
  database's JSON as it is (FastAPI's encoder would walk every value of every item again);
- GET `fields` follows the same semantics as POST (stac_api.fields), `fields=` included;
- `"conf": {"context": "off"}` (pgstac's switch) leaves out `numberMatched` and its count;
- GET filters are validated like POST ones (stac_api.search), once per distinct filter;
- collection links carry titles, as STAC best practices ask, and `license` links to the
  documents of the licences that grant downloads (from the plugins: the registry);
- the landing page links every API of the product (plugins' too) and its aggregate link
  lists the aggregations; a browser asking for HTML there gets the catalogue viewer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import orjson
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from stac_fastapi.api.models import GeoJSONResponse
from stac_fastapi.pgstac.core import CoreCrudClient, clean_search_args
from stac_fastapi.pgstac.models.links import ItemCollectionLinks, SearchLinks
from stac_fastapi.types.errors import NotFoundError
from stac_fastapi.types.requests import get_base_url

from extensions.errors import InvalidSearch, validation_message
from extensions.federation.stac import COLLECTION
from extensions.i18n import _
from extensions.search import plan_search, search_page
from extensions.services import services_of
from extensions.viewer import viewer_page, wants_viewer
from stac_api.aggregation import AVAILABLE as AVAILABLE_AGGREGATIONS
from stac_api.fields import fields_from_query
from stac_api.search import validated_filter

SIMULATED = "SIMULATED: no Airbus key on this server, the archive is a local stand-in."
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


def link_licences(collection: dict[str, Any], request: Request) -> None:
    """`license` links to the documents of the collection's licences."""
    codes = collection.get("dinamis:licences")
    if not isinstance(codes, list):
        return
    base_url = get_base_url(request)
    links = collection.setdefault("links", [])
    for plugin in services_of(request).plugins:
        links += plugin.licence_links(codes, base_url)


def product_links(request: Request) -> list[dict[str, Any]]:
    """The landing page's links to the product's own APIs, the plugins' included."""
    base_url = get_base_url(request)
    # stac-fastapi recognises the aggregation extension by its class name, not ours.
    links: list[dict[str, Any]] = [
        {
            "rel": "aggregate",
            "href": f"{base_url}aggregate",
            "type": "application/json",
            "title": "Counts of a search (GET or POST, /search's parameters)",
            "aggregations": list(AVAILABLE_AGGREGATIONS),
        },
        {
            "rel": "aggregations",
            "href": f"{base_url}aggregations",
            "type": "application/json",
            "title": "The aggregations available",
        },
        {
            "rel": "alternate",
            "href": f"{base_url}catalogue",
            "type": "text/html",
            "title": "Catalogue viewer (map, filters, basket)",
        },
        {
            "rel": "alternate",
            "href": f"{base_url}browser/",
            "type": "text/html",
            "title": "STAC Browser (Radiant Earth) on this catalogue",
        },
        {
            "rel": "places",
            "href": f"{base_url}places",
            "type": "application/json",
            "title": "Places (communes, departments, regions, territories): ?q=<name>",
        },
        {
            "rel": "geometries",
            "href": f"{base_url}geometries",
            "type": "application/json",
            "method": "POST",
            "title": "Read a geometry file (GeoJSON, KML, zipped shapefile) for `intersects`",
        },
        {
            "rel": "coverage",
            "href": f"{base_url}coverage",
            "type": "application/json",
            "method": "POST",
            "title": "The fewest scenes covering a zone",
        },
        {
            "rel": "xyz",
            "href": f"{base_url}footprints/{{z}}/{{x}}/{{y}}",
            "type": "application/vnd.mapbox-vector-tile",
            "title": "Footprints of the scenes a search finds (vector tiles, /search's parameters)",
        },
    ]
    for plugin in services_of(request).plugins:
        links += plugin.links(base_url)
    return links


def say_if_simulated(collection: dict[str, Any], request: Request) -> None:
    """The Airbus archive served by the simulator says so."""
    if collection.get("id") == COLLECTION and services_of(request).settings.oneatlas.simulated:
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
            raise InvalidSearch(
                _(
                    "`%(name)s` doit être du JSON (%(problem)s) : %(value)r",
                    name=name,
                    problem=exc,
                    value=value[:80],
                )
            ) from exc


def counted(search: Any) -> bool:
    """Whether the page carries `numberMatched`: pgstac's own switch, `"conf": {"context":
    "off"}`, spares the count to a client that has it already (the viewer, from
    `/aggregate`)."""
    conf = getattr(search, "conf", None) or {}
    return conf.get("context") != "off"


def shaped(search: Any) -> bool:
    """Whether `fields` shapes the items (they may then not be valid STAC items)."""
    fields = getattr(search, "fields", None)
    return bool(fields and (fields.include or fields.exclude))


class DinamisClient(CoreCrudClient):
    """Core endpoints over pgstac, searches through the search plan."""

    def search_from_query(
        self,
        request: Request,
        collections: list[str] | None = None,
        ids: list[str] | None = None,
        bbox: list[float] | None = None,
        limit: int | None = None,
        token: str | None = None,
        query: str | None = None,
        fields: list[str] | None = None,
        filter_expr: str | None = None,
        filter_lang: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """A GET search's parameters as the search model: the library's reading, with our
        `fields` semantics (`fields=` asks for the default set) and filter validation."""
        check_json_parameters(intersects=kwargs.get("intersects"), query=query)
        base_args = {
            "collections": collections,
            "ids": ids,
            "bbox": bbox,
            "limit": limit,
            "token": token,
            "query": orjson.loads(unquote_plus(query)) if query else None,
        }
        clean = clean_search_args(base_args, **kwargs)
        if fields is None and request.query_params.get("fields", None) == "":
            fields = []
        if fields is not None:
            clean["fields"] = fields_from_query(fields)
        if filter_expr:
            clean.update(validated_filter(filter_expr, filter_lang or "cql2-text"))
        try:
            return self.pgstac_search_model(**clean)
        except ValidationError as exc:
            raise InvalidSearch(validation_message(exc.errors())) from exc

    async def post_search(self, search_request: Any, request: Request, **kwargs: Any) -> Any:
        services = services_of(request)
        plan = await plan_search(search_request, request, services)
        page = await search_page(services, plan, request, counted=counted(search_request))
        if not shaped(search_request):
            page["links"] = await SearchLinks(request=request).get_links(extra_links=page["links"])
        return GeoJSONResponse(page)

    async def get_search(self, request: Request, **kwargs: Any) -> Any:
        services = services_of(request)
        search = self.search_from_query(request, **kwargs)
        plan = await plan_search(search, request, services)
        page = await search_page(services, plan, request)
        page["links"] = await SearchLinks(request=request).get_links(extra_links=page["links"])
        return GeoJSONResponse(page)

    async def item_collection(self, collection_id: str, request: Request, **kwargs: Any) -> Any:
        await self.get_collection(collection_id, request)  # 404 when unknown
        kwargs.pop("ids", None)
        services = services_of(request)
        search = self.search_from_query(request, collections=[collection_id], **kwargs)
        plan = await plan_search(search, request, services, check=False)
        page = await search_page(services, plan, request)
        page["links"] = await ItemCollectionLinks(
            collection_id=collection_id, request=request
        ).get_links(extra_links=page["links"])
        return GeoJSONResponse(page)

    async def get_item(
        self, item_id: str, collection_id: str, request: Request, **kwargs: Any
    ) -> Any:
        await self.get_collection(collection_id, request)  # 404 when unknown
        services = services_of(request)
        search = self.pgstac_search_model(ids=[item_id], collections=[collection_id], limit=1)
        plan = await plan_search(search, request, services, check=False)
        page = await search_page(services, plan, request, counted=False)
        if not page["features"]:
            raise NotFoundError(
                _(
                    "L'item %(item)s n'existe pas dans la collection %(collection)s.",
                    item=item_id,
                    collection=collection_id,
                )
            )
        return page["features"][0]

    async def landing_page(self, **kwargs: Any) -> Any:
        """The STAC landing page, or the catalogue viewer for a browser asking for HTML."""
        request: Request = kwargs["request"]
        if wants_viewer(request):
            return await viewer_page(request)
        landing = await super().landing_page(**kwargs)
        landing["links"] += product_links(request)
        return JSONResponse(jsonable_encoder(landing), headers={"Vary": "Accept"})

    async def get_collection(self, collection_id: str, request: Request, **kwargs: Any) -> Any:
        collection = await super().get_collection(collection_id, request, **kwargs)
        title_links(collection)
        link_licences(collection, request)
        say_if_simulated(collection, request)
        return collection

    async def all_collections(self, request: Request, **kwargs: Any) -> Any:
        if query := kwargs.get("query"):
            # stac-fastapi-pgstac reads it with orjson and lets a decode error through (a 500).
            try:
                orjson.loads(unquote_plus(query))
            except orjson.JSONDecodeError as exc:
                raise InvalidSearch(
                    _("`query` doit être un objet JSON : %(problem)s", problem=exc)
                ) from exc
        collections = await super().all_collections(request, **kwargs)
        if isinstance(collections, dict):
            for collection in collections.get("collections", []):
                title_links(collection)
                link_licences(collection, request)
                say_if_simulated(collection, request)
        return collections
