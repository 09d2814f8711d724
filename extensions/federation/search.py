"""The commandable archive in searches: the pages of the Airbus archive without the scenes
held here, its count, and its quicklook proxy. The search plan (extensions.search) says when
a search covers it.

- a page of the archive holds `limit` scenes while more exist: upstream pages are read from
  a position in the archive's order, and the scenes held here (matched on
  `dinamis:datastrip_id`, one query per upstream page) are skipped until the page is full;
  `numberMatched` is the upstream count, an upper bound capped at 10,000;
- paging tokens carry that position: `airbus:<n>` the page that starts at the archive's n-th
  scene, `airbus:<n>-` the page that ends before it (previous), so that paging through neither
  skips nor repeats a scene; they carry on from the held items' pages to the archive's.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response
from stac_fastapi.types.requests import get_base_url

from extensions.errors import InvalidSearch, PermissionDenied
from extensions.federation.client import OneAtlasClient
from extensions.federation.stac import MAX_RESULTS, datastrip_ids, to_item, to_query
from extensions.i18n import _, language
from extensions.services import ServicesDep
from extensions.signing import ALTERED, Signer
from pgstac.missions import AIRBUS

if TYPE_CHECKING:
    from extensions.database import Database

TOKEN = "airbus:"  # noqa: S105 - the prefix of our paging tokens
IMAGE_PATH = "/federation/oneatlas/image"
BACKWARD = "-"
UPSTREAM_PAGE = 100
"""Scenes asked of Airbus at once while filling a page (more when the page is larger)."""


@dataclass(frozen=True)
class Cursor:
    """Where a page of the archive starts (`position`, forward) or ends (backward)."""

    position: int = 0
    backward: bool = False

    @classmethod
    def read(cls, token: str) -> Cursor | None:
        """The cursor of an `airbus:` token, None for another token."""
        if not token.startswith(TOKEN):
            return None
        value = token.removeprefix(TOKEN)
        backward = value.endswith(BACKWARD)
        number = value.removesuffix(BACKWARD)
        if not number.isdigit():
            raise InvalidSearch(
                _("Jeton de page non valide %(token)r : suivez les liens d'une page.", token=token)
            )
        return cls(int(number), backward)

    def token(self) -> str:
        return f"{TOKEN}{self.position}{BACKWARD if self.backward else ''}"


class Federation:
    """The Airbus archive as seen by searches."""

    def __init__(self, client: OneAtlasClient, signer: Signer, catalogue: Database) -> None:
        self.client = client
        self.signer = signer
        self.catalogue = catalogue

    def image_url(self, base_url: str, href: str) -> str:
        """Our proxy's URL for an upstream image: signed, so that nobody makes us fetch
        anything else; stable, so that responses stay cacheable."""
        query = urlencode({"href": href, "sig": self.signer.stamp("oneatlas", href)})
        return f"{base_url}{IMAGE_PATH.lstrip('/')}?{query}"

    def total(self, search_request: Any) -> Coroutine[Any, Any, int]:
        """How many scenes of the archive match: the upstream's count, an upper bound of the
        commandable ones (the scenes held here are only removed page by page). The search is
        read at once (InvalidSearch when the archive cannot take it); the count is left to
        run beside the held items' page."""
        return self._total(to_query(search_request, 1, 1))

    async def _total(self, query: dict[str, Any]) -> int:
        result = await self.client.search(query)
        return min(int(result["totalResults"]), MAX_RESULTS)

    async def page(self, request: Request, search_request: Any, cursor: Cursor) -> dict[str, Any]:
        """One page of the commandable archive, without the scenes held here: `limit` scenes
        while more exist, from the cursor's position on (or up to it, backward)."""
        limit = min(search_request.limit or 10, self.client.settings.page_size_max)
        if cursor.position >= MAX_RESULTS and not cursor.backward:
            raise InvalidSearch(
                _(
                    "L'archive Airbus ne donne que ses %(count)s premiers résultats : "
                    "resserrez la recherche.",
                    count=format_decimal(MAX_RESULTS, locale=language()),
                )
            )
        size = min(max(UPSTREAM_PAGE, limit), self.client.settings.page_size_max)
        base_url = get_base_url(request)
        kept: list[tuple[int, dict[str, Any]]] = []  # (position in the archive, item)
        total = MAX_RESULTS
        step = -1 if cursor.backward else 1
        position = cursor.position - 1 if cursor.backward else cursor.position
        wanted = limit + 1  # one more, to know whether a next (or previous) page exists
        while len(kept) < wanted and 0 <= position < total:
            number = position // size
            result = await self.client.search(to_query(search_request, size, number + 1))
            total = min(int(result["totalResults"]), MAX_RESULTS)
            features = [f for f in result["features"] if isinstance(f, dict)]
            if not features:
                break
            held = await held_datastrips(self.catalogue, features)
            first = number * size
            while len(kept) < wanted and first <= position < first + len(features):
                feature = features[position - first]
                if not datastrip_ids(feature.get("properties") or {}) & held and (
                    item := to_item(feature, base_url, lambda h: self.image_url(base_url, h))
                ):
                    kept.append((position, item))
                position += step
            if len(features) < size and not cursor.backward:
                total = min(total, first + len(features))
        kept.sort(key=lambda pair: pair[0])
        more = len(kept) > limit
        if cursor.backward:
            kept = kept[1:] if more else kept
            following = Cursor(cursor.position) if cursor.position < total else None
            previous = Cursor(kept[0][0], backward=True) if more else None
        else:
            following = Cursor(kept.pop()[0]) if more else None
            previous = Cursor(cursor.position, backward=True) if cursor.position > 0 else None
        return {
            "type": "FeatureCollection",
            "features": [item for _, item in kept],
            "links": page_links(
                request,
                following.token() if following else None,
                previous.token() if previous else None,
            ),
            "numberMatched": total,
            "numberReturned": len(kept),
        }


