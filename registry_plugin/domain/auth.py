"""Signing in and credentials: page sessions, bearer tokens for scripts, personal API keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from extensions.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidFields,
    InvalidRequest,
    NotFound,
)
from extensions.i18n import N_, _
from extensions.identity import Identity
from registry_plugin.domain import links
from registry_plugin.domain.accounts import problem, refusal
from registry_plugin.domain.context import Context
from registry_plugin.domain.rights import RIGHTS_COLUMNS, RegistryIdentity
from registry_plugin.models import Account, AuditEvent, AuthToken
from registry_plugin.schemas import NewPassword, field_errors
from registry_plugin.security import check_password, hash_password, new_token, token_hash

BAD_CREDENTIALS = N_("Adresse e-mail ou mot de passe incorrect.")


async def sign_in(ctx: Context, email: str, password: str) -> Account:
    """The account for these credentials, or AuthenticationRequired saying why not."""
    account = await ctx.session.scalar(
        select(Account).where(Account.email == email.strip().lower())
    )
    if not check_password(account.password_hash if account else None, password) or account is None:
        raise AuthenticationRequired(_(BAD_CREDENTIALS))
    if reason := problem(account):
        raise AuthenticationRequired(reason)
    account.last_sign_in_at = datetime.now(UTC)
    ctx.audit("account.signed_in", "account", account.id, actor=account.email)
    return account


KNOWN_ADDRESS_DAYS = 180


async def signed_in_from(ctx: Context, email: str, address: str) -> bool:
    """Whether the account signed in from this address in the last months (the audit)."""
    found = await ctx.session.scalar(
        select(AuditEvent.id)
        .join(Account, Account.id == AuditEvent.subject_id)
        .where(
            Account.email == email,
            AuditEvent.subject_type == "account",
            AuditEvent.action == "account.signed_in",
            func.host(AuditEvent.address) == address,
            AuditEvent.at > datetime.now(UTC) - timedelta(days=KNOWN_ADDRESS_DAYS),
        )
        .limit(1)
    )
    return found is not None


async def issue(
    ctx: Context, account: Account, kind: str, name: str | None = None
) -> tuple[str, AuthToken]:
    """A new credential; the token itself is returned once and only its hash is kept."""
    token = new_token(kind)
    lifetime = {
        "session": timedelta(hours=ctx.settings.session_hours),
        "bearer": timedelta(minutes=ctx.settings.bearer_minutes),
    }.get(kind)
    credential = AuthToken(
        account_id=account.id,
        kind=kind,
        token_hash=token_hash(token),
        name=name,
        prefix=token[:12],
        expires_at=datetime.now(UTC) + lifetime if lifetime else None,
    )
    ctx.session.add(credential)
    await ctx.session.flush()
    if kind == "apikey":
        ctx.audit("apikey.created", "account", account.id, name=name, prefix=credential.prefix)
    return token, credential


async def revoke(ctx: Context, credential_id: int) -> AuthToken:
    """Revoke one of the caller's credentials (an API key)."""
    credential = await ctx.session.get(AuthToken, credential_id)
    if (
        credential is None
        or ctx.identity is None
        or credential.account_id != ctx.identity.account_id
    ):
        raise NotFound(_("Cette clé n'existe pas."))
    if credential.revoked_at is not None:
        raise Conflict(_("Cette clé est déjà révoquée."))
    credential.revoked_at = datetime.now(UTC)
    ctx.audit("apikey.revoked", "account", credential.account_id, prefix=credential.prefix)
    return credential


async def end_session(ctx: Context, token: str) -> None:
    credential = await ctx.session.scalar(
        select(AuthToken).where(AuthToken.token_hash == token_hash(token))
    )
    if credential is not None and credential.revoked_at is None:
        credential.revoked_at = datetime.now(UTC)


CREDENTIAL_SQL = f"""
SELECT t.id AS credential_id, t.kind, t.expires_at, t.revoked_at, t.last_used_at,
       a.id AS account_id, a.email, a.first_name, a.last_name, a.status, a.expires_on, a.roles,
       a.entity_id, e.name AS entity_name, e.status AS entity_status, e.is_relay,
       {RIGHTS_COLUMNS}
FROM registry.auth_tokens t
JOIN registry.accounts a ON a.id = t.account_id
JOIN registry.entities e ON e.id = a.entity_id
WHERE t.token_hash = $1
"""  # noqa: S608 - constant fragments only
LAST_USE_EVERY = timedelta(minutes=5)


async def identify(conn: Any, token: str, kinds: tuple[str, ...]) -> tuple[Identity, int | None]:
    """The identity behind a credential, checked on every use (one query, which also reads
    what the account's rights are made of): revoked, expired, or its account or entity not
    active raise AuthenticationRequired with the reason. Also the credential whose last use
    is worth recording (at most every few minutes)."""
    row = await conn.fetchrow(CREDENTIAL_SQL, token_hash(token))
    now = datetime.now(UTC)
    if row is None or row["kind"] not in kinds:
        raise AuthenticationRequired(_("Identifiant de connexion inconnu : reconnectez-vous."))
    if row["revoked_at"] is not None:
        raise AuthenticationRequired(_("Cet identifiant de connexion a été révoqué."))
    if row["expires_at"] is not None and row["expires_at"] < now:
        raise AuthenticationRequired(_("Votre session a expiré : reconnectez-vous."))
    if reason := refusal(row["status"], row["expires_on"], row["entity_status"]):
        raise AuthenticationRequired(reason)
    identity = make_identity(
        row["account_id"],
        row["email"],
        f"{row['first_name']} {row['last_name']}",
        row["entity_id"],
        row["entity_name"],
        row["roles"],
        row["is_relay"],
        row["kind"],
        grants=row,
        credential_id=row["credential_id"],
    )
    stale = row["last_used_at"] is None or now - row["last_used_at"] > LAST_USE_EVERY
    return identity, row["credential_id"] if stale else None


