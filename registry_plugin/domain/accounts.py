"""User accounts of adherent entities: creation, validation by the referent, administration."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from extensions.errors import Conflict, InvalidFields, NotFound, PermissionDenied
from extensions.i18n import _
from registry_plugin.domain.context import Context
from registry_plugin.domain.licences import accepted, product_licences
from registry_plugin.models import Account, AccountCertification, Entity
from registry_plugin.schemas import AccountInfo
from registry_plugin.vocabulary import LANGUAGE_NAMES

ENTITY_PAGE = "/registre/entite"
PERSONAL_FIELDS = {
    "first_name",
    "last_name",
    "function",
    "phone",
    "nationality",
    "address",
    "postal_code",
    "city",
}


def pending_account(
    entity_id: int, email: str, person: BaseModel, password_hash: str, roles: list[str]
) -> Account:
    """A new account of a verified address, waiting for its validation."""
    return Account(
        entity_id=entity_id,
        email=email,
        password_hash=password_hash,
        status="pending",
        roles=roles,
        email_verified_at=datetime.now(UTC),
        **person.model_dump(include=PERSONAL_FIELDS),
    )


async def email_taken(ctx: Context, email: str) -> bool:
    return bool(await ctx.session.scalar(select(func.count()).where(Account.email == email)))


async def referents(ctx: Context, entity_id: int) -> list[str]:
    rows = await ctx.session.scalars(
        select(Account.email).where(
            Account.entity_id == entity_id,
            Account.status == "active",
            Account.roles.contains(["referent"]),
        )
    )
    return list(rows)


async def create(
    ctx: Context, entity_id: int, verified_email: str, request: AccountInfo, password_hash: str
) -> Account:
    """A new account (pending) for an adherent entity; its referent is asked to validate it."""
    entity = await ctx.session.get(Entity, entity_id)
    if entity is None or entity.status != "active":
        raise NotFound(_("Cette entité n'est pas adhérente à DINAMIS."))
    errors: dict[str, str] = {}
    if request.email != verified_email:
        errors["email"] = _(
            "Utilisez l'adresse que vous avez vérifiée (%(verified_email)s).",
            verified_email=verified_email,
        )
    if await email_taken(ctx, request.email):
        errors["email"] = _("Un compte DINAMIS existe déjà pour cette adresse : connectez-vous.")
    certifiable = {
        lic.code: lic for lic in product_licences(await accepted(ctx.session, entity.id))
    }
    if unknown := [c for c in request.certifications if c not in certifiable]:
        errors["certifications"] = _(
            "Votre entité n'a pas accepté : %(value)s.", value=", ".join(unknown)
        )
    if errors:
        raise InvalidFields(errors)
    account = pending_account(entity.id, request.email, request, password_hash, ["user"])
    ctx.session.add(account)
    await ctx.session.flush()
    for code in sorted(set(request.certifications)):
        ctx.session.add(
            AccountCertification(account_id=account.id, licence_id=certifiable[code].id)
        )
    ctx.audit(
        "account.requested",
        "account",
        account.id,
        actor=account.email,
        entity=entity.id,
        certifications=sorted(set(request.certifications)),
    )
    context = {"account": account, "entity": entity, "link": ctx.link(ENTITY_PAGE)}
    await tell(ctx, account, "account_received", entity=entity)
    if recipients := await referents(ctx, entity.id):
        await ctx.mail(
            recipients, "account_to_validate", context, reference=f"account:{account.id}"
        )
    return account


async def tell(ctx: Context, account: Account, template: str, **context: object) -> None:
    """Mail the account's owner about their account."""
    await ctx.mail(
        [account.email],
        template,
        {"account": account, **context},
        reference=f"account:{account.id}",
    )


async def managed(ctx: Context, account_id: int) -> Account:
    """An account the caller administers: its entity's referent, its relay, or an instructor."""
    account = await ctx.session.get(Account, account_id, with_for_update=True)
    if account is None:
        raise NotFound(_("Ce compte n'existe pas."))
    identity = ctx.identity
    if identity is None:
        raise PermissionDenied(_("Connectez-vous."))
    allowed = (
        identity.has("instructor", "admin")
        or (identity.has("referent") and identity.entity_id == account.entity_id)
        or (identity.has("relay") and account.entity.relay_id == identity.entity_id)
    )
    if not allowed:
        raise PermissionDenied(_("Seul le Référent DINAMIS de son entité administre ce compte."))
    return account


