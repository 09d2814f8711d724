"""Forms in progress on the pages (the adhesion wizard, an account request), kept between
steps once the e-mail address is verified. A draft holds no password, only its hash."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete

from extensions.errors import InvalidRequest
from extensions.i18n import N_, _
from registry_plugin.domain import files
from registry_plugin.domain.context import Context
from registry_plugin.models import Draft

EXPIRED = N_(
    "Votre formulaire a expiré ou a déjà été envoyé : vérifiez à nouveau votre adresse e-mail "
    "depuis le portail."
)


async def start(ctx: Context, kind: str, email: str, data: dict[str, Any]) -> Draft:
    """A new draft; drafts past their expiry are removed on the way, with their uploads."""
    expired = await ctx.session.scalars(
        delete(Draft).where(Draft.expires_at < datetime.now(UTC)).returning(Draft.upload_path)
    )
    for href in expired:
        await files.remove(ctx.files, href)
    draft = Draft(
        id=secrets.token_urlsafe(24),
        kind=kind,
        email=email,
        data=data,
        expires_at=datetime.now(UTC) + timedelta(hours=ctx.settings.link_hours),
    )
    ctx.session.add(draft)
    return draft


async def find(ctx: Context, draft_id: str | None, kind: str) -> Draft:
    draft = await ctx.session.get(Draft, draft_id, with_for_update=True) if draft_id else None
    if draft is None or draft.kind != kind or draft.expires_at < datetime.now(UTC):
        raise InvalidRequest(_(EXPIRED))
    return draft


def save(draft: Draft, key: str, value: Any) -> None:
    draft.data = {**draft.data, key: value}


async def discard(ctx: Context, draft: Draft, keep_upload: bool = False) -> None:
    if not keep_upload:
        await files.remove(ctx.files, draft.upload_path)
    await ctx.session.delete(draft)
