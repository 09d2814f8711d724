"""A search's DINAMIS terms, read once into an immutable plan.

A search or an aggregate may carry terms of ours besides STAC's: `product_type`
(downloadable, commandable, pwh, all), `place` (a name or id from /places), `downloadable`
(only what the caller may download), and paging tokens of the Airbus archive (`airbus:<n>`).
`plan_search` reads them once, from the POST body or the GET query, and says which archives
the search covers and how each engine reads it: pgstac the items held here, OneAtlas the
commandable ones. The request object is never changed: each archive gets its own copy.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from pydantic import TypeAdapter
from stac_pydantic.api.search import Intersection
from starlette.requests import Request

from extensions.access import Rights, get_rights
from extensions.errors import InvalidSearch
from extensions.federation.search import TOKEN
from extensions.federation.stac import COLLECTION
from extensions.places import resolve_place

if TYPE_CHECKING:
    from stac_fastapi.pgstac.types.search import PgstacSearch

    from extensions.database import Database
    from extensions.services import Services

ProductType = Literal["downloadable", "commandable", "pwh", "all"]
PRODUCT_TYPES: tuple[str, ...] = get_args(ProductType)
PWH = "pleiades-pwh"
OURS = ("product_type", "downloadable", "place")
"""Our fields of the POST search model, which pgstac does not know."""
GEOMETRY = TypeAdapter(Intersection)
NOTHING = {"op": "isNull", "args": [{"property": "id"}]}
"""A filter no item matches."""


@dataclass(frozen=True)
class SearchPlan:
    """Which archives a search covers, and the search each one runs."""

    kind: ProductType
    held: PgstacSearch | None
    """The items held here, as pgstac reads them: our terms out, `place` as `intersects`,
    the collections narrowed to those held here, and with `downloadable` the caller's rights
    and-ed into the filter. None: only the commandable archive is searched."""
    airbus: PgstacSearch | None
    """The Airbus archive's search (`place` as `intersects`). None: not searched."""
    airbus_page: int | None = None
    """The page of the Airbus archive asked for; None: the held items' page comes first."""
    rights: Rights | None = None
    """The caller's rights, when the plan depends on them (`downloadable`)."""

    @property
    def both(self) -> bool:
        """Both archives: the held items first, then the commandable ones."""
        return self.held is not None and self.airbus is not None


def product_type(value: str | None) -> ProductType:
    value = value or "downloadable"
    if value not in PRODUCT_TYPES:
        raise InvalidSearch(f"`product_type` is one of {', '.join(PRODUCT_TYPES)}, not {value!r}.")
    return cast(ProductType, value)


def downloadable_only(value: bool | None, raw: str | None) -> bool:
    """`downloadable=true` in a POST body (`value`) or a GET query (`raw`)."""
    if value is not None:
        return bool(value)
    if raw is None or raw.lower() in ("false", "0", "no", ""):
        return False
    if raw.lower() in ("true", "1", "yes"):
        return True
    raise InvalidSearch(f"`downloadable` must be true or false, not {raw!r}")


def restricted(search: PgstacSearch, rights: Rights) -> dict[str, Any]:
    """The search's filter and-ed with the caller's rights: the database does the work."""
    allowed = rights.cql2()
    if allowed is True:
        return {}
    allowed = NOTHING if allowed is False else allowed
    current = getattr(search, "filter_expr", None)
    combined = {"op": "and", "args": [current, allowed]} if current else allowed
    return {"filter_expr": combined, "filter_lang": "cql2-json"}


def airbus_page(token: str) -> int | None:
    if not token.startswith(TOKEN):
        return None
    number = token.removeprefix(TOKEN)
    return int(number) if number.isdigit() else 1


class KnownCollections:
    """The catalogue's collection ids, read again when a search names one not seen yet (a
    new collection is found at once; a deleted one is forgotten within `seconds`)."""

    def __init__(self, database: Database, seconds: float = 30.0) -> None:
        self.database = database
        self.seconds = seconds
        self.ids: frozenset[str] = frozenset()
        self.read_at = -math.inf

    async def check(self, collections: list[str] | None) -> None:
        """A search naming a collection that does not exist is a clear 400, not an empty
        page."""
        if not collections:
            return
        stale = time.monotonic() - self.read_at > self.seconds
        if stale or not self.ids.issuperset(collections):
            async with self.database.read() as conn:
                rows = await conn.fetch("SELECT id FROM pgstac.collections")
            self.ids, self.read_at = frozenset(row["id"] for row in rows), time.monotonic()
        if missing := sorted(set(collections) - self.ids):
            raise InvalidSearch(
                f"Unknown collection(s): {', '.join(missing)}. "
                "GET /collections lists the available ones."
            )


async def plan_search(
    search: PgstacSearch, request: Request, services: Services, check: bool = True
) -> SearchPlan:
    """The plan of a search (POST body or GET query, as the search model) for this caller;
    `check`: refuse unknown collections (a route that already checked its own says no)."""
    database = services.database
    query = request.query_params
    kind = product_type(getattr(search, "product_type", None) or query.get("product_type"))
    downloadable = downloadable_only(
        getattr(search, "downloadable", None), query.get("downloadable")
    )
    place = getattr(search, "place", None) or query.get("place")
    if check:
        await services.collections.check(search.collections)
    ours: dict[str, Any] = {name: None for name in OURS if name in type(search).model_fields}
    if place:
        if search.bbox is not None or search.intersects is not None:
            raise InvalidSearch("Give one area: `place`, `bbox` or `intersects`, not several.")
        async with database.read() as conn:
            ours["intersects"] = GEOMETRY.validate_python(await resolve_place(conn, place))
    searched = search.model_copy(update=ours) if ours else search

    collections = set(search.collections or [])
    commandable_only = kind == "commandable" or collections == {COLLECTION}
    page = airbus_page(str(search.token or ""))
    if commandable_only and page is None:
        page = 1
    airbus = (
        searched
        if commandable_only or kind == "all" or COLLECTION in collections or page is not None
        else None
    )
    if commandable_only:
        return SearchPlan(kind, None, airbus, page)

    narrowed: dict[str, Any] = {}
    if kind == "pwh":
        narrowed["collections"] = [PWH]
    elif COLLECTION in collections:
        narrowed["collections"] = sorted(collections - {COLLECTION})
    rights = None
    if downloadable:
        rights = await get_rights(request)
        narrowed.update(restricted(searched, rights))
    held = searched.model_copy(update=narrowed) if narrowed else searched
    return SearchPlan(kind, held, airbus, page, rights)