# The local collections where a scene of each constellation may be held.
HOLDERS = {code: m.collections for code, m in AIRBUS.items()}
SAME_SCENE = timedelta(days=1)  # our scene-centre time and OneAtlas' acquisition date differ


def candidates(features: list[dict[str, Any]]) -> list[tuple[str, str, datetime, datetime]]:
    """(identifier, local collection, earliest, latest) under which each scene could be held."""
    rows = []
    for feature in features:
        props = feature.get("properties") or {}
        try:
            when = datetime.fromisoformat(str(props.get("acquisitionDate")).replace("Z", "+00:00"))
        except ValueError:
            continue
        for identifier in datastrip_ids(props):
            for collection in HOLDERS.get(str(props.get("constellation")), ()):
                rows.append((identifier, collection, when - SAME_SCENE, when + SAME_SCENE))
    return rows


async def held_datastrips(database: Database, features: list[dict[str, Any]]) -> set[str]:
    """Which of these scenes' datastrips are held here: one query, each scene looked up in its
    collection's partition of its year only (the indexed `dinamis:datastrip_id`)."""
    rows = candidates(features)
    if not rows:
        return set()
    async with database.read() as conn:
        found = await conn.fetch(
            """
            SELECT DISTINCT u.id
            FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])
                AS u(id, collection, low, high)
            JOIN pgstac.items i
              ON i.collection = u.collection AND i.datetime BETWEEN u.low AND u.high
             AND pgstac.to_text(i.content->'properties'->'dinamis:datastrip_id') = u.id
            """,
            *(list(column) for column in zip(*rows, strict=True)),
        )
    return {row["id"] for row in found}


def page_links(
    request: Request, following: str | None, previous: str | None
) -> list[dict[str, Any]]:
    """self/root and next/previous links that carry our token, for GET and POST searches."""
    base_url = get_base_url(request)
    links: list[dict[str, Any]] = [
        {"rel": "root", "href": base_url, "type": "application/json"},
        {"rel": "self", "href": str(request.url), "type": "application/geo+json"},
    ]
    for rel, token in (("next", following), ("previous", previous)):
        if token is None:
            continue
        if request.method == "POST":
            links.append(
                {
                    "rel": rel,
                    "href": str(request.url),
                    "type": "application/geo+json",
                    "method": "POST",
                    "body": {"token": token},
                    "merge": True,
                }
            )
        else:
            query = {**dict(request.query_params), "token": token}
            links.append(
                {
                    "rel": rel,
                    "href": f"{request.url.remove_query_params(list(query))}?{urlencode(query)}",
                    "type": "application/geo+json",
                    "method": "GET",
                }
            )
    return links


async def image(
    services: ServicesDep,
    href: Annotated[str, Query(max_length=2000)],
    sig: Annotated[str, Query(max_length=100)],
) -> Response:
    """A quicklook or thumbnail of the Airbus archive, fetched with our token."""
    federation = services.federation
    if not federation.signer.check("oneatlas", href, sig):
        raise PermissionDenied(_(ALTERED))
    content, kind = await federation.client.image(href)
    return Response(content, media_type=kind, headers={"Cache-Control": "public, max-age=86400"})


def add_federation(app: FastAPI) -> None:
    router = APIRouter(tags=["Airbus archive"])
    router.add_api_route(
        IMAGE_PATH,
        image,
        methods=["GET"],
        name="Quicklook of the Airbus archive",
        response_class=Response,
    )
    app.include_router(router)
