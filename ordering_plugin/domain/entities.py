"""What the ordering desk keeps of a registry entity (its projects, requests and free quotas),
and how it follows the registry's merge of an entity into another (`Plugin.entity_merged`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ordering_plugin.models import Project, Quota, Request
from ordering_plugin.settings import OrderingSettings

HELD = (("projects", Project), ("requests", Request), ("quotas", Quota))


async def holdings(session: AsyncSession, entity_id: int) -> dict[str, int]:
    """How many projects, requests and quota rows (a sensor family for a year) the entity has."""
    return {
        name: await session.scalar(
            select(func.count()).select_from(model).where(model.entity_id == entity_id)
        )
        or 0
        for name, model in HELD
    }


async def merge_entity(
    session: AsyncSession,
    settings: OrderingSettings,
    source_id: int,
    target_id: int,
    target_name: str,
) -> dict[str, Any]:
    """Give the source's projects and requests to the target, and join their free quotas.

    For each sensor family and year, the surviving entity keeps the larger of the two free
    quotas and the sum of both consumptions (km² reserved by accepted requests, km² used by
    completed ones). A merge makes one organisation of two records (an entity that adhered
    twice, a laboratory absorbed by its university): the free quota is an allowance per
    entity, so adding them would give the merged entity twice anyone else's allowance (and
    reward adhering twice), while the larger keeps a raise an instructor granted either one.
    The km² were ordered all the same, and the source's accepted requests now debit or release
    the target's row, so their reservations must be there. An entity with no row yet for a
    year holds the default free quota (DINAMIS_ORDERING_FREE_QUOTA_KM2).

    Returns the number of projects and requests moved and the target's quotas as they now
    are, for the merge's audit row."""
    moved: dict[str, Any] = {}
    for name, model in HELD[:2]:
        changed = await session.execute(
            update(model)
            .where(model.entity_id == source_id)
            .values(entity_id=target_id, entity_name=target_name)
            .returning(model.id)
        )
        moved[name] = len(changed.all())
    rows = await session.scalars(
        select(Quota)
        .where(Quota.entity_id.in_((source_id, target_id)))
        .order_by(Quota.period_start, Quota.family)
        .with_for_update()
    )
    by_period: dict[tuple[str, date], dict[int, Quota]] = {}
    for row in rows:
        by_period.setdefault((row.family, row.period_start), {})[row.entity_id] = row
    joined = []
    for (family, start), pair in by_period.items():
        if (source := pair.get(source_id)) is None:
            continue
        if (target := pair.get(target_id)) is None:  # the target holds the default that year
            target = source
            target.entity_id = target_id
            target.allowed_km2 = max(target.allowed_km2, settings.free_quota_km2.get(family, 0.0))
        else:
            target.allowed_km2 = max(target.allowed_km2, source.allowed_km2)
            target.reserved_km2 = round(target.reserved_km2 + source.reserved_km2, 3)
            target.used_km2 = round(target.used_km2 + source.used_km2, 3)
            await session.delete(source)
        target.entity_name = target_name
        joined.append(
            {
                "family": family,
                "year": start.year,
                "allowed_km2": target.allowed_km2,
                "reserved_km2": target.reserved_km2,
                "used_km2": target.used_km2,
            }
        )
    await session.flush()
    moved["quotas"] = joined
    return moved