async def validate(ctx: Context, account_id: int, expires_on: date | None = None) -> Account:
    account = await managed(ctx, account_id)
    if account.status != "pending":
        raise Conflict(
            _(
                "Ce compte n'est pas en attente de validation (statut : %(status)s).",
                status=account.status,
            )
        )
    if expires_on is not None and expires_on <= date.today():
        raise InvalidFields({"expires_on": _("La date d'expiration doit être dans le futur.")})
    account.status, account.expires_on = "active", expires_on
    account.validated_at, account.validated_by_id = (
        datetime.now(UTC),
        ctx.identity.account_id if ctx.identity else None,
    )
    ctx.audit("account.validated", "account", account.id, expires_on=expires_on)
    await tell(ctx, account, "account_validated")
    return account


async def refuse(ctx: Context, account_id: int, reason: str | None = None) -> Account:
    account = await managed(ctx, account_id)
    if account.status != "pending":
        raise Conflict(
            _(
                "Ce compte n'est pas en attente de validation (statut : %(status)s).",
                status=account.status,
            )
        )
    account.status = "refused"
    ctx.audit("account.refused", "account", account.id, reason=reason)
    await tell(ctx, account, "account_refused", reason=reason)
    return account


async def deactivate(ctx: Context, account_id: int) -> Account:
    account = await managed(ctx, account_id)
    if ctx.identity and account.id == ctx.identity.account_id:
        raise Conflict(
            _(
                "Vous ne pouvez pas désactiver votre propre compte : transmettez d'abord le "
                "rôle de référent."
            )
        )
    if account.status != "active":
        raise Conflict(_("Ce compte n'est pas actif (statut : %(status)s).", status=account.status))
    account.status = "deactivated"
    ctx.audit("account.deactivated", "account", account.id)
    await tell(ctx, account, "account_deactivated")
    return account


async def reactivate(ctx: Context, account_id: int) -> Account:
    account = await managed(ctx, account_id)
    if account.status != "deactivated":
        raise Conflict(_("Seul un compte désactivé peut être réactivé."))
    account.status = "active"
    ctx.audit("account.reactivated", "account", account.id)
    return account


async def set_expiry(ctx: Context, account_id: int, expires_on: date | None) -> Account:
    account = await managed(ctx, account_id)
    if expires_on is not None and expires_on <= date.today():
        raise InvalidFields({"expires_on": _("La date d'expiration doit être dans le futur.")})
    previous, account.expires_on = account.expires_on, expires_on
    renewed = account.status == "expired"  # a later date gives an expired account its access back
    if renewed:
        account.status = "active"
    ctx.audit(
        "account.expiry_changed",
        "account",
        account.id,
        before=previous,
        after=expires_on,
        renewed=renewed,
    )
    return account


async def hand_over_referent(ctx: Context, entity_id: int, account_id: int) -> Account:
    """The referent (or an instructor) makes another active account of the entity its referent."""
    identity = ctx.identity
    if identity is None or not (
        identity.has("instructor", "admin")
        or (identity.has("referent") and identity.entity_id == entity_id)
    ):
        raise PermissionDenied(_("Seul le Référent DINAMIS de l'entité peut transmettre son rôle."))
    successor = await ctx.session.get(Account, account_id, with_for_update=True)
    if successor is None or successor.entity_id != entity_id or successor.status != "active":
        raise InvalidFields({"account_id": _("Choisissez un compte actif de l'entité.")})
    current = list(
        await ctx.session.scalars(
            select(Account).where(
                Account.entity_id == entity_id,
                Account.roles.contains(["referent"]),
                Account.id != successor.id,
            )
        )
    )
    for account in current:
        account.roles = [r for r in account.roles if r != "referent"]
    successor.roles = sorted({*successor.roles, "referent"})
    ctx.audit(
        "entity.referent_changed",
        "entity",
        entity_id,
        referent=successor.email,
        before=[a.email for a in current],
    )
    await tell(ctx, successor, "referent_granted")
    for account in current:
        await tell(
            ctx,
            account,
            "referent_replaced",
            successor=successor,
            by_instructor=identity.has("instructor", "admin"),
        )
    return successor


