"""Entities: search, the public entities a contractor may partner with, and the instructors'
administration (merging, grouping into super-entities, relay partners)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select, true, update

from extensions.errors import Conflict, InvalidFields, NotFound, PermissionDenied
from extensions.i18n import _
from registry_plugin.domain.context import Context
from registry_plugin.models import Account, Entity, Mission, Partnership

PAGE_SIZE = 10


@dataclass
class Page:
    entities: list[Entity]
    total: int
    page: int
    pages: int


def matches(query: str) -> ColumnElement[bool]:
    """Every word of the query in the name, the acronym, the parent establishment or the city,
    accents and case ignored ("formation 6 novembre" finds "Formation_6_Novembre", "nimes" an
    entity of Nîmes)."""
    conditions = []
    for word in re.findall(r"\w+", query.casefold()):
        escaped = word.replace("_", "\\_")  # a literal underscore, not LIKE's wildcard
        pattern = func.unaccent(f"%{escaped}%")
        fields = (Entity.name, Entity.acronym, Entity.parent_establishment, Entity.city)
        conditions.append(or_(*(func.unaccent(func.lower(f)).like(pattern) for f in fields)))
    return and_(true(), *conditions)


async def search(ctx: Context, query: str = "", page: int = 1, public_only: bool = False) -> Page:
    """Adherent (active) entities, by name, acronym or city, a page at a time."""
    conditions = [Entity.status == "active"]
    if query.strip():
        conditions.append(matches(query))
    if public_only:
        conditions.append(Entity.activity_sector == "public")
    total = (
        await ctx.session.scalar(select(func.count()).select_from(Entity).where(*conditions)) or 0
    )
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = await ctx.session.scalars(
        select(Entity)
        .where(*conditions)
        .order_by(func.lower(Entity.name))
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return Page(list(rows), total, page, pages)


def require_instructor(ctx: Context) -> None:
    if ctx.identity is None or not ctx.identity.has("instructor", "admin"):
        raise PermissionDenied(_("Réservé à l'instance DINAMIS."))


async def merge(ctx: Context, source_id: int, target_id: int) -> Entity:
    """Move the source's accounts, missions and partnerships to the target; the source is
    kept, marked merged, for the record."""
    require_instructor(ctx)
    if source_id == target_id:
        raise InvalidFields({"target_id": _("Choisissez une autre entité.")})
    source, target = (
        await ctx.session.get(Entity, source_id),
        await ctx.session.get(Entity, target_id),
    )
    if source is None or target is None:
        raise NotFound(_("Entité introuvable."))
    if source.status == "merged" or target.status != "active":
        raise Conflict(
            _("Fusion impossible : la cible doit être active et la source pas déjà fusionnée.")
        )
    await ctx.session.execute(
        update(Account).where(Account.entity_id == source.id).values(entity_id=target.id)
    )
    await ctx.session.execute(
        update(Mission).where(Mission.entity_id == source.id).values(entity_id=target.id)
    )
    await ctx.session.execute(
        update(Partnership)
        .where(Partnership.public_entity_id == source.id)
        .values(public_entity_id=target.id)
    )
    source.status, source.merged_into_id = "merged", target.id
    ctx.audit("entity.merged", "entity", source.id, into=target.id)
    return target


async def group(ctx: Context, super_entity_id: int, member_ids: list[int]) -> list[Entity]:
    require_instructor(ctx)
    members = []
    for member_id in member_ids:
        member = await ctx.session.get(Entity, member_id)
        if member is None or member.id == super_entity_id:
            raise InvalidFields(
                {
                    "member_ids": _(
                        "Entité %(member_id)s : choisissez d'autres entités que le groupe.",
                        member_id=member_id,
                    )
                }
            )
        member.super_entity_id = super_entity_id
        members.append(member)
    ctx.audit("entity.grouped", "entity", super_entity_id, members=member_ids)
    return members


async def set_relay(ctx: Context, entity_id: int, relay: bool) -> Entity:
    require_instructor(ctx)
    entity = await ctx.session.get(Entity, entity_id)
    if entity is None:
        raise NotFound(_("Entité introuvable."))
    if relay and entity.status != "active":
        raise Conflict(_("Seule une entité adhérente peut devenir partenaire relais."))
    entity.is_relay = relay
    ctx.audit("entity.relay_changed", "entity", entity.id, relay=relay)
    return entity
