"""The instructors' administration beyond merging and grouping (`entities`): suspending and
reinstating an entity or one of its licences, and the account search across entities.

A suspension takes effect on the caller's next request whatever the credential: sessions,
bearer tokens and API keys are checked against the entity's status and its licences on every
request (`auth.identify`, `rights.RIGHTS_COLUMNS`), signed URLs at their recheck. Each action
is audited and mailed to the entity's referents and legal representative."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select

from extensions.errors import Conflict, InvalidFields
from extensions.i18n import _
from registry_plugin.domain.accounts import referents
from registry_plugin.domain.context import Context
from registry_plugin.domain.entities import (
    contains_word,
    entity_to_administer,
    matches,
    paginate,
    require_instructor,
)
from registry_plugin.models import Account, Entity, EntityAcceptance, Licence

ACCOUNT_STATUSES = ("pending", "active", "refused", "deactivated", "expired")
ACCOUNTS_PAGE = 50
REASON_LENGTH = 1000


async def concerned(ctx: Context, entity: Entity) -> list[str]:
    """Who hears of what is done to an entity: its referents and its legal representative."""
    rl = entity.legal_representative
    return sorted({*await referents(ctx, entity.id), *([rl.email] if rl else [])})


def checked_reason(reason: str | None) -> str | None:
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > REASON_LENGTH:
        raise InvalidFields(
            {
                "reason": _(
                    "Le motif tient en %(REASON_LENGTH)s caractères au plus.",
                    REASON_LENGTH=REASON_LENGTH,
                )
            }
        )
    return reason


async def suspend_entity(ctx: Context, entity_id: int, reason: str | None = None) -> Entity:
    """Every account of the entity is refused from the next request on, until reinstated."""
    entity = await entity_to_administer(ctx, entity_id)
    reason = checked_reason(reason)
    if entity.status != "active":
        raise Conflict(
            _(
                "Seule une entité adhérente peut être suspendue (%(name)s : %(status)s).",
                name=entity.name,
                status=entity.status,
            )
        )
    entity.status = "suspended"
    ctx.audit("entity.suspended", "entity", entity.id, reason=reason)
    await ctx.mail(
        await concerned(ctx, entity),
        "entity_suspended",
        {"entity": entity, "reason": reason},
        reference=f"entity:{entity.id}",
    )
    return entity


async def reinstate_entity(ctx: Context, entity_id: int) -> Entity:
    entity = await entity_to_administer(ctx, entity_id)
    if entity.status != "suspended":
        raise Conflict(_("L'adhésion de %(name)s n'est pas suspendue.", name=entity.name))
    entity.status = "active"
    ctx.audit("entity.reinstated", "entity", entity.id)
    await ctx.mail(
        await concerned(ctx, entity),
        "entity_reinstated",
        {"entity": entity},
        reference=f"entity:{entity.id}",
    )
    return entity


async def acceptance(ctx: Context, entity: Entity, code: str) -> EntityAcceptance:
    found = await ctx.session.scalar(
        select(EntityAcceptance)
        .join(Licence, Licence.id == EntityAcceptance.licence_id)
        .where(EntityAcceptance.entity_id == entity.id, Licence.code == code)
        .with_for_update(of=EntityAcceptance)
    )
    if found is None:
        raise InvalidFields(
            {
                "code": _(
                    "%(name)s n'a pas accepté la licence « %(code)s » : rien à suspendre.",
                    name=entity.name,
                    code=code,
                )
            }
        )
    return found


async def suspend_licence(
    ctx: Context, entity_id: int, code: str, reason: str | None = None
) -> EntityAcceptance:
    """The entity's users no longer download what only this licence grants."""
    entity = await entity_to_administer(ctx, entity_id)
    reason = checked_reason(reason)
    accepted = await acceptance(ctx, entity, code)
    if accepted.suspended_at is not None:
        raise Conflict(
            _(
                "La licence « %(code)s » est déjà suspendue pour %(name)s.",
                code=code,
                name=entity.name,
            )
        )
    accepted.suspended_at = datetime.now(UTC)
    ctx.audit("licence.suspended", "entity", entity.id, licence=code, reason=reason)
    await ctx.mail(
        await concerned(ctx, entity),
        "licence_suspended",
        {"entity": entity, "licence": accepted.licence, "reason": reason},
        reference=f"entity:{entity.id}",
    )
    return accepted


