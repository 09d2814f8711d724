"""The STAC API aggregation extension: `/aggregate` and `/aggregations`, for the catalogue and
per collection, over any search (area, `place`, period, CQL2 filter, collections,
`product_type`, `downloadable`).

Every aggregation comes from one exact count of the matching items by collection × platform
× month × cloud-cover class (extensions.facets), so they agree with each other and with the
`numberMatched` of the same search. The commandable Airbus archive only reports how many
scenes match: it adds to `total_count` and `collection_frequency`, not to the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import attr
from fastapi import Query, Request
from pydantic import BaseModel, Field
from stac_fastapi.extensions.aggregation import AggregationExtension
from stac_fastapi.extensions.aggregation.client import AsyncBaseAggregationClient
from stac_fastapi.types.requests import get_base_url
from stac_fastapi.types.search import APIRequest, str2list

from extensions.errors import InvalidSearch, NotFound
from extensions.facets import CLASS_LABELS, CLASSES, UNKNOWN_CLASS, Counts
from extensions.federation.stac import COLLECTION
from extensions.i18n import _
from extensions.search import count_plan, plan_search
from extensions.services import services_of

if TYPE_CHECKING:
    from stac_api.client import DinamisClient

Interval = Literal["month", "year"]

AVAILABLE: dict[str, str] = {
    "total_count": "integer",
    "collection_frequency": "frequency_distribution",
    "platform_frequency": "frequency_distribution",
    "datetime_frequency": "frequency_distribution",
    "cloud_cover_frequency": "frequency_distribution",
}
DESCRIPTIONS = {
    "total_count": "Number of matching items",
    "collection_frequency": "Matching items per collection",
    "platform_frequency": "Matching items per platform",
    "datetime_frequency": "Matching items per month (or per year: datetime_frequency_interval)",
    "cloud_cover_frequency": "Matching items per cloud-cover class (%)",
}


def month_key(month: int) -> str:
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def frequency(
    name: str, counts: Counter[Any], data_type: str, key: Callable[[Any], str] = str
) -> dict[str, Any]:
    buckets = [
        {"key": key(value), "data_type": data_type, "frequency": n}
        for value, n in sorted(counts.items())
        if n
    ]
    return {"name": name, "data_type": "frequency_distribution", "buckets": buckets, "overflow": 0}


def cloud_buckets(counts: Counter[int]) -> dict[str, Any]:
    buckets = []
    for k, (low, high) in CLASSES.items():
        if counts.get(k):
            bucket: dict[str, Any] = {
                "key": CLASS_LABELS[k],
                "data_type": "numeric",
                "frequency": counts[k],
                "to": high if high != float("inf") else 100,
            }
            if k:
                bucket["from"] = low
            buckets.append(bucket)
    if counts.get(UNKNOWN_CLASS):
        buckets.append(
            {"key": "unknown", "data_type": "string", "frequency": counts[UNKNOWN_CLASS]}
        )
    return {
        "name": "cloud_cover_frequency",
        "data_type": "frequency_distribution",
        "buckets": buckets,
        "overflow": 0,
    }


def aggregate_counts(
    counts: Counts, upstream: int, names: list[str], interval: Interval
) -> list[dict[str, Any]]:
    result = []
    for name in names:
        if name == "total_count":
            result.append({"name": name, "data_type": "integer", "value": counts.total + upstream})
        elif name == "collection_frequency":
            by_collection = counts.by(0)
            if upstream:
                by_collection[COLLECTION] += upstream
            result.append(frequency(name, by_collection, "string"))
        elif name == "platform_frequency":
            by_platform = counts.by(1)
            by_platform.pop("", None)  # items without a platform
            result.append(frequency(name, by_platform, "string"))
        elif name == "datetime_frequency":
            months = counts.by(2)
            if interval == "month":
                result.append(frequency(name, months, "datetime", month_key))
            else:
                result.append(frequency(name, years(months), "datetime", month_key))
        elif name == "cloud_cover_frequency":
            result.append(cloud_buckets(counts.by(3)))
    return result


def years(months: Counter[int]) -> Counter[int]:
    """Monthly counts as yearly ones, keyed by each year's January."""
    years: Counter[int] = Counter()
    for month, n in months.items():
        years[month - month % 12] += n
    return years


