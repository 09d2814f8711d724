"""Links sent by e-mail and the tickets they grant.

A link carries a signed token (itsdangerous) naming a nonce; the nonce's row says what the
link is for, when it expires, and whether it was used: links are signed, expiring, and
single-use. Following an e-mail verification link grants a short-lived signed ticket that
the forms (pages or API) present as proof of the verified address.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import select

from extensions.errors import InvalidRequest
from extensions.i18n import _
from registry_plugin.domain.context import Context
from registry_plugin.models import LinkToken

TICKET_HOURS = 3


async def issue(
    ctx: Context, purpose: str, email: str, payload: dict[str, Any] | None = None
) -> str:
    """A new link token for `purpose`, valid for the registry's link lifetime."""
    nonce = secrets.token_urlsafe(24)
    ctx.session.add(
        LinkToken(
            nonce=nonce,
            purpose=purpose,
            email=email,
            payload=payload or {},
            expires_at=datetime.now(UTC) + timedelta(hours=ctx.settings.link_hours),
        )
    )
    return str(ctx.signer(purpose).dumps(nonce))


async def find(ctx: Context, token: str, purpose: str, consume: bool) -> LinkToken:
    """The link's row, if the token is genuine, unexpired and unused; `consume` uses it."""
    try:
        nonce = ctx.signer(purpose).loads(token, max_age=ctx.settings.link_hours * 3600)
    except SignatureExpired as exc:
        raise InvalidRequest(_("Ce lien a expiré : demandez-en un nouveau.")) from exc
    except BadSignature as exc:
        raise InvalidRequest(_("Ce lien n'est pas valide : vérifiez qu'il est complet.")) from exc
    link = await ctx.session.scalar(
        select(LinkToken).where(LinkToken.nonce == nonce).with_for_update()
    )
    if link is None or link.purpose != purpose:
        raise InvalidRequest(_("Ce lien n'est pas valide : vérifiez qu'il est complet."))
    if link.used_at is not None:
        raise InvalidRequest(_("Ce lien a déjà été utilisé."))
    if link.expires_at < datetime.now(UTC):
        raise InvalidRequest(_("Ce lien a expiré : demandez-en un nouveau."))
    if consume:
        use(link)
    return link


def use(link: LinkToken) -> None:
    """A link works once."""
    link.used_at = datetime.now(UTC)


def ticket(ctx: Context, email: str, purpose: str, **data: Any) -> str:
    """Proof that `email` was verified, for the next few hours."""
    return str(ctx.signer("ticket").dumps({"email": email, "purpose": purpose, **data}))


def read_ticket(ctx: Context, value: str | None, purpose: str) -> dict[str, Any]:
    if not value:
        raise InvalidRequest(_("Vérifiez d'abord votre adresse e-mail."))
    try:
        data: dict[str, Any] = ctx.signer("ticket").loads(value, max_age=TICKET_HOURS * 3600)
    except SignatureExpired as exc:
        raise InvalidRequest(
            _("La vérification de votre adresse e-mail a expiré : recommencez.")
        ) from exc
    except BadSignature as exc:
        raise InvalidRequest(
            _("La vérification de votre adresse e-mail n'est pas valide.")
        ) from exc
    if data.get("purpose") != purpose:
        raise InvalidRequest(_("Cette vérification d'adresse ne sert pas à cette démarche."))
    return data