async def reinstate_licence(ctx: Context, entity_id: int, code: str) -> EntityAcceptance:
    entity = await entity_to_administer(ctx, entity_id)
    accepted = await acceptance(ctx, entity, code)
    if accepted.suspended_at is None:
        raise Conflict(
            _(
                "La licence « %(code)s » n'est pas suspendue pour %(name)s.",
                code=code,
                name=entity.name,
            )
        )
    accepted.suspended_at = None
    ctx.audit("licence.reinstated", "entity", entity.id, licence=code)
    await ctx.mail(
        await concerned(ctx, entity),
        "licence_reinstated",
        {"entity": entity, "licence": accepted.licence},
        reference=f"entity:{entity.id}",
    )
    return accepted


@dataclass
class AccountPage:
    accounts: list[Account]
    total: int
    page: int
    pages: int


async def search_accounts(
    ctx: Context, query: str = "", status: str = "", page: int = 1
) -> AccountPage:
    """Accounts of every entity by name, e-mail or entity (its other names too), accents and
    case ignored, newest first."""
    require_instructor(ctx)
    conditions = []
    if status:
        if status not in ACCOUNT_STATUSES:
            raise InvalidFields(
                {"status": f"Statut inconnu : choisissez parmi {', '.join(ACCOUNT_STATUSES)}."}
            )
        conditions.append(Account.status == status)
    person = (Account.email, Account.first_name, Account.last_name)
    for word in query.casefold().split():
        conditions.append(
            or_(
                contains_word(word, person),
                Account.entity_id.in_(select(Entity.id).where(matches(word))),
            )
        )
    return AccountPage(
        *await paginate(ctx, Account, conditions, Account.id.desc(), page, ACCOUNTS_PAGE)
    )


# -- the first instructor (`dinamis accounts create-admin`) -----------------------------------

INSTANCE = {
    "acronym": "DINAMIS",
    "name": "Instance DINAMIS",
    "nationality": "France",
    "address": "",
    "postal_code": "",
    "city": "",
    "category": "public_research_teaching",
    "interest_domain": "Instruction DINAMIS",
    "activity_sector": "public",
}


async def create_instructor(ctx: Context, email: str, password_hash: str) -> tuple[Account, bool]:
    """An active instructor account of the DINAMIS instance (created with its entity when
    missing): what a fresh production install signs in with first. An existing account is
    returned unchanged (False)."""
    email = email.strip().lower()
    existing = await ctx.session.scalar(select(Account).where(Account.email == email))
    if existing is not None:
        return existing, False
    instance = await ctx.session.scalar(
        select(Entity)
        .where(Entity.acronym == INSTANCE["acronym"], Entity.status == "active")
        .order_by(Entity.id)
    )
    now = datetime.now(UTC)
    if instance is None:
        instance = Entity(**INSTANCE, status="active", activated_at=now)
        ctx.session.add(instance)
        await ctx.session.flush()
    account = Account(
        entity_id=instance.id,
        email=email,
        first_name="Instance",
        last_name="DINAMIS",
        function="Instruction",
        phone="",
        nationality="France",
        password_hash=password_hash,
        status="active",
        roles=["user", "instructor"],
        email_verified_at=now,
        validated_at=now,
    )
    ctx.session.add(account)
    await ctx.session.flush()
    ctx.audit("account.instructor_created", "account", account.id, actor="dinamis accounts")
    return account, True
