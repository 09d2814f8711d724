"""The statistics page: instructors see the platform's numbers, a relay partner its
partners'; the same numbers as `GET /registry/statistics`."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from extensions.errors import InvalidFields
from extensions.web import page_router, render
from registry_plugin.domain import statistics
from registry_plugin.pages.common import identity_of
from registry_plugin.pages.relays import PageFilters, totals
from registry_plugin.web import RegistryContext

router = page_router(prefix="/registre")


@router.get("/statistiques")
async def statistics_page(request: Request, ctx: RegistryContext, filters: PageFilters) -> Response:
    identity_of(request)
    errors: dict[str, str] = {}
    try:
        numbers = await statistics.statistics(ctx, filters)
    except InvalidFields as exc:
        errors = exc.errors
        numbers = await statistics.statistics(ctx, statistics.Filters())
    context = {
        "numbers": numbers,
        "monthly": totals(numbers.activity),
        "errors": errors,
        "query": request.url.query,
    }
    return render(
        request, "registry/statistiques.html", context, status_code=400 if errors else 200
    )
