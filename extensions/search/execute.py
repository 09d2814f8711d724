"""What a plan gives: a page of results (held items first, then the commandable ones, with
tokens that carry on from one to the other), or the counts of the aggregation extension.

The Airbus archive is never waited for before the held items are done: while they page, it
is only asked for its count, beside the held page, and a page it cannot count is still
served.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.requests import Request

from extensions import facets
from extensions.errors import InvalidSearch
from extensions.federation.search import TOKEN, page_links
from extensions.search import held
from extensions.search.plan import SearchPlan
from extensions.services import services_of


async def search_page(plan: SearchPlan, request: Request, counted: bool = True) -> dict[str, Any]:
    """The page the plan asks for; `counted`: with its exact `numberMatched`."""
    services = services_of(request)
    if plan.airbus_page is not None:
        assert plan.airbus is not None
        page = await services.federation.page(request, plan.airbus, plan.airbus_page)
        if plan.held is not None:  # numberMatched counts both archives, as /aggregate does
            counts = await held.count(services.database, plan.held, grouped=False)
            page["numberMatched"] += counts.total
        return page
    assert plan.held is not None
    upstream = None
    if plan.airbus is not None and counted:
        with contextlib.suppress(InvalidSearch):  # a filter the archive cannot take
            upstream = services.federation.total(plan.airbus)
    if upstream is None:
        page = await held.held_page(plan.held, request, counted)
    else:  # side by side; the held items are served even when Airbus cannot count
        page, total = await asyncio.gather(
            held.held_page(plan.held, request), upstream, return_exceptions=True
        )
        if isinstance(page, BaseException):
            raise page
        if isinstance(total, int):
            page["numberMatched"] += total
    done = not any(link.get("rel") == "next" for link in page.get("links", []))
    if plan.airbus is not None and done:
        # The held items are done: the next page is the Airbus archive's first.
        page["links"] = [*page.get("links", []), *page_links(request, f"{TOKEN}1", None)[2:]]
    return page


async def count_plan(
    plan: SearchPlan, request: Request, grouped: bool = True
) -> tuple[facets.Counts, int]:
    """Exact counts of the held items the plan matches (by collection × platform × month ×
    cloud-cover class when `grouped`), and the Airbus archive's count."""
    services = services_of(request)
    upstream = await services.federation.total(plan.airbus) if plan.airbus is not None else 0
    counts = facets.Counts([])
    if plan.held is not None:
        counts = await held.count(services.database, plan.held, grouped)
    return counts, upstream
