"""Entities: search, the public entities a contractor may partner with, and the instructors'
administration (merging, grouping into super-entities, relay partners; suspensions are in
`administration`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    and_,
    delete,
    func,
    or_,
    select,
    true,
    update,
)

from extensions.errors import Conflict, InvalidFields, NotFound, PermissionDenied
from extensions.i18n import _
from registry_plugin.domain.accounts import referents
from registry_plugin.domain.context import Context
from registry_plugin.models import Account, Entity, EntityAcceptance, Mission, Partnership
from registry_plugin.vocabulary import ORDERED_SENSORS

PAGE_SIZE = 10
Row = TypeVar("Row")


@dataclass
class Page:
    entities: list[Entity]
    total: int
    page: int
    pages: int


def contains_word(
    word: str, fields: Iterable[ColumnExpressionArgument[Any]]
) -> ColumnElement[bool]:
    """The word in one of the fields, accents and case ignored (LIKE's wildcards in the word
    taken literally)."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = func.unaccent(f"%{escaped}%")
    return or_(*(func.unaccent(func.lower(f)).like(pattern) for f in fields))


def matches(query: str) -> ColumnElement[bool]:
    """Every word of the query in the name, the acronym, the other names (of the entities
    merged into it), the parent establishment or the city, accents and case ignored
    ("formation 6 novembre" finds "Formation_6_Novembre", "nimes" an entity of Nîmes)."""
    fields = (
        Entity.name,
        Entity.acronym,
        func.array_to_string(Entity.other_names, " "),
        Entity.parent_establishment,
        Entity.city,
    )
    return and_(true(), *(contains_word(w, fields) for w in re.findall(r"\w+", query.casefold())))


async def paginate(
    ctx: Context,
    model: type[Row],
    conditions: list[ColumnElement[bool]],
    order: ColumnElement[Any],
    page: int,
    size: int,
) -> tuple[list[Row], int, int, int]:
    """The rows of one page (the last one when `page` is past it), their total and the number
    of pages."""
    count = select(func.count()).select_from(model).where(*conditions)
    total = await ctx.session.scalar(count) or 0
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = await ctx.session.scalars(
        select(model).where(*conditions).order_by(order).offset((page - 1) * size).limit(size)
    )
    return list(rows), total, page, pages


async def search(ctx: Context, query: str = "", page: int = 1, public_only: bool = False) -> Page:
    """Adherent (active) entities, by name, acronym or city, a page at a time."""
    conditions = [Entity.status == "active"]
    if query.strip():
        conditions.append(matches(query))
    if public_only:
        conditions.append(Entity.activity_sector == "public")
    return Page(*await paginate(ctx, Entity, conditions, func.lower(Entity.name), page, PAGE_SIZE))


def require_instructor(ctx: Context) -> None:
    if ctx.identity is None or not ctx.identity.has("instructor", "admin"):
        raise PermissionDenied(_("Réservé à l'instance DINAMIS."))


async def entity_to_administer(ctx: Context, entity_id: int) -> Entity:
    """An entity an instructor acts on, locked until the caller commits."""
    require_instructor(ctx)
    entity = await ctx.session.get(Entity, entity_id, with_for_update=True)
    if entity is None:
        raise NotFound(_("Entité introuvable."))
    return entity


async def plugin_rows(ctx: Context, entity_id: int) -> dict[str, int]:
    """How many rows of each kind the other plugins keep for the entity (their
    `entity_holdings`): what a merge would carry with it."""
    counted: dict[str, int] = {}
    for plugin in ctx.services.plugins if ctx.services else ():
        counted |= await plugin.entity_holdings(ctx.session, entity_id)
    return counted


