"""A search's DINAMIS terms, read once into an immutable plan.

A search or an aggregate may carry terms of ours besides STAC's: `product_type`
(downloadable, commandable, pwh, all), `place` (a name or id from /places), `downloadable`
(only what the caller may download), and paging tokens of the Airbus archive (`airbus:<n>`).
The three terms are also queryables (`SEARCH_QUERYABLES`): a CQL2 filter may compare them
with `=`, alone or and-ed at its top level, as generic clients (pystac-client, stac-browser)
can only say them. `plan_search` reads them once, from the POST body, the GET query or the
filter, and says which archives
the search covers and how each engine reads it: pgstac the items held here, OneAtlas the
commandable ones. The request object is never changed: each archive gets its own copy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from pydantic import TypeAdapter
from stac_pydantic.api.search import Intersection
from starlette.requests import Request

from extensions.access import Rights, get_rights
from extensions.errors import InvalidSearch
from extensions.federation.search import Cursor
from extensions.federation.stac import COLLECTION
from extensions.i18n import _
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
CORE_TERMS = frozenset(
    {"id", "collection", "geometry", "datetime", "start_datetime", "end_datetime"}
)
"""What pgstac filters and sorts on besides its queryables."""
SEARCH_QUERYABLES: dict[str, dict[str, Any]] = {
    "product_type": {
        "title": "Product type",
        "description": "Which archive: downloadable (held here, the default), commandable "
        "(the Airbus archive, to order), pwh (Pléiades PWH), all",
        "type": "string",
        "enum": list(PRODUCT_TYPES),
    },
    "place": {
        "title": "Place",
        "description": "A place name or id from /places (commune, department, region, "
        "territory, country): its outline becomes the search's area",
        "type": "string",
    },
    "downloadable": {
        "title": "Downloadable by the caller",
        "description": "true: only the items the caller may download",
        "type": "boolean",
    },
}
"""Our search terms as queryables (JSON Schema), listed by /queryables beside pgstac's."""


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
    airbus_cursor: Cursor | None = None
    """Where the page of the Airbus archive asked for starts; None: the held items' page
    comes first."""
    rights: Rights | None = None
    """The caller's rights, when the plan depends on them (`downloadable`)."""

    @property
    def both(self) -> bool:
        """Both archives: the held items first, then the commandable ones."""
        return self.held is not None and self.airbus is not None


def product_type(value: str | None) -> ProductType:
    value = value or "downloadable"
    if value not in PRODUCT_TYPES:
        raise InvalidSearch(
            _(
                "`product_type` vaut %(choices)s, pas %(value)r.",
                choices=", ".join(PRODUCT_TYPES),
                value=value,
            )
        )
    return cast(ProductType, value)


def downloadable_only(value: bool | None, raw: str | None) -> bool:
    """`downloadable=true` in a POST body (`value`) or a GET query (`raw`)."""
    if value is not None:
        return bool(value)
    if raw is None or raw.lower() in ("false", "0", "no", ""):
        return False
    if raw.lower() in ("true", "1", "yes"):
        return True
    raise InvalidSearch(not_boolean(raw))


def not_boolean(value: object) -> str:
    """That `downloadable` (a parameter or a term of the filter) is not a boolean."""
    return _("`downloadable` vaut true ou false, pas %(value)r.", value=value)


def lift_terms(cql2: Any) -> tuple[dict[str, Any], Any]:
    """Our terms compared with `=` in a CQL2-JSON filter, alone or and-ed at its top level,
    and the filter without them (None when nothing is left)."""
    parts = cql2["args"] if isinstance(cql2, dict) and cql2.get("op") == "and" else [cql2]
    terms: dict[str, Any] = {}
    rest = []
    for part in parts:
        term = equal_term(part)
        if term is None:
            rest.append(part)
            continue
        name, value = term
        if name in terms and terms[name] != value:
            raise InvalidSearch(
                _(
                    "Le filtre donne deux fois `%(name)s` : %(first)r et %(second)r.",
                    name=name,
                    first=terms[name],
                    second=value,
                )
            )
        terms[name] = value
    if misplaced := properties_of(rest) & set(SEARCH_QUERYABLES):
        raise InvalidSearch(
            _(
                "Le filtre ne peut comparer %(names)s qu'avec `=` à une valeur, seul ou en « and » "
                "avec le reste du filtre (pas dans or, not ou un autre opérateur).",
                names=", ".join(sorted(misplaced)),
            )
        )
    if not rest:
        return terms, None
    return terms, rest[0] if len(rest) == 1 else {"op": "and", "args": rest}


def equal_term(part: Any) -> tuple[str, Any] | None:
    """(name, value) of `<our term> = <value>`, else None."""
    if not isinstance(part, dict) or part.get("op") not in ("=", "eq"):
        return None
    args = part.get("args") or []
    if len(args) != 2:
        return None
    for prop, value in (args, args[::-1]):
        name = prop.get("property") if isinstance(prop, dict) else None
        if name in SEARCH_QUERYABLES and not isinstance(value, dict | list):
            return name, value
    return None


def merged(name: str, given: Any, filtered: Any) -> Any:
    """A term given both as a parameter and in the filter must say the same."""
    if filtered is None:
        return given
    if given is not None and str(given).lower() != str(filtered).lower():
        raise InvalidSearch(
            _(
                "`%(name)s` vaut %(given)r en paramètre mais %(filtered)r dans le filtre : "
                "donnez-en un.",
                name=name,
                given=given,
                filtered=filtered,
            )
        )
    return filtered