def requested(aggregations: Any) -> list[str]:
    names = str2list(aggregations) if isinstance(aggregations, str) else aggregations
    names = list(names or AVAILABLE)
    if unknown := [n for n in names if n not in AVAILABLE]:
        raise InvalidSearch(
            _(
                "Agrégation(s) inconnue(s) : %(names)s. Disponibles : %(available)s.",
                names=", ".join(unknown),
                available=", ".join(AVAILABLE),
            )
        )
    return names


async def require_collection(request: Request, collection_id: str) -> None:
    """404 for a collection the catalogue does not hold (read without the collection's
    links, which would parse the body of a POST that need not have one)."""
    if await services_of(request).collections.missing([collection_id]):
        raise NotFound(_("La collection %(collection)s n'existe pas.", collection=collection_id))


class DinamisAggregationClient(AsyncBaseAggregationClient):
    """Aggregations of the searches the core client answers."""

    def __init__(self, core: DinamisClient) -> None:
        self.core = core

    async def get_aggregations(  # type: ignore[override]
        self, collection_id: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        request: Request = kwargs["request"]
        collection_id = collection_id or request.path_params.get("collection_id")
        if collection_id is not None:
            await require_collection(request, collection_id)
        return {
            "type": "AggregationCollection",
            "aggregations": [
                {"name": name, "data_type": kind, "description": DESCRIPTIONS[name]}
                for name, kind in AVAILABLE.items()
            ],
            "links": links(request),
        }

    async def aggregate(  # type: ignore[override]
        self, search_request: Any = None, collection_id: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        request: Request = kwargs.pop("request")
        # The route's path parameter: the request models of the extension do not carry it.
        collection_id = collection_id or request.path_params.get("collection_id")
        if search_request is None:  # GET: the search's parameters as GET /search reads them
            names = requested(kwargs.pop("aggregations", None))
            interval: Interval = kwargs.pop("datetime_frequency_interval", None) or "month"
            search_request = self.core.search_from_query(request, **kwargs)
        else:
            names = requested(search_request.aggregations)
            interval = search_request.datetime_frequency_interval
        if collection_id is not None:
            await require_collection(request, collection_id)
            search_request = search_request.model_copy(update={"collections": [collection_id]})
        services = services_of(request)
        plan = await plan_search(search_request, request, services)
        counts, upstream = await count_plan(services, plan)
        return {
            "type": "AggregationCollection",
            "aggregations": aggregate_counts(counts, upstream, names, interval),
            "links": links(request),
        }


def links(request: Request) -> list[dict[str, Any]]:
    return [
        {"rel": "root", "type": "application/json", "href": get_base_url(request)},
        {"rel": "self", "type": "application/json", "href": str(request.url)},
    ]


def aggregation_extension(
    core: DinamisClient, get_model: type[APIRequest], post_model: type[BaseModel]
) -> AggregationExtension:
    """The extension, taking everything a search takes (GET and POST), plus its own terms."""

    @attr.s
    class AggregateGet(get_model):  # type: ignore[valid-type, misc]
        aggregations: Annotated[
            str | None, Query(description="Comma-separated names; all when absent")
        ] = attr.ib(default=None)
        datetime_frequency_interval: Annotated[
            Interval, Query(description="Buckets of datetime_frequency: month or year")
        ] = attr.ib(default="month")

    class AggregateSearch(post_model):  # type: ignore[valid-type, misc]
        aggregations: list[str] | None = Field(
            default=None, description="Names of the aggregations; all when absent"
        )
        datetime_frequency_interval: Interval = Field(
            default="month", description="Buckets of datetime_frequency: month or year"
        )

    class Aggregation(AggregationExtension):
        GET = AggregateGet
        POST = AggregateSearch

    return Aggregation(client=DinamisAggregationClient(core))
