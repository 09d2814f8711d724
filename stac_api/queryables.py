"""`/queryables` and `/collections/{c}/queryables`: pgstac's, plus our search terms
(`product_type`, `place`, `downloadable`), so that generic clients can discover them and
say them in a CQL2 filter."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from stac_fastapi.pgstac.extensions.filter import FiltersClient

from extensions.search.plan import SEARCH_QUERYABLES


class DinamisFiltersClient(FiltersClient):
    async def get_queryables(
        self, request: Request, collection_id: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        queryables: dict[str, Any] = await super().get_queryables(
            request, collection_id=collection_id, **kwargs
        )
        queryables.setdefault("properties", {}).update(SEARCH_QUERYABLES)
        return queryables