def restricted(search: PgstacSearch, rights: Rights) -> dict[str, Any]:
    """The search's filter and-ed with the caller's rights: the database does the work."""
    allowed = rights.cql2()
    if allowed is True:
        return {}
    allowed = NOTHING if allowed is False else allowed
    current = getattr(search, "filter_expr", None)
    combined = {"op": "and", "args": [current, allowed]} if current else allowed
    return {"filter_expr": combined, "filter_lang": "cql2-json"}


class KnownNames:
    """Names the catalogue declares (collection ids, queryables), read again when a request
    names one not seen yet: a new one is found at once, a removed one forgotten within
    `seconds`."""

    def __init__(self, database: Database, sql: str, seconds: float = 30.0) -> None:
        self.database = database
        self.sql = sql
        self.seconds = seconds
        self.names: frozenset[str] = frozenset()
        self.read_at = -math.inf

    async def missing(self, names: Iterable[str]) -> list[str]:
        """Those of `names` the catalogue does not declare."""
        wanted = set(names)
        if not wanted:
            return []
        stale = time.monotonic() - self.read_at > self.seconds
        if stale or not self.names.issuperset(wanted):
            async with self.database.read() as conn:
                rows = await conn.fetch(self.sql)
            self.names, self.read_at = frozenset(row[0] for row in rows), time.monotonic()
        return sorted(wanted - self.names)


def known_collections(database: Database) -> KnownNames:
    return KnownNames(database, "SELECT id FROM pgstac.collections")


def known_queryables(database: Database) -> KnownNames:
    return KnownNames(database, "SELECT name FROM pgstac.queryables")


def properties_of(cql2: Any) -> set[str]:
    """The properties a CQL2-JSON expression reads."""
    if isinstance(cql2, dict):
        if isinstance(cql2.get("property"), str):
            return {cql2["property"]}
        return set().union(*(properties_of(v) for v in cql2.values()))
    if isinstance(cql2, list):
        return set().union(*(properties_of(v) for v in cql2))
    return set()


def searched_terms(search: PgstacSearch) -> set[str]:
    """What a search filters or sorts on (`filter`, `query`, `sortby`), as queryable names."""
    terms = properties_of(getattr(search, "filter_expr", None))
    terms |= set(getattr(search, "query", None) or ())
    terms |= {sort.field for sort in getattr(search, "sortby", None) or ()}
    return {term.removeprefix("properties.") for term in terms} - CORE_TERMS


async def check_terms(search: PgstacSearch, services: Services, collections: bool) -> None:
    """Refuse unknown collections (a clear 400, not an empty page), and filters or sorts on
    anything but the declared queryables: a filter on `assets.data.href` would answer, one
    character at a time, where a file the caller may not download is stored."""
    if collections and (missing := await services.collections.missing(search.collections or [])):
        raise InvalidSearch(
            _(
                "Collection(s) inconnue(s) : %(names)s. GET /collections liste celles qui existent.",
                names=", ".join(missing),
            )
        )
    if unknown := await services.queryables.missing(searched_terms(search)):
        raise InvalidSearch(
            _(
                "Impossible de filtrer ou de trier sur %(names)s : seulement sur les queryables "
                "que liste GET /queryables.",
                names=", ".join(unknown),
            )
        )


async def plan_search(
    search: PgstacSearch, request: Request, services: Services, check: bool = True
) -> SearchPlan:
    """The plan of a search (POST body or GET query, as the search model) for this caller;
    `check`: refuse unknown collections (a route that already checked its own says no)."""
    database = services.database
    query = request.query_params
    filtered: dict[str, Any] = {}
    if (cql2 := getattr(search, "filter_expr", None)) is not None:
        filtered, rest = lift_terms(cql2)
        if filtered:  # the rest of the filter is what pgstac reads, and what is checked
            lang = "cql2-json" if rest else None
            search = search.model_copy(update={"filter_expr": rest, "filter_lang": lang})
    kind = product_type(
        merged(
            "product_type",
            getattr(search, "product_type", None) or query.get("product_type"),
            filtered.get("product_type"),
        )
    )
    given, raw = getattr(search, "downloadable", None), query.get("downloadable")
    if "downloadable" in filtered and not isinstance(filtered["downloadable"], bool):
        raise InvalidSearch(not_boolean(filtered["downloadable"]))
    parameter = None if given is None and raw is None else downloadable_only(given, raw)
    downloadable = bool(merged("downloadable", parameter, filtered.get("downloadable")))
    place = merged(
        "place", getattr(search, "place", None) or query.get("place"), filtered.get("place")
    )
    await check_terms(search, services, collections=check)
    ours: dict[str, Any] = {name: None for name in OURS if name in type(search).model_fields}
    if place:
        if search.bbox is not None or search.intersects is not None:
            raise InvalidSearch(
                _("Donnez une seule zone : `place`, `bbox` ou `intersects`, pas plusieurs.")
            )
        async with database.read() as conn:
            ours["intersects"] = GEOMETRY.validate_python(await resolve_place(conn, place))
    searched = search.model_copy(update=ours) if ours else search

    collections = set(search.collections or [])
    commandable_only = kind == "commandable" or collections == {COLLECTION}
    cursor = Cursor.read(str(search.token or ""))
    if commandable_only and cursor is None:
        cursor = Cursor()
    airbus = (
        searched
        if commandable_only or kind == "all" or COLLECTION in collections or cursor is not None
        else None
    )
    if commandable_only:
        return SearchPlan(kind, None, airbus, cursor)

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
    return SearchPlan(kind, held, airbus, cursor, rights)