async def identify_email(session: AsyncSession, email: str) -> Identity:
    """The identity of an account named by a trusted provider (an OIDC token's e-mail)."""
    account = await session.scalar(select(Account).where(Account.email == email))
    if account is None:
        raise AuthenticationRequired(
            _("Aucun compte DINAMIS pour %(email)s : demandez-en un sur le portail.", email=email)
        )
    if reason := problem(account):
        raise AuthenticationRequired(reason)
    return identity_of(account, "oidc")


async def identify_account(session: AsyncSession, account_id: int) -> Identity | None:
    """The account's identity now, None when it may no longer act (deactivated, expired, its
    entity suspended, deleted): what a signature made for it is checked against."""
    account = await session.scalar(select(Account).where(Account.id == account_id))
    if account is None or problem(account):
        return None
    return identity_of(account, "signature")


def identity_of(account: Account, via: str) -> Identity:
    return make_identity(
        account.id,
        account.email,
        account.full_name,
        account.entity_id,
        account.entity.name,
        account.roles,
        account.entity.is_relay,
        via,
    )


def make_identity(
    account_id: int,
    email: str,
    name: str,
    entity_id: int,
    entity_name: str,
    roles: list[str],
    relay_entity: bool,
    via: str,
    grants: Any = None,
    credential_id: int | None = None,
) -> Identity:
    """A relay partner's referent is also a relay; `grants`: the RIGHTS_COLUMNS read with
    the identity, if any."""
    granted = set(roles) | ({"relay"} if relay_entity and "referent" in roles else set())
    return RegistryIdentity(
        account_id,
        email,
        name,
        entity_id,
        entity_name,
        frozenset(granted),
        via,
        grants,
        credential_id,
    )


def validate_key_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise InvalidFields({"name": _("Donnez un nom à cette clé (80 caractères au plus).")})
    return name


async def revoke_credentials(
    ctx: Context, account: Account, reset: bool, keep: int | None = None
) -> None:
    """After a new password, whoever held the old one loses what it opened: every session,
    bearer token and API key of the account but `keep` (the session that changed it) is
    revoked, and the owner is told by mail."""
    revoked = await ctx.session.execute(
        update(AuthToken)
        .where(
            AuthToken.account_id == account.id,
            AuthToken.revoked_at.is_(None),
            AuthToken.id != keep if keep is not None else true(),
        )
        .values(revoked_at=datetime.now(UTC))
        .returning(AuthToken.kind, AuthToken.name, AuthToken.prefix)
    )
    keys = [f"{name} ({prefix}…)" for kind, name, prefix in revoked if kind == "apikey"]
    ctx.audit("account.credentials_revoked", "account", account.id, api_keys=len(keys))
    await ctx.mail(
        [account.email],
        "password_changed",
        {"account": account, "reset": reset, "keys": keys, "link": ctx.link("/compte")},
        reference=f"account:{account.id}",
    )


async def change_password(ctx: Context, current: str, new: NewPassword) -> Account:
    """The signed-in user's new password; the session or bearer token that changed it stays
    signed in, every other credential is revoked."""
    identity = ctx.identity
    account = await ctx.session.get(Account, identity.account_id) if identity else None
    if account is None:
        raise AuthenticationRequired(_("Connectez-vous."))
    if not check_password(account.password_hash, current):
        raise InvalidFields({"current_password": _("Ce n'est pas votre mot de passe actuel.")})
    set_password(account, new)
    keep = (
        identity.credential_id
        if isinstance(identity, RegistryIdentity) and identity.via in ("session", "bearer")
        else None
    )
    await revoke_credentials(ctx, account, reset=False, keep=keep)
    ctx.audit("account.password_changed", "account", account.id)
    return account


def set_password(account: Account, new: NewPassword) -> None:
    try:
        new.check_password(account.email)
    except ValueError as exc:
        raise InvalidFields(field_errors(exc)) from exc
    account.password_hash = hash_password(new.password)


async def request_reset(ctx: Context, email: str) -> None:
    """Mail a reset link when the address has an account; say nothing either way, so the
    page does not tell who has an account."""
    account = await ctx.session.scalar(select(Account).where(Account.email == email))
    if account is None or account.status in ("refused",):
        return
    token = await links.issue(ctx, "password_reset", account.email, {"account_id": account.id})
    await ctx.mail(
        [account.email],
        "password_reset",
        {
            "account": account,
            "hours": ctx.settings.link_hours,
            "link": ctx.private_link("/connexion/nouveau-mot-de-passe/", token),
        },
        reference=f"account:{account.id}",
    )
    ctx.audit("account.password_reset_requested", "account", account.id, actor=account.email)


async def reset_password(ctx: Context, token: str, new: NewPassword) -> Account:
    link = await links.find(ctx, token, "password_reset", consume=False)
    account = await ctx.session.get(Account, link.payload.get("account_id"))
    if account is None or account.email != link.email:
        raise InvalidRequest(_("Ce lien ne correspond plus à un compte."))
    set_password(account, new)
    links.use(link)
    await revoke_credentials(ctx, account, reset=True)
    ctx.audit("account.password_reset", "account", account.id, actor=account.email)
    return account
