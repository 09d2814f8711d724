"""The registry's demo: the seed's training scenario (entities, accounts, licences), from
`demo.yaml`.

Every demo account has the seed's training password. They exist for demonstrations only: the
load is recorded in `dinamis.loads` (`registry-demo`, with the accounts' addresses), and the
registry's production mode refuses to start while any of them is present.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel
from reportlab.pdfgen import canvas
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from extensions.assets import StorageSettings, make_storage
from extensions.database import application_lane
from registry_plugin.domain import files
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
    RelayConvention,
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


class DemoConvention(BaseModel):
    title: str
    signed_on: date


class DemoRelayLink(BaseModel):
    entity: str  # the relay's acronym
    avenant: str


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
    convention: DemoConvention | None = None  # a relay partner of DINAMIS
    relay: DemoRelayLink | None = None  # a relay's partner entity


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
    created_by_relay: bool = False


class Demo(BaseModel):
    entities: list[DemoEntity]
    accounts: list[DemoAccount]


DEMO = Demo.model_validate(yaml.safe_load(DEMO_FILE.read_text()))
DEMO_EMAILS = [a.email for a in DEMO.accounts]
BY_RELAY = [a.email for a in DEMO.accounts if a.created_by_relay]


def load_registry_demo(dsn: str) -> list[str]:
    """Load the scenario once (idempotent); returns lines to show the user."""
    return asyncio.run(_load_once(dsn))


async def _load_once(dsn: str) -> list[str]:
    async with (
        application_lane(dsn) as database,
        database.session() as session,
    ):
        # The newest part of the scenario (the relay partner) tells whether it is loaded; a
        # database loaded before it gets only what it lacks.
        present = await session.scalar(select(Entity).where(Entity.acronym == "PIGMA"))
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
    entities: dict[str, Entity] = {
        e.acronym: e
        for e in await session.scalars(
            select(Entity).where(Entity.acronym.in_([e.acronym for e in DEMO.entities]))
        )
    }
    for wanted in DEMO.entities:
        if wanted.acronym not in entities:
            entities[wanted.acronym] = await _entity(session, wanted, licences, now)
    password = hash_password(DEMO_PASSWORD)
    taken = set(await session.scalars(select(Account.email).where(Account.email.in_(DEMO_EMAILS))))
    for spec in DEMO.accounts:
        if spec.email in taken:
            continue
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
    await _relay_partners(session, entities, now)
    await session.commit()


async def _relay_partners(
    session: AsyncSession, entities: dict[str, Entity], now: datetime
) -> None:
    """Seed 003: the relay's convention, its partners' adhesions filed by its referent, the
    accounts it created, and some activity (signatures, downloads, an imagery request)."""
    referents = {
        a.entity_id: a
        for a in await session.scalars(
            select(Account).where(
                Account.roles.contains(["referent"]), Account.email.in_(DEMO_EMAILS)
            )
        )
    }
    for spec in DEMO.entities:
        entity = entities[spec.acronym]
        if spec.convention is not None and not entity.is_relay:
            entity.is_relay = True
            document = await files.store(
                make_storage(StorageSettings()),  # the environment's, as `dinamis serve`'s
                f"conventions/demo-{spec.acronym.lower()}-{{digest}}.pdf",
                convention_pdf(spec.name, spec.convention),
            )
            session.add(
                RelayConvention(
                    entity_id=entity.id,
                    document_path=document,
                    document_name="convention-relais.pdf",
                    **spec.convention.model_dump(),
                )
            )
        if spec.relay is not None and entity.relay_id is None:
            relay = entities[spec.relay.entity]
            entity.relay_id = relay.id
            filer = referents.get(relay.id)
            await session.execute(
                update(Adhesion)
                .where(Adhesion.entity_id == entity.id)
                .values(
                    relay_id=relay.id,
                    avenant=spec.relay.avenant,
                    filed_by_id=filer.id if filer else None,
                )
            )
            if filer:
                await session.execute(
                    update(Account)
                    .where(Account.entity_id == entity.id, Account.email.in_(BY_RELAY))
                    .values(validated_by_id=filer.id)
                )
            await _activity(session, entity, now)
    await session.flush()


def convention_pdf(name: str, convention: DemoConvention) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 760, convention.title)
    page.drawString(72, 740, f"{name} — signée le {convention.signed_on:%d/%m/%Y} (démonstration)")
    page.save()
    return out.getvalue()


async def _activity(session: AsyncSession, entity: Entity, now: datetime) -> None:
    """Six months of signatures and downloads of a partner entity's users, and, when the
    ordering plugin's tables exist, one archive request."""
    user = await session.scalar(
        select(Account).where(Account.entity_id == entity.id, Account.status == "active").limit(1)
    )
    if user is None:
        return
    for months_ago in range(6):
        at = (now.replace(day=15) - timedelta(days=30 * months_ago)).replace(hour=10)
        for n in range(2 + (entity.id + months_ago) % 5):
            collection = ("spot67", "pleiades")[n % 2]
            item = f"DEMO-{entity.acronym}-{months_ago}-{n}"
            await session.execute(
                text(
                    "INSERT INTO dinamis.signatures (at, account_id, entity_id, collection, item, "
                    "asset, expires_at, via) VALUES (:at, :account, :entity, :collection, :item, "
                    "'data', :at, 'session')"
                ),
                {
                    "at": at,
                    "account": user.id,
                    "entity": entity.id,
                    "collection": collection,
                    "item": item,
                },
            )
            if n % 2 == 0:
                await session.execute(
                    text(
                        "INSERT INTO dinamis.downloads (signature, account_id, entity_id, collection, "
                        "item, asset, first_at, last_at, requests) VALUES (:signature, :account, "
                        ":entity, :collection, :item, 'data', :at, :at, 1)"
                    ),
                    {
                        "signature": f"demo-{item}",
                        "account": user.id,
                        "entity": entity.id,
                        "collection": collection,
                        "item": item,
                        "at": at,
                    },
                )
    if not await session.scalar(text("SELECT to_regclass('ordering.requests') IS NOT NULL")):
        return
    from ordering_plugin.models import Project, Request, StatusEvent

    year = now.year
    project = Project(
        id=f"{year}-9{entity.id % 100:02d}-POL",
        kind="POL",
        title=f"Suivi du territoire de {entity.name}",
        themes=["Aménagement du Territoire"],
        start_date=now.date(),
        end_date=now.date() + timedelta(days=365),
        owner_id=user.id,
        owner_email=user.email,
        owner_name=user.full_name,
        entity_id=entity.id,
        entity_name=entity.name,
        members=[],
        status="open",
    )
    box = [[-0.75, 44.8], [-0.6, 44.8], [-0.6, 44.9], [-0.75, 44.9], [-0.75, 44.8]]
    request = Request(
        id=f"{project.id}-{year}-P-001-SPOT",
        project_id=project.id,
        kind="P",
        product_id="airbus-tasking-spot",
        family="SPOT",
        requester_id=user.id,
        requester_email=user.email,
        requester_name=user.full_name,
        entity_id=entity.id,
        entity_name=entity.name,
        geometry={"type": "Polygon", "coordinates": [box]},
        area_km2=131.5,
        window_start=now,
        window_end=now + timedelta(days=60),
        parameters={},
        scenes=[],
        segments=[],
        delivered=[],
        over_quota=False,
        status="received",
        quota_state="none",
    )
    session.add(project)
    await session.flush()
    session.add(request)
    await session.flush()
    # As the desk files one: every request has its status history (its list reads the last).
    session.add(StatusEvent(request_id=request.id, status="received", actor=user.email))


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
    session.add(
        LegalRepresentative(
            entity_id=entity.id,
            nationality="France",
            validated_at=None if spec.status == "awaiting_rl" else now,  # e-validated
            **rl.model_dump(),
        )
    )
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
