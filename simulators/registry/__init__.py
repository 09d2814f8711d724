"""The registry's demo: the seed's training scenario (entities, accounts, licences), from
`demo.yaml`.

Every demo account has the seed's training password. They exist for demonstrations only: the
load is recorded in `dinamis.loads` (`registry-demo`, with the accounts' addresses), and the
registry's production mode refuses to start while any of them is present.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from extensions.database import application_lane
from registry_plugin.domain.licences import current_licences
from registry_plugin.models import (
    Account,
    AccountCertification,
    Adhesion,
    Entity,
    EntityAcceptance,
    LegalRepresentative,
    Licence,
    Mission,
    MissionSensor,
)
from registry_plugin.schemas import bbox_polygon
from registry_plugin.security import hash_password

DEMO_FILE = Path(__file__).with_name("demo.yaml")
DEMO_PASSWORD = "Toto@34090"  # noqa: S105 - the seed's training password, demo only


class DemoPerson(BaseModel):
    first_name: str
    last_name: str
    function: str
    email: str


class DemoSensor(BaseModel):
    sensor: str
    valid_from: date
    valid_to: date


class DemoMission(BaseModel):
    title: str
    valid_from: date
    valid_to: date
    extent: dict[str, float]
    sensors: list[DemoSensor]


class DemoEntity(BaseModel):
    acronym: str
    name: str
    category: str
    address: str
    postal_code: str
    city: str
    interest_domain: str
    entity_type: str
    rl: DemoPerson
    licences: list[str]
    sector: str = "public"
    status: str = "active"
    mission: DemoMission | None = None


class DemoAccount(BaseModel):
    email: str
    entity: str  # acronym
    first_name: str
    last_name: str
    function: str
    role: str  # what the listing says
    roles: list[str] = ["user"]
    status: str = "active"
    certified: list[str] = []


class Demo(BaseModel):
    entities: list[DemoEntity]
    accounts: list[DemoAccount]


DEMO = Demo.model_validate(yaml.safe_load(DEMO_FILE.read_text()))
DEMO_EMAILS = [a.email for a in DEMO.accounts]


def load_registry_demo(dsn: str) -> list[str]:
    """Load the scenario once (idempotent); returns lines to show the user."""
    return asyncio.run(_load_once(dsn))


async def _load_once(dsn: str) -> list[str]:
    async with (
        application_lane(dsn) as database,
        database.session() as session,
    ):
        present = await session.scalar(select(Entity).where(Entity.acronym == "Formation_6_11"))
        if present is None:
            await _load(session)
        await session.execute(
            text(
                "INSERT INTO dinamis.loads (name, parameters, item_count, started_at) "
                "VALUES ('registry-demo', CAST(:parameters AS jsonb), :count, now()) "
                "ON CONFLICT (name) DO UPDATE SET parameters = EXCLUDED.parameters, "
                "item_count = EXCLUDED.item_count"
            ),
            {"parameters": json.dumps({"emails": DEMO_EMAILS}), "count": len(DEMO_EMAILS)},
        )
        await session.commit()
    header = (
        f"registry: demo accounts, password {DEMO_PASSWORD} "
        "(demonstrations only; production mode refuses to start with them):"
    )
    return [header, *(f"  {a.email:34s} {a.role}" for a in DEMO.accounts)]


async def _load(session: AsyncSession) -> None:
    now = datetime.now(UTC)
    licences = {lic.code: lic for lic in await current_licences(session)}
    entities = {spec.acronym: await _entity(session, spec, licences, now) for spec in DEMO.entities}
    password = hash_password(DEMO_PASSWORD)
    for spec in DEMO.accounts:
        account = Account(
            entity_id=entities[spec.entity].id,
            email=spec.email,
            first_name=spec.first_name,
            last_name=spec.last_name,
            function=spec.function,
            phone="0467000000",
            nationality="France",
            password_hash=password,
            status=spec.status,
            roles=spec.roles,
            email_verified_at=now,
            validated_at=now if spec.status == "active" else None,
        )
        session.add(account)
        await session.flush()
        for code in spec.certified:
            session.add(AccountCertification(account_id=account.id, licence_id=licences[code].id))
    await session.commit()


async def _entity(
    session: AsyncSession, spec: DemoEntity, licences: dict[str, Licence], now: datetime
) -> Entity:
    active = spec.status == "active"
    entity = Entity(
        acronym=spec.acronym,
        name=spec.name,
        nationality="France",
        address=spec.address,
        postal_code=spec.postal_code,
        city=spec.city,
        category=spec.category,
        interest_domain=spec.interest_domain,
        activity_sector=spec.sector,
        entity_type=spec.entity_type,
        status=spec.status,
        activated_at=now if active else None,
    )
    session.add(entity)
    await session.flush()
    rl = spec.rl
    session.add(LegalRepresentative(entity_id=entity.id, nationality="France", **rl.model_dump()))
    signer = f"{rl.first_name} {rl.last_name} <{rl.email}>"
    for code in spec.licences:
        session.add(
            EntityAcceptance(entity_id=entity.id, licence_id=licences[code].id, accepted_by=signer)
        )
    if mission := spec.mission:
        session.add(
            Mission(
                entity_id=entity.id,
                title=mission.title,
                kind="rd",
                valid_from=mission.valid_from,
                valid_to=mission.valid_to,
                area=bbox_polygon(**mission.extent),
                sensors=[MissionSensor(**s.model_dump()) for s in mission.sensors],
            )
        )
    referent = next(
        (a.email for a in DEMO.accounts if a.entity == spec.acronym and "referent" in a.roles),
        rl.email,
    )
    session.add(
        Adhesion(
            entity_id=entity.id,
            kind="private_rd" if spec.sector == "private" else "public",
            submitted_by=referent,
            rl_validated_at=now,
            decision="accepted" if active else None,
            decided_at=now if active else None,
        )
    )
    return entity
