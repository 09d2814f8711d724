"""The registry as the core's access policy (`registry_plugin.domain.rights`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from extensions.access import ANONYMOUS, Rights
from extensions.identity import Identity
from registry_plugin.domain.rights import RIGHTS_SQL, RegistryIdentity, as_json, rights_of

if TYPE_CHECKING:
    from extensions.database import Database

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
