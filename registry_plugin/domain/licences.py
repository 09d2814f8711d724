"""The charter and licences: reference data, and which apply to an entity."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry_plugin.models import Entity, EntityAcceptance, Licence

LICENCES_FILE = Path(__file__).parents[1] / "licences.yaml"
CHARTER = "charte"


async def publish_licences(dsn: str) -> list[str]:
    """The licences of `licences.yaml` in the database (idempotent); returns what changed."""
    from extensions.database import application_lane

    async with (
        application_lane(dsn) as database,
        database.session() as session,
    ):
        added = await load_licences(session, read_licences())
    return [f"registry: licence {name} published" for name in added]


def read_licences(path: Path = LICENCES_FILE) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = yaml.safe_load(path.read_text())["licences"]
    return entries


async def load_licences(session: AsyncSession, entries: list[dict[str, str]]) -> list[str]:
    """Add the versions not yet in the database and make them current."""
    added = []
    for entry in entries:
        found = await session.scalar(
            select(Licence).where(
                Licence.code == entry["code"], Licence.version == entry["version"]
            )
        )
        if found is None:
            await session.execute(
                update(Licence).where(Licence.code == entry["code"]).values(current=False)
            )
            session.add(Licence(**entry, current=True))
            added.append(f"{entry['code']} {entry['version']}")
    await session.commit()
    return added


async def current_licences(session: AsyncSession) -> list[Licence]:
    rows = await session.scalars(select(Licence).where(Licence.current).order_by(Licence.id))
    return list(rows)


async def applicable(session: AsyncSession, entity: Entity) -> list[Licence]:
    """What the entity's legal representative accepts: the charter and each licence for its
    nationality (Pléiades CAT1 for French entities, ISIS for foreign ones)."""
    audience = "french" if entity.french else "foreign"
    return [lic for lic in await current_licences(session) if lic.audience in ("all", audience)]


async def accepted(session: AsyncSession, entity_id: int) -> list[EntityAcceptance]:
    rows = await session.scalars(
        select(EntityAcceptance)
        .where(EntityAcceptance.entity_id == entity_id)
        .order_by(EntityAcceptance.id)
    )
    return list(rows)


def product_licences(acceptances: list[EntityAcceptance]) -> list[Licence]:
    """The licences a user of the entity may certify (the charter is the entity's alone)."""
    return [a.licence for a in acceptances if a.licence.code != CHARTER]
