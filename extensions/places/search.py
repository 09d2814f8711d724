"""Finding places by name, and the geometry behind a `place` value.

Ranking, for suggestions and for resolving a name alike: first the places whose name (or an
alias, e.g. a country's English name) is exactly the text, then those whose name starts with
it, then those with a word starting with it ("etienne" → Saint-Étienne), then, only for
suggestions, names that merely look alike (trigram similarity). Within each tier the more
important kind comes first (country, territory, région, département, commune), then the
more populous place. Names are compared on their normalised key: case, accents, hyphens and
apostrophes do not matter.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import orjson

from extensions.errors import InvalidSearch
from extensions.i18n import _
from extensions.places.sources import KINDS, normalize

# Tiers: 0 exact, 1 prefix, 2 prefix of a word, 3 similar (suggestions only).
MATCHES = """
WITH matches AS (
    SELECT n.place_id,
           min(CASE WHEN n.key = $1 THEN 0
                    WHEN n.key LIKE $2 THEN 1
                    WHEN n.key LIKE $3 THEN 2
                    ELSE 3 END) AS tier,
           max(similarity(n.key, $1)) FILTER (WHERE $5) AS score
    FROM places.names n
    WHERE n.key LIKE $2 OR n.key LIKE $3 OR ($5 AND n.key % $1)
    GROUP BY n.place_id
)
SELECT p.id, p.name, p.kind, p.code, p.context, p.population, m.tier,
       ST_XMin(p.geom) AS xmin, ST_YMin(p.geom) AS ymin,
       ST_XMax(p.geom) AS xmax, ST_YMax(p.geom) AS ymax
FROM matches m JOIN places.places p ON p.id = m.place_id
ORDER BY m.tier, CASE WHEN m.tier = 3 THEN m.score END DESC NULLS FIRST,
         p.importance, p.population DESC NULLS LAST, p.name, p.id
LIMIT $4
"""

SIMILAR = """
SELECT p.id, p.name, p.kind, p.context
FROM (
    SELECT place_id, max(similarity(key, $1)) AS score
    FROM places.names WHERE key % $1 GROUP BY place_id
) s JOIN places.places p ON p.id = s.place_id
ORDER BY s.score DESC, p.importance, p.population DESC NULLS LAST, p.id
LIMIT $2
"""

PLACE = """
SELECT id, name, kind, code, context, population,
       ST_XMin(geom) AS xmin, ST_YMin(geom) AS ymin, ST_XMax(geom) AS xmax, ST_YMax(geom) AS ymax,
       ST_AsGeoJSON(geom, 6) AS geometry
FROM places.places WHERE id = $1
"""

GEOMETRY = "SELECT ST_AsGeoJSON(geom, 6) FROM places.places WHERE id = $1"
# The outline of the best match, in the same round trip as the ranking.
BEST_GEOMETRY = (
    f"SELECT ST_AsGeoJSON(p.geom, 6) FROM ({MATCHES}) best "  # noqa: S608 - constant SQL
    "JOIN places.places p ON p.id = best.id"
)

PLACE_ID = re.compile(rf"^\s*({'|'.join(KINDS)})\s*:\s*(\S+)\s*$", re.IGNORECASE)


def place_id(text: str) -> str | None:
    """The canonical id when the text is one (`commune:34172`, `country:fra`), else None."""
    match = PLACE_ID.match(text)
    return f"{match.group(1).lower()}:{match.group(2).upper()}" if match else None


def bbox(row: asyncpg.Record) -> list[float]:
    return [round(row[k], 6) for k in ("xmin", "ymin", "xmax", "ymax")]


def summary(row: asyncpg.Record) -> dict[str, Any]:
    """A place as the suggestions list it."""
    return {
        "id": row["id"],
        "name": row["name"],
        "kind": row["kind"],
        "code": row["code"],
        "context": row["context"],
        "population": row["population"],
        "bbox": bbox(row),
    }


async def suggest(conn: asyncpg.Connection, text: str, limit: int = 10) -> list[dict[str, Any]]:
    """Places whose name matches the text, best first (see the module's ranking)."""
    if identifier := place_id(text):
        row = await conn.fetchrow(PLACE, identifier)
        return [summary(row)] if row else []
    key = normalize(text)
    if not key:
        return []
    rows = await conn.fetch(MATCHES, key, f"{key}%", f"% {key}%", limit, True)
    return [summary(row) for row in rows]


async def get_place(conn: asyncpg.Connection, identifier: str) -> dict[str, Any] | None:
    """A place as a GeoJSON Feature, or None."""
    row = await conn.fetchrow(PLACE, place_id(identifier) or identifier)
    if row is None:
        return None
    properties = summary(row)
    del properties["bbox"], properties["id"]
    return {
        "type": "Feature",
        "id": row["id"],
        "bbox": bbox(row),
        "geometry": orjson.Fragment(row["geometry"]),  # PostGIS's GeoJSON, as it is
        "properties": properties,
    }


async def resolve_place(conn: asyncpg.Connection, text: str) -> dict[str, Any]:
    """The GeoJSON geometry (a MultiPolygon) of a `place` value: an id from the suggestions
    (`commune:34172`) or a name, taken as the best match of the ranking above.

    Raises:
        InvalidSearch: the id is unknown, or no name is or starts like the text; the message
            suggests the closest names.
    """
    if identifier := place_id(text):
        geometry = await conn.fetchval(GEOMETRY, identifier)
        if geometry is None:
            raise InvalidSearch(
                _(
                    "Id de lieu inconnu %(id)r. GET /places?q=<nom> propose des lieux et leurs ids.",
                    id=identifier,
                )
            )
        return orjson.loads(geometry)
    key = normalize(text)
    if not key:
        raise InvalidSearch(_("`place` nomme un lieu, par exemple place=Montpellier."))
    best = await conn.fetchval(BEST_GEOMETRY, key, f"{key}%", f"% {key}%", 1, False)
    if best is not None:
        return orjson.loads(best)
    raise InvalidSearch(await unknown_name(conn, text, key))


async def unknown_name(conn: asyncpg.Connection, text: str, key: str) -> str:
    """Why a name resolves to nothing, with the closest names when some look alike."""
    close = await conn.fetch(SIMILAR, key, 5)
    if close:
        names = "; ".join(
            f"{row['name']} ({row['kind']}{', ' + row['context'] if row['context'] else ''}, "
            f"place={row['id']})"
            for row in close
        )
        return _("Lieu inconnu %(text)r. Vouliez-vous dire : %(names)s ?", text=text, names=names)
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM places.places)"):
        return _("Le répertoire des lieux n'est pas chargé : lancez `dinamis db migrate`.")
    return _(
        "Lieu inconnu %(text)r : aucune commune, aucun département, aucune région, aucun "
        "territoire ni pays n'a de nom qui lui ressemble. GET /places?q=<début d'un nom> "
        "propose des lieux.",
        text=text,
    )
