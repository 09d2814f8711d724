"""What every registry operation needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import URLSafeTimedSerializer
from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncSession

from extensions.identity import Identity
from extensions.mail import queue_mail
from extensions.mail.outbox import defer_delivery
from registry_plugin.models import AuditEvent
from registry_plugin.settings import RegistrySettings


@dataclass
class Context:
    session: AsyncSession
    settings: RegistrySettings
    mails: Environment
    public_url: str
    secret: str
    identity: Identity | None = None
    address: str | None = None
    queue: Any = None  # the job queue, to deliver mails after the commit
    _queued: list[int] = field(default_factory=list)

    @property
    def actor(self) -> str:
        return self.identity.email if self.identity else "anonyme"

    def audit(
        self,
        action: str,
        subject_type: str,
        subject_id: int | None,
        actor: str | None = None,
        **details: Any,
    ) -> None:
        self.session.add(
            AuditEvent(
                actor_id=self.identity.account_id if self.identity else None,
                actor=actor or self.actor,
                action=action,
                subject_type=subject_type,
                subject_id=subject_id,
                details={k: _plain(v) for k, v in details.items()},
                address=self.address,
            )
        )

    async def mail(
        self,
        recipients: list[str],
        template: str,
        context: dict[str, Any],
        attachments: list[Path] | None = None,
        reference: str | None = None,
    ) -> None:
        message = await queue_mail(
            self.session,
            self.mails,
            recipients,
            template,
            {"public_url": self.public_url, **context},
            attachments=attachments,
            reference=reference,
        )
        self._queued.append(message.id)

    async def commit(self) -> None:
        """Commit, then have the queued mails delivered."""
        await self.session.commit()
        if self._queued and self.queue is not None:
            await defer_delivery(self.queue, self._queued)
        self._queued.clear()

    def link(self, path: str) -> str:
        return self.public_url.rstrip("/") + path

    def signer(self, salt: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=f"registry-{salt}")


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