def problem(account: Account) -> str | None:
    """Why this account may not sign in (None when it may), in French."""
    return refusal(account.status, account.expires_on, account.entity.status)


def refusal(status: str, expires_on: date | None, entity_status: str) -> str | None:
    if status == "pending":
        return _("Votre compte attend la validation du Référent DINAMIS de votre entité.")
    if status == "refused":
        return _("Votre demande de compte a été refusée.")
    if status == "deactivated":
        return _("Votre compte est désactivé : contactez le Référent DINAMIS de votre entité.")
    if status == "expired" or (expires_on is not None and expires_on < date.today()):
        return _(
            "Votre compte a expiré%(value)s : contactez le Référent DINAMIS de votre entité.",
            value=f" le {expires_on:%d/%m/%Y}" if expires_on else "",
        )
    if entity_status == "suspended":
        return _(
            "L'adhésion de votre entité à DINAMIS est suspendue par l'instance DINAMIS : "
            "contactez le Référent DINAMIS de votre entité."
        )
    if entity_status != "active":
        return _("L'adhésion de votre entité à DINAMIS n'est pas active.")
    return None


async def choose_language(ctx: Context, lang: str) -> Account:
    """The signed-in user's language, in which every mail to them is written from now on."""
    account = await ctx.session.get(Account, ctx.identity.account_id) if ctx.identity else None
    if account is None:
        raise PermissionDenied(_("Connectez-vous."))
    if lang not in LANGUAGE_NAMES:
        raise InvalidFields(
            {
                "language": _(
                    "Langue inconnue « %(lang)s » : choisissez parmi %(choices)s.",
                    lang=lang[:20],
                    choices=", ".join(LANGUAGE_NAMES),
                )
            }
        )
    if account.language != lang:
        ctx.audit(
            "account.language_changed", "account", account.id, before=account.language, after=lang
        )
        account.language = lang
    return account


async def certify(ctx: Context, codes: list[str]) -> list[str]:
    """The signed-in user certifies more of the licences their entity accepted; returns
    every licence the user has certified."""
    account = await ctx.session.get(Account, ctx.identity.account_id) if ctx.identity else None
    if account is None:
        raise PermissionDenied(_("Connectez-vous."))
    certifiable = {
        lic.code: lic for lic in product_licences(await accepted(ctx.session, account.entity_id))
    }
    if unknown := sorted(set(codes) - set(certifiable)):
        raise InvalidFields(
            {
                "certifications": _(
                    "Votre entité n'a pas accepté : %(value)s.", value=", ".join(unknown)
                )
            }
        )
    done = {c.licence.code for c in await certifications(ctx, account.id)}
    added = sorted(set(codes) - done)
    for code in added:
        ctx.session.add(
            AccountCertification(account_id=account.id, licence_id=certifiable[code].id)
        )
    if added:
        ctx.audit("account.certified", "account", account.id, licences=added)
    return sorted(done | set(added))


async def certifications(ctx: Context, account_id: int) -> list[AccountCertification]:
    rows = await ctx.session.scalars(
        select(AccountCertification)
        .where(AccountCertification.account_id == account_id)
        .order_by(AccountCertification.id)
    )
    return list(rows)


DEMO_ACCOUNTS = text(
    "SELECT a.email FROM registry.accounts a JOIN dinamis.loads l ON l.name = 'registry-demo' "
    "WHERE a.email IN (SELECT jsonb_array_elements_text(l.parameters->'emails')) ORDER BY 1"
)


async def demo_accounts(session: AsyncSession) -> list[str]:
    """Accounts of the demo scenario (their password is public) still in the database."""
    return list(await session.scalars(DEMO_ACCOUNTS))
