"""Request-side helpers shared by the API and the pages."""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from extensions.errors import InvalidFields, TooManyRequests
from extensions.i18n import _
from extensions.identity import CurrentIdentity
from extensions.ratelimit import client_address
from extensions.services import DbSession, services_of
from registry_plugin.domain import auth, links
from registry_plugin.domain.context import Context, service_context
from registry_plugin.models import Entity


def audit_address(request: Request) -> str | None:
    """The client's IP address as the audit records it (INET): none when the server names no
    IP (a Unix socket, a test client's name)."""
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(client_address(request)))
    return None


async def context(request: Request, session: DbSession, identity: CurrentIdentity) -> Context:
    return service_context(services_of(request), session, identity, audit_address(request))


RegistryContext = Annotated[Context, Depends(context)]


def forget_rechecks(request: Request) -> None:
    """Signed URLs are rechecked at once after a suspension or a reinstatement, not at the end
    of the recheck cache's period (this process; the others within
    DINAMIS_SIGNING_RECHECK_SECONDS)."""
    services_of(request).hrefs.rechecked.clear()


async def limit_sign_in(ctx: Context, request: Request, email: str) -> None:
    """Count a sign-in attempt against the client's address, then against the account's
    ceiling (every address together). An attacker's failures never block the account from
    the owner's usual address: past the ceiling, an address the account signed in from
    before is still let through."""
    limit = services_of(request).rate_limiter
    address, account = client_address(request), email.strip().lower()
    await limit.hit(limit.settings.sign_in, f"sign-in:{address}")
    try:
        await limit.hit(ctx.settings.sign_in_ceiling, f"sign-in:{account}")
    except TooManyRequests:
        if not await auth.signed_in_from(ctx, account, address):
            raise


async def limit_mail(request: Request, email: str) -> None:
    """Count an e-mail sent on a visitor's request, against the client and the address."""
    limit = services_of(request).rate_limiter
    await limit.hit(limit.settings.mail, f"mail:{client_address(request)}", f"mail:{email}")


async def send_verification(
    ctx: Context, request: Request, email: str, purpose: str, entity_id: int | None
) -> None:
    """E-mail a verification link before an adhesion (`adhesion`) or an account request for
    an adherent entity (`account`); rate-limited per client and per address."""
    await limit_mail(request, email)
    if purpose == "account":
        entity = await ctx.session.get(Entity, entity_id) if entity_id else None
        if entity is None or entity.status != "active":
            raise InvalidFields(
                {"entity_id": _("Choisissez votre entité parmi les entités adhérentes.")}
            )
    token = await links.issue(
        ctx, "verify_email", email, {"purpose": purpose, "entity_id": entity_id}
    )
    await ctx.mail(
        [email],
        "verify_email",
        {
            "email": email,
            "purpose": purpose,
            "hours": ctx.settings.link_hours,
            "link": ctx.private_link("/portail/verification/", token),
        },
    )
    ctx.audit("email.verification_sent", "email", None, actor=email, purpose=purpose)
