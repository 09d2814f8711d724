"""What an account may download (the registry as the core's access policy): its entity's
licences, its own certifications, and its entity's missions.

A collection names the licences that grant it (`dinamis:licences` in pgstac/collections.yaml:
data, not code). A user holds a licence when the entity accepted it (through its legal
representative) and the user certified it; the charter is the entity's alone. A private
entity's users download only within its missions valid today: per sensor (a collection), the
sensor's acquisition period and the mission's area.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson

from extensions.access import ANONYMOUS, MissionScope, Rights
from extensions.identity import Identity
from registry_plugin.domain.licences import CHARTER

if TYPE_CHECKING:
    from extensions.database import Database

# What an account's rights are made of, for the row `a` of registry.accounts joined with its
# entity `e`: the identity query selects them too, so that a request costs one query.
RIGHTS_COLUMNS = """
       e.activity_sector,
       ARRAY(SELECT l.code FROM registry.entity_acceptances ea
             JOIN registry.licences l ON l.id = ea.licence_id
             WHERE ea.entity_id = a.entity_id AND ea.suspended_at IS NULL) AS accepted,
       ARRAY(SELECT l.code FROM registry.account_certifications c
             JOIN registry.licences l ON l.id = c.licence_id
             WHERE c.account_id = a.id) AS certified,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'sensor', s.sensor, 'start', s.valid_from, 'end', s.valid_to, 'area', m.area)), '[]')
        FROM registry.missions m JOIN registry.mission_sensors s ON s.mission_id = m.id
        WHERE m.entity_id = a.entity_id AND current_date BETWEEN m.valid_from AND m.valid_to) AS missions
"""
RIGHTS_SQL = f"""
SELECT a.id AS account_id, {RIGHTS_COLUMNS}
FROM registry.accounts a JOIN registry.entities e ON e.id = a.entity_id
WHERE a.id = $1
"""  # noqa: S608 - constant fragments only


@dataclass(frozen=True)
class RegistryIdentity(Identity):
    """An identity read with what its rights are made of (the RIGHTS_COLUMNS of its row)."""

    grants: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    credential_id: int | None = field(default=None, compare=False)
    """The credential (session, bearer token, API key) this request came with."""


def rights_of(
    identity: Identity, grants: Mapping[str, Any] | None, licences: Mapping[str, frozenset[str]]
) -> Rights:
    """The rights of a signed-in account from its RIGHTS_COLUMNS (`grants`), given the
    licences granting each collection."""
    if identity.has("instructor", "admin"):
        return Rights(identity, everything=True)
    if grants is None:
        return Rights(identity)
    held = set(grants["accepted"]) & ({*grants["certified"], CHARTER})
    licensed = frozenset(c for c, granting in licences.items() if granting & held)
    if grants["activity_sector"] != "private":
        return Rights(identity, collections=licensed, licensed=licensed)
    missions = tuple(
        MissionScope(
            s["sensor"], date.fromisoformat(s["start"]), date.fromisoformat(s["end"]), s["area"]
        )
        for s in as_json(grants["missions"])
        if s["sensor"] in licensed
    )
    return Rights(identity, missions=missions, licensed=licensed)


def as_json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


LICENCES_TTL = 30.0


class RegistryAccessPolicy:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._licences: tuple[float, dict[str, frozenset[str]]] = (0.0, {})

    async def collection_licences(self) -> dict[str, frozenset[str]]:
        """collection → the licences granting it, read from the collections (cached briefly)."""
        loaded_at, mapping = self._licences
        if time.monotonic() - loaded_at > LICENCES_TTL:
            async with self.database.read() as conn:
                rows = await conn.fetch(
                    "SELECT id, content->'dinamis:licences' AS licences FROM pgstac.collections"
                )
            mapping = {row["id"]: frozenset(as_json(row["licences"]) or ()) for row in rows}
            self._licences = (time.monotonic(), mapping)
        return mapping

    async def rights(self, identity: Identity | None) -> Rights:
        if identity is None:
            return ANONYMOUS
        grants = identity.grants if isinstance(identity, RegistryIdentity) else None
        if grants is None and not identity.has("instructor", "admin"):
            async with self.database.read() as conn:
                grants = await conn.fetchrow(RIGHTS_SQL, identity.account_id)
        return rights_of(identity, grants, await self.collection_licences())
