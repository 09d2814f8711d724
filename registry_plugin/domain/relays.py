"""Relay partners (seed 003, PIGMA): an adherent entity, designated by DINAMIS under a
convention, files the adhesion of its partner entities, creates their members' accounts and
administers them as a "super" referent; each partner's own referent keeps their rights."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from extensions.errors import Conflict, InvalidFields, NotFound, PermissionDenied
from extensions.i18n import _
from registry_plugin.domain import entities, links
from registry_plugin.domain.accounts import PERSONAL_FIELDS, email_taken, tell
from registry_plugin.domain.adhesions import Upload
from registry_plugin.domain.context import Context
from registry_plugin.models import Account, Entity, RelayConvention
from registry_plugin.schemas import Email, OptionalDate, ReferentInfo
from registry_plugin.security import hash_password

PASSWORD_PATH = "/connexion/nouveau-mot-de-passe/"  # noqa: S105 - a page, not a password


class ConventionInfo(BaseModel):
    """Convention de partenariat relais."""

    model_config = ConfigDict(str_strip_whitespace=True)

    title: str = Field(min_length=3, max_length=300, title="Titre de la convention")
    signed_on: date = Field(title="Date de signature")

    @field_validator("signed_on")
    @classmethod
    def _signed(cls, value: date) -> date:
        if value > date.today():
            raise ValueError(_("La date de signature ne peut pas être dans le futur."))
        return value


class MemberAccount(ReferentInfo):
    """Compte individuel créé par le partenaire relais pour un membre d'une entité partenaire."""

    email: Email
    expires_on: OptionalDate = Field(default=None, title="Date d'expiration")  # "": none

    @field_validator("expires_on")
    @classmethod
    def _future(cls, value: date | None) -> date | None:
        if value is not None and value <= date.today():
            raise ValueError(_("La date d'expiration doit être dans le futur."))
        return value


async def designate(
    ctx: Context, entity_id: int, info: ConventionInfo, document: Upload
) -> RelayConvention:
    """An instructor makes an adherent entity a relay partner under its signed convention."""
    entity = await entities.entity_to_administer(ctx, entity_id)
    if entity.status != "active":
        raise Conflict(_("Seule une entité adhérente peut devenir partenaire relais."))
    assert ctx.identity is not None
    convention = RelayConvention(
        entity_id=entity.id,
        title=info.title,
        signed_on=info.signed_on,
        document_path=document.href,
        document_name=document.name,
        designated_by_id=ctx.identity.account_id,
    )
    ctx.session.add(convention)
    entity.is_relay = True
    await ctx.session.flush()
    ctx.audit(
        "entity.relay_designated",
        "entity",
        entity.id,
        convention=convention.id,
        title=info.title,
        signed_on=info.signed_on,
    )
    return convention


async def convention_of(ctx: Context, entity_id: int) -> RelayConvention | None:
    """The convention in force: the newest."""
    found: RelayConvention | None = await ctx.session.scalar(
        select(RelayConvention)
        .where(RelayConvention.entity_id == entity_id)
        .order_by(RelayConvention.id.desc())
        .limit(1)
    )
    return found


async def set_relay(ctx: Context, entity_id: int, relay: bool) -> Entity:
    """Withdraw the relay role, or give it back under the convention on file (a refusal is
    raised before the caller commits: nothing is kept)."""
    entity = await entities.set_relay(ctx, entity_id, relay)  # an adherent entity's only
    if relay and await convention_of(ctx, entity_id) is None:
        raise Conflict(
            _("Désignez d'abord le partenaire relais avec sa convention signée (titre, date, PDF).")
        )
    return entity


def relay_of(ctx: Context) -> int:
    """The caller's relay entity; refused to anyone else."""
    identity = ctx.identity
    if identity is None:
        raise PermissionDenied(_("Connectez-vous."))
    if not identity.has("relay") or identity.entity_id is None:
        raise PermissionDenied(_("Réservé aux référents d'un partenaire relais."))
    return identity.entity_id


async def partners(ctx: Context, relay_id: int) -> list[Entity]:
    rows = await ctx.session.scalars(
        select(Entity).where(Entity.relay_id == relay_id).order_by(Entity.name)
    )
    return list(rows)


async def partner_of(ctx: Context, entity_id: int) -> Entity:
    """One of the caller's partner entities (an instructor may act on any entity)."""
    entity = await ctx.session.get(Entity, entity_id)
    if entity is None:
        raise NotFound(_("Entité introuvable."))
    identity = ctx.identity
    if identity is not None and identity.has("instructor", "admin"):
        return entity
    if entity.relay_id is None or entity.relay_id != relay_of(ctx):
        raise PermissionDenied(
            _("%(name)s n'est pas l'une de vos entités partenaires.", name=entity.name)
        )
    return entity


async def create_member(ctx: Context, entity_id: int, info: MemberAccount) -> Account:
    """The relay opens a validated account for a member of a partner entity; the member gets
    a link to choose their own password, then certifies the licences themselves."""
    entity = await partner_of(ctx, entity_id)
    if entity.status != "active":
        raise Conflict(_("L'adhésion de %(name)s n'est pas encore active.", name=entity.name))
    if await email_taken(ctx, info.email):
        raise InvalidFields({"email": _("Un compte DINAMIS existe déjà pour cette adresse.")})
    assert ctx.identity is not None
    now = datetime.now(UTC)
    account = Account(
        entity_id=entity.id,
        email=info.email,
        password_hash=hash_password(secrets.token_urlsafe(32)),  # until the member sets one
        status="active",
        roles=["user"],
        expires_on=info.expires_on,
        validated_at=now,
        validated_by_id=ctx.identity.account_id,
        **info.model_dump(include=PERSONAL_FIELDS),
    )
    ctx.session.add(account)
    await ctx.session.flush()
    token = await links.issue(ctx, "password_reset", account.email, {"account_id": account.id})
    await tell(
        ctx,
        account,
        "account_created_by_relay",
        entity=entity,
        relay=ctx.identity.entity_name,
        hours=ctx.settings.link_hours,
        link=ctx.private_link(PASSWORD_PATH, token),
    )
    ctx.audit(
        "account.created_by_relay",
        "account",
        account.id,
        entity=entity.id,
        relay=ctx.identity.entity_id,
        expires_on=info.expires_on,
    )
    return account
