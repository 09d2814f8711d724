"""What a plan gives: a page of results, or the counts of the aggregation extension.

- The items held here: a page from pgstac's `search()` with its exact count beside it
  (extensions.facets), each item presented for the caller (`dinamis:access` and asset hrefs)
  and the signatures issued audited.
- The commandable ones: the Airbus archive's pages (extensions.federation), after the held
  items, with tokens that carry on from one to the other. It is never waited for before the
  held items are done: while they page, it is only asked for its count, beside the held
  page, and a page it cannot count is still served.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson
from hydraters import hydrate
from stac_fastapi.pgstac.models.links import ItemLinks, PagingLinks
from stac_fastapi.types.requests import get_base_url
from starlette.requests import Request

from extensions import facets
from extensions.access import ACCESS, DOWNLOADABLE, OUTSIDE_MISSION, Rights, decide, get_rights
from extensions.assets.hrefs import record_signatures
from extensions.errors import InvalidSearch
from extensions.federation.search import Cursor, page_links
from extensions.observability import timed
from extensions.search.plan import SearchPlan
from extensions.tiles import add_web_maps

if TYPE_CHECKING:
    from stac_fastapi.pgstac.types.search import PgstacSearch

    from extensions.database import Database
    from extensions.services import Services

ACCESS_PROPERTY = f"properties.{ACCESS}"
# What a search carries that does not decide which items match: its page, its shape, the
# terms of the aggregation extension's request models, and our own terms (the plan reads
# them before pgstac does).
NOT_MATCHING = {
    *("limit", "token", "sortby", "fields", "conf"),
    *("aggregations", "datetime_frequency_interval"),
    *("product_type", "downloadable", "place"),
}


def matching_terms(search: PgstacSearch) -> dict[str, Any]:
    """The search as pgstac reads it, without what only shapes the page."""
    body = search.model_dump(mode="json", exclude_none=True, by_alias=True)
    return {k: v for k, v in body.items() if k not in NOT_MATCHING}


async def count(database: Database, search: PgstacSearch, grouped: bool) -> facets.Counts:
    """Exact counts of the items held here that the search matches (what pgstac's SQL
    refuses in a search is a 400 of stac_api/errors.py, as for a page)."""
    async with database.read() as conn:
        return await facets.count(
            conn, matching_terms(search), search.start_date, search.end_date, grouped=grouped
        )


async def base_items(conn: asyncpg.Connection, features: list[dict[str, Any]]) -> dict[str, Any]:
    """The base item of each collection of a page: what pgstac strips from its items."""
    names = sorted({f["collection"] for f in features if isinstance(f.get("collection"), str)})
    rows = await conn.fetch(
        "SELECT id, base_item FROM pgstac.collections WHERE id = ANY($1::text[])", names
    )
    return {r["id"]: {k: v for k, v in r["base_item"].items() if v is not None} for r in rows}


async def pgstac_page(database: Database, search: PgstacSearch, request: Request) -> dict[str, Any]:
    """One page of pgstac's `search()`, with the item and paging links stac-fastapi-pgstac
    gives. Its items are hydrated here (stac-fastapi-pgstac's `use_api_hydrate`): pgstac's
    own hydration, in PL/pgSQL, costs some 2 ms an item, most of a 50-item page's time. A
    page shaped by the fields extension is left to pgstac, whose include and exclude keep
    the fields an item must have (stac-api-validator checks them)."""
    body = search.model_dump(mode="json", exclude_none=True, by_alias=True)
    fields = getattr(search, "fields", None)
    exclude = fields.exclude if fields and fields.exclude else set()
    hydrated_here = not (fields and (fields.include or fields.exclude))
    if hydrated_here:
        body["conf"] = {**(body.get("conf") or {}), "nohydrate": True}
    async with database.read() as conn:
        page: dict[str, Any] = await conn.fetchval(
            "SELECT * FROM search($1::text::jsonb)", orjson.dumps(body).decode()
        )
        bases = await base_items(conn, page.get("features") or []) if hydrated_here else {}
    tokens = {"next": page.pop("next", None), "prev": page.pop("prev", None)}
    for link in page.get("links", []):
        if link.get("rel") in tokens:
            tokens[link["rel"]] = link["href"].split(f"token={link['rel']}:")[1]
    features = []
    for feature in page.get("features") or []:
        collection, item = feature.get("collection"), feature.get("id")
        if hydrated_here:
            feature = hydrate(bases.get(collection, {}), feature, strip_unmatched_markers=True)
        if not exclude or ("links" not in exclude and collection and item):
            feature["links"] = await ItemLinks(
                collection_id=collection, item_id=item, request=request
            ).get_links(extra_links=feature.get("links"))
        features.append(feature)
    page["features"] = features
    page["links"] = await PagingLinks(
        request=request, next=tokens["next"], prev=tokens["prev"]
    ).get_links()
    return page


def wants_access(search: PgstacSearch) -> bool:
    """Whether `dinamis:access` belongs in the response's properties (`fields` may leave it
    out: then only asset hrefs are adapted)."""
    fields = getattr(search, "fields", None)
    if fields is None:
        return True
    include, exclude = fields.include or set(), fields.exclude or set()
    if {ACCESS_PROPERTY, "properties"} & exclude:
        return False
    return not include or bool({ACCESS_PROPERTY, "properties"} & include)


async def present(
    services: Services,
    features: list[dict[str, Any]],
    request: Request,
    rights: Rights,
    with_access: bool,
) -> None:
    """Each item's `dinamis:access` and asset hrefs for this caller; the signatures issued
    are audited."""
    keys = [
        (f["collection"], f["id"])
        for f in features
        if isinstance(f.get("collection"), str) and isinstance(f.get("id"), str)
    ]
    verdicts = await decide(services.database, rights, keys)
    base_url = get_base_url(request)
    grants = []
    for feature in features:
        key = (feature.get("collection"), feature.get("id"))
        verdict = verdicts.get(key) or rights.verdict(str(key[0])) or OUTSIDE_MISSION  # type: ignore[arg-type]
        grants += services.hrefs.present(feature, base_url, verdict, rights)
        if verdict == DOWNLOADABLE and "links" in feature:  # its tiles: web-map links
            add_web_maps(feature, base_url)
        if not with_access:
            feature.get("properties", {}).pop(ACCESS, None)
    await record_signatures(services.database, grants, "item")


async def held_page(
    services: Services, search: PgstacSearch, request: Request, counted: bool = True
) -> dict[str, Any]:
    """A page of the items held here, with its exact count (`counted`) computed beside it,
    presented for the caller."""
    database = services.database
    rights = await get_rights(request)
    if counted:
        page, counts = await asyncio.gather(
            pgstac_page(database, search, request),
            count(database, search, grouped=False),
            return_exceptions=True,
        )
        if isinstance(page, BaseException):  # the page's error first: it says more
            raise page
        if isinstance(counts, BaseException):
            raise counts
        page["numberMatched"] = counts.total
    else:
        page = await pgstac_page(database, search, request)
    await present(services, page.get("features", []), request, rights, wants_access(search))
    return page


@timed("search")
async def search_page(
    services: Services, plan: SearchPlan, request: Request, counted: bool = True
) -> dict[str, Any]:
    """The page the plan asks for; `counted`: with its exact `numberMatched`."""
    if plan.airbus_cursor is not None:
        assert plan.airbus is not None
        page = await services.federation.page(request, plan.airbus, plan.airbus_cursor)
        if plan.held is not None and counted:  # both archives, as /aggregate counts
            counts = await count(services.database, plan.held, grouped=False)
            page["numberMatched"] += counts.total
        return page
    assert plan.held is not None
    upstream = None
    if plan.airbus is not None and counted:
        with contextlib.suppress(InvalidSearch):  # a filter the archive cannot take
            upstream = services.federation.total(plan.airbus)
    if upstream is None:
        page = await held_page(services, plan.held, request, counted)
    else:  # side by side; the held items are served even when Airbus cannot count
        page, total = await asyncio.gather(
            held_page(services, plan.held, request), upstream, return_exceptions=True
        )
        if isinstance(page, BaseException):
            raise page
        if isinstance(total, int):
            page["numberMatched"] += total
    done = not any(link.get("rel") == "next" for link in page.get("links", []))
    if plan.airbus is not None and done:
        # The held items are done: the next page is the Airbus archive's first.
        first = Cursor().token()
        page["links"] = [*page.get("links", []), *page_links(request, first, None)[2:]]
    return page


@timed("aggregate")
async def count_plan(
    services: Services, plan: SearchPlan, grouped: bool = True
) -> tuple[facets.Counts, int]:
    """Exact counts of the held items the plan matches (by collection × platform × month ×
    cloud-cover class when `grouped`), and the Airbus archive's count."""
    upstream = await services.federation.total(plan.airbus) if plan.airbus is not None else 0
    counts = facets.Counts([])
    if plan.held is not None:
        counts = await count(services.database, plan.held, grouped)
    return counts, upstream
