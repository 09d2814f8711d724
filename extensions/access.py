"""Who may download what: the core's access interface, provided by the registry plugin.

Rights are those of one identity: the collections whose every item it may download, and
mission scopes (a collection, a period of acquisition, an area) where only some items are
allowed, as for a private entity's mission. They become one CQL2 filter that the database evaluates with
the caller's search (`downloadable=true`) and on the items of a response.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import orjson
from fastapi import Request

from extensions.errors import AuthenticationRequired, PermissionDenied
from extensions.i18n import N_, _
from extensions.identity import Identity, get_identity
from extensions.services import services_of

if TYPE_CHECKING:
    from extensions.database import Database

ACCESS = "dinamis:access"
DOWNLOADABLE = "downloadable"
SIGN_IN = "sign-in required"
LICENCE_MISSING = "licence missing"
OUTSIDE_MISSION = "outside mission"


@dataclass(frozen=True)
class MissionScope:
    """Items of one collection acquired within a period over an area (a mission's sensor)."""

    collection: str
    start: date
    end: date
    area: dict[str, Any]

    def cql2(self) -> dict[str, Any]:
        begin = datetime.combine(self.start, time.min, UTC).isoformat().replace("+00:00", "Z")
        finish = datetime.combine(self.end, time.max, UTC).isoformat().replace("+00:00", "Z")
        return {
            "op": "and",
            "args": [
                {"op": "=", "args": [{"property": "collection"}, self.collection]},
                {
                    "op": "t_intersects",
                    "args": [{"property": "datetime"}, {"interval": [begin, finish]}],
                },
                {"op": "s_intersects", "args": [{"property": "geometry"}, self.area]},
            ],
        }


@dataclass(frozen=True)
class Rights:
    """What one caller may download."""

    identity: Identity | None = None
    everything: bool = False
    collections: frozenset[str] = frozenset()
    """Collections whose every item the caller may download."""
    missions: tuple[MissionScope, ...] = ()
    """Where only some items are allowed (private entities' missions)."""
    licensed: frozenset[str] = field(default=frozenset())
    """Collections whose licence the caller holds (to tell a missing licence from a mission)."""

    @property
    def nothing(self) -> bool:
        return not (self.everything or self.collections or self.missions)

    def cql2(self) -> dict[str, Any] | bool:
        """The items the caller may download, as CQL2-JSON (`True`: all, `False`: none)."""
        if self.everything:
            return True
        parts: list[dict[str, Any]] = [mission.cql2() for mission in self.missions]
        if self.collections:
            parts.insert(
                0, {"op": "in", "args": [{"property": "collection"}, sorted(self.collections)]}
            )
        if not parts:
            return False
        return parts[0] if len(parts) == 1 else {"op": "or", "args": parts}

    def verdict(self, collection: str) -> str | None:
        """The answer for any item of `collection`, or None when it depends on the item."""
        if self.everything or collection in self.collections:
            return DOWNLOADABLE
        if self.identity is None:
            return SIGN_IN
        if collection not in self.licensed:
            return LICENCE_MISSING
        if not any(mission.collection == collection for mission in self.missions):
            return OUTSIDE_MISSION
        return None

    def whole(self, collection: str) -> bool:
        return self.everything or collection in self.collections


ANONYMOUS = Rights()
REFUSALS = {
    SIGN_IN: N_("Connectez-vous (session, jeton ou clé d'API) pour télécharger ce fichier."),
    LICENCE_MISSING: N_(
        "Votre entité n'a pas accepté la licence de cette collection, ou vous ne l'avez pas "
        "certifiée : voir /compte."
    ),
    OUTSIDE_MISSION: N_(
        "Cet item est hors de la mission de votre entité (capteurs, période, zone)."
    ),
}
"""Why a caller may not download, by verdict (translated when told)."""


def refuse(verdict: str, otherwise: str | None = None) -> NoReturn:
    """The error that tells a caller why they may not download (401 to sign in, else 403)."""
    if verdict == SIGN_IN:
        raise AuthenticationRequired(_(REFUSALS[SIGN_IN]))
    raise PermissionDenied(_(REFUSALS[verdict]) if verdict in REFUSALS else otherwise or verdict)


class AccessPolicy(Protocol):
    async def rights(self, identity: Identity | None) -> Rights:
        """The rights of this identity (anonymous when None)."""


async def get_rights(request: Request) -> Rights:
    """The caller's rights, once per request (kept in its scope, where the caching middleware
    reads that the answer depended on them); without a policy nobody downloads."""
    if "rights" not in request.scope:
        identity = await get_identity(request)
        policy = services_of(request).access
        request.scope["rights"] = await policy.rights(identity) if policy else ANONYMOUS
    rights: Rights = request.scope["rights"]
    return rights


async def decide(
    database: Database, rights: Rights, items: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """`dinamis:access` of each (collection, item id): by collection when that settles it,
    by the database evaluating the rights' CQL2 filter otherwise."""
    verdicts: dict[tuple[str, str], str] = {}
    pending: list[tuple[str, str]] = []
    for key in items:
        verdict = rights.verdict(key[0])
        if verdict is None:
            pending.append(key)
        else:
            verdicts[key] = verdict
    if pending:
        async with database.read() as conn:
            allowed = await conn.fetch(
                "SELECT collection, id FROM dinamis.downloadable($1::text[], $2::text[], $3::text::jsonb)",
                [c for c, _ in pending],
                [i for _, i in pending],
                orjson.dumps(rights.cql2()).decode(),
            )
        granted = {(row["collection"], row["id"]) for row in allowed}
        for key in pending:
            verdicts[key] = DOWNLOADABLE if key in granted else OUTSIDE_MISSION
    return verdicts


async def require_downloadable(request: Request, collection: str, item_id: str) -> Rights:
    """The caller's rights, once they are known to allow downloading this item."""
    rights = await get_rights(request)
    database = services_of(request).database
    verdict = (await decide(database, rights, [(collection, item_id)]))[(collection, item_id)]
    if verdict != DOWNLOADABLE:
        refuse(verdict)
    return rights


async def fetch_item(database: Database, collection: str, item_id: str) -> dict[str, Any] | None:
    """One item as the API serves it (hydrated), read directly: `pgstac.get_item` cannot
    prune the partitions at planning time and costs several times more."""
    async with database.read() as conn:
        item: dict[str, Any] | None = await conn.fetchval(
            "SELECT pgstac.content_hydrate(i) FROM pgstac.items i WHERE i.collection = $1 AND i.id = $2",
            collection,
            item_id,
        )
    return item
