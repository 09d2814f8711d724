"""Searching both archives with one plan: the DINAMIS terms of a search or an aggregate are
read once (`plan_search`), then a page (`search_page`) or the counts (`count_plan`) are
executed from the plan: pgstac for the items held here, OneAtlas for the commandable ones."""

from extensions.search.execute import count_plan, matching_terms, search_page
from extensions.search.plan import PRODUCT_TYPES, ProductType, SearchPlan, plan_search

__all__ = [
    "PRODUCT_TYPES",
    "ProductType",
    "SearchPlan",
    "count_plan",
    "matching_terms",
    "plan_search",
    "search_page",
]