async def merge(ctx: Context, source_id: int, target_id: int) -> Entity:
    """Move the source's accounts, licences, missions, partnerships, partners and members to
    the target, which keeps the source's names among its other names; the source is kept,
    marked merged, for the record. The other plugins carry what they keep for it in the same
    transaction (`Plugin.entity_merged`: the ordering desk's projects, requests and quotas)."""
    require_instructor(ctx)
    if source_id == target_id:
        raise InvalidFields({"into": _("Une entité ne peut pas fusionner avec elle-même.")})
    source, target = (
        await ctx.session.get(Entity, source_id, with_for_update=True),
        await ctx.session.get(Entity, target_id, with_for_update=True),
    )
    if source is None or target is None:
        raise NotFound(_("Entité introuvable."))
    if source.status == "merged" or target.status != "active":
        raise Conflict(
            _("Fusion impossible : la cible doit être active et la source pas déjà fusionnée.")
        )
    moved_accounts = list(
        await ctx.session.scalars(
            select(Account.email).where(Account.entity_id == source.id, Account.status == "active")
        )
    )
    held = select(EntityAcceptance.licence_id).where(EntityAcceptance.entity_id == target.id)
    await ctx.session.execute(
        delete(EntityAcceptance).where(
            EntityAcceptance.entity_id == source.id, EntityAcceptance.licence_id.in_(held)
        )
    )
    for model, column in (
        (Account, Account.entity_id),
        (Mission, Mission.entity_id),
        (EntityAcceptance, EntityAcceptance.entity_id),
        (Partnership, Partnership.public_entity_id),
        (Partnership, Partnership.private_entity_id),
        (Entity, Entity.relay_id),
        (Entity, Entity.super_entity_id),
    ):
        await ctx.session.execute(
            update(model).where(column == source.id).values({column.key: target.id})
        )
    moved: dict[str, Any] = {}
    if (services := ctx.services) is not None:
        for plugin in services.plugins:
            moved |= await plugin.entity_merged(
                services, ctx.session, source.id, target.id, target.name
            )
    known = {target.name.casefold(), target.acronym.casefold()}
    names = [*target.other_names]
    for name in (source.name, source.acronym, *source.other_names):
        if name.casefold() not in known | {n.casefold() for n in names}:
            names.append(name)
    target.other_names = names
    source.status, source.merged_into_id = "merged", target.id
    await ctx.session.flush()
    ctx.audit("entity.merged", "entity", source.id, into=target.id, moved=moved)
    ctx.audit("entity.absorbed", "entity", target.id, source=source.id, name=source.name)
    quotas = [  # the free quotas the ordering desk joined, per sensor and year
        {**quota, "sensor": ORDERED_SENSORS.get(quota["family"], quota["family"])}
        for quota in moved.get("quotas", [])
    ]
    await ctx.mail(
        sorted({*moved_accounts, *await referents(ctx, target.id)}),
        "entity_merged",
        {"source": source, "target": target, "quotas": quotas},
        reference=f"entity:{target.id}",
    )
    return target


async def group(ctx: Context, super_entity_id: int, member_ids: list[int]) -> list[Entity]:
    """Group entities under a super-entity (an adherent one); an entity cannot be grouped
    under itself, nor under one of its own members."""
    require_instructor(ctx)
    super_entity = await ctx.session.get(Entity, super_entity_id)
    if super_entity is None or super_entity.status != "active":
        raise NotFound(_("Super-entité introuvable : choisissez une entité adhérente."))
    above, ancestor = {super_entity.id}, super_entity.super_entity_id
    while ancestor is not None and ancestor not in above:
        above.add(ancestor)
        parent = await ctx.session.get(Entity, ancestor)
        ancestor = parent.super_entity_id if parent else None
    members = []
    for member_id in member_ids:
        member = await ctx.session.get(Entity, member_id)
        if member is None or member.id in above or member.status == "merged":
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
    for member in members:
        await ctx.mail(
            await referents(ctx, member.id),
            "entity_grouped",
            {"entity": member, "super_entity": super_entity},
            reference=f"entity:{member.id}",
        )
    return members


async def ungroup(ctx: Context, super_entity_id: int, member_id: int) -> Entity:
    require_instructor(ctx)
    member = await ctx.session.get(Entity, member_id)
    if member is None or member.super_entity_id != super_entity_id:
        raise InvalidFields({"member_id": _("Cette entité n'est pas membre de ce groupe.")})
    member.super_entity_id = None
    ctx.audit("entity.ungrouped", "entity", super_entity_id, member=member_id)
    await ctx.mail(
        await referents(ctx, member.id),
        "entity_grouped",
        {"entity": member, "super_entity": None},
        reference=f"entity:{member.id}",
    )
    return member


async def set_relay(ctx: Context, entity_id: int, relay: bool) -> Entity:
    entity = await entity_to_administer(ctx, entity_id)
    if relay and entity.status != "active":
        raise Conflict(_("Seule une entité adhérente peut devenir partenaire relais."))
    entity.is_relay = relay
    ctx.audit("entity.relay_changed", "entity", entity.id, relay=relay)
    return entity
