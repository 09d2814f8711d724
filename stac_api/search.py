"""The item-search request model: pgstac's, made tolerant where the spec's clients differ and
strict where a silent default would mislead."""

# No `from __future__ import annotations`: FastAPI reads the annotations of the GET model's
# attrs-made __init__ at runtime, where postponed ones cannot be resolved.
import math
from functools import lru_cache
from typing import Annotated, Any

import attr
import orjson
from cql2 import Expr
from fastapi import Query
from pydantic import Field, model_validator
from stac_fastapi.pgstac.types.search import PgstacSearch
from stac_fastapi.types.search import BaseSearchGetRequest

from extensions.errors import InvalidSearch
from extensions.i18n import _
from extensions.search.plan import SEARCH_QUERYABLES, ProductType
from stac_api.fields import resolve_fields


def described(name: str) -> str:
    """A search term of ours, described as its queryable (POST field and GET parameter)."""
    return f"{SEARCH_QUERYABLES[name]['description']}. Also a queryable: `filter={name} = …`"


@lru_cache(maxsize=4096)
def cql2_problem(canonical: str) -> str | None:
    """Why a CQL2-JSON filter is invalid, or None.

    Full validation costs ~20 ms in the cql2 library (it compiles its JSON schema every time);
    clients repeat the same filters (a viewer's cloud slider, a script paging through one
    search), so each distinct filter is validated once per process.
    """
    try:
        Expr(orjson.loads(canonical)).validate()
    except Exception as exc:  # cql2 raises bare exceptions for validation errors
        return str(exc)
    return None


def validated_filter(cql2: Any, lang: str | None) -> dict[str, Any]:
    """The filter as valid CQL2-JSON, or InvalidSearch saying what is wrong with it.

    `cql2` is CQL2 text, CQL2-JSON as a dict, or (from a GET) CQL2-JSON as a string.
    """
    if isinstance(cql2, str) and lang == "cql2-json":
        try:
            cql2 = orjson.loads(cql2)
        except orjson.JSONDecodeError as exc:
            raise InvalidSearch(
                _("Filtre non valide : filter-lang vaut cql2-json : %(problem)s", problem=exc)
            ) from exc
    try:
        as_json = Expr(cql2).to_json()
    except Exception as exc:  # parse errors
        raise InvalidSearch(_("Filtre non valide : %(problem)s", problem=exc)) from exc
    if problem := cql2_problem(orjson.dumps(as_json, option=orjson.OPT_SORT_KEYS).decode()):
        raise InvalidSearch(_("Filtre non valide : %(problem)s", problem=problem))
    return {"filter": as_json, "filter-lang": "cql2-json"}


def non_finite(body: Any) -> str | None:
    """Where a body holds NaN or an infinity (Python's JSON reader takes `NaN` and reads
    `1e999` as infinity), or None: no count, query or answer can hold them. Walked without
    recursion: a body may nest deeper than Python's stack."""
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return where
        if isinstance(value, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
        elif isinstance(value, list | tuple):  # a GET bbox is a tuple (stac-fastapi's str2bbox)
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
    return None


class DinamisSearch(PgstacSearch):
    """POST /search body.

    - the body must be a JSON object (also when sent without its content type);
    - `collections` and `ids` also accept a single string (a lone `"spot67"` is a common
      client shortcut, and the official validator sends one).
    - `fields: null` is refused: the fields extension defines an object, and accepting null
      would silently return full items to a client that asked for a subset.
    - `fields` follows the spec's semantics (stac_api.fields), which pgstac alone does not.
    - `filter` is validated as CQL2 before it reaches the database (and CQL2 text is accepted
      in POST too), so a malformed filter is reported as such.
    """

    product_type: ProductType | None = Field(default=None, description=described("product_type"))
    downloadable: bool | None = Field(default=None, description=described("downloadable"))
    place: str | None = Field(default=None, max_length=200, description=described("place"))

    @model_validator(mode="before")
    @classmethod
    def normalise(cls, data: Any) -> Any:
        if isinstance(data, bytes | str):  # a JSON body sent without its content type
            try:
                data = orjson.loads(data or b"{}")
            except orjson.JSONDecodeError as exc:
                raise ValueError(
                    _("Le corps de la requête n'est pas du JSON : %(problem)s", problem=exc)
                ) from exc
        if not isinstance(data, dict):
            raise ValueError(_("Le corps de la requête doit être un objet JSON."))
        if (where := non_finite(data)) is not None:
            raise ValueError(
                _(
                    "`%(where)s` : un nombre doit être fini (JSON n'a ni NaN ni Infinity).",
                    where=where,
                )
            )
        if "fields" in data:
            fields = data["fields"]
            if not isinstance(fields, dict) or not all(
                isinstance(names, list | None) and all(isinstance(n, str) for n in names or ())
                for names in (fields.get("include"), fields.get("exclude"))
            ):
                raise ValueError(
                    _("`fields` est un objet aux listes de noms `include` et/ou `exclude`.")
                )
            data = {**data, "fields": resolve_fields(data["fields"])}
        if data.get("filter") is not None and data.get("query") is not None:
            raise ValueError(_("Donnez `query` ou `filter`, pas les deux."))
        if data.get("filter") is not None:
            data = {**data, **validated_filter(data["filter"], data.get("filter-lang"))}
        for key in ("collections", "ids"):
            if isinstance(data.get(key), str):
                data = {**data, key: [v.strip() for v in data[key].split(",") if v.strip()]}
        return data


def term(name: str) -> Any:
    """A search term of ours as a GET parameter, documented as its queryable."""
    return Query(description=described(name))


@attr.s
class DinamisSearchGet(BaseSearchGetRequest):
    """GET /search's parameters: STAC's and our terms (the search plan reads and checks them)."""

    product_type: Annotated[str | None, term("product_type")] = attr.ib(default=None)
    place: Annotated[str | None, term("place")] = attr.ib(default=None)
    downloadable: Annotated[str | None, term("downloadable")] = attr.ib(default=None)
