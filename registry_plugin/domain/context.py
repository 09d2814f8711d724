"""What every registry operation needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from extensions.assets import Storage
from extensions.identity import Identity
from extensions.mail import Mailing, MailSeal
from registry_plugin.models import Account, AuditEvent
from registry_plugin.settings import RegistrySettings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from extensions.services import Services


@dataclass
class Context(Mailing):
    """The session, the caller and the mails of one registry operation."""

    settings: RegistrySettings
    public_url: str
    secrets: list[str]
    """The site's keys, the signing one first (DINAMIS_SECRET_KEY, then the previous ones)."""
    files: Storage
    """Where the registry's files are kept (`registry_plugin.domain.files`)."""
    identity: Identity | None = None
    address: str | None = None
    services: Services | None = None
    """The process's services (none in the CLI): the plugins told of an entity merge."""

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

    def link(self, path: str) -> str:
        return self.public_url.rstrip("/") + path

    def private_link(self, path: str, token: str) -> str:
        """A link for its recipient alone: the token is sealed in the outbox's copy."""
        return self.link(path) + MailSeal(self.secrets).seal(token)

    def signer(self, salt: str) -> URLSafeTimedSerializer:
        # itsdangerous signs with the last key and accepts all: the newest last.
        return URLSafeTimedSerializer(self.secrets[::-1], salt=f"registry-{salt}")


async def stored_languages(session: AsyncSession, addresses: Sequence[str]) -> dict[str, str]:
    """The language of the account of each address that has one (its mails are in it)."""
    rows = await session.execute(
        select(Account.email, Account.language).where(
            Account.email.in_({a.lower() for a in addresses})
        )
    )
    return dict(rows.all())


def service_context(
    services: Services,
    session: AsyncSession,
    identity: Identity | None = None,
    address: str | None = None,
) -> Context:
    """A registry context over the services: a request's (its caller and address) or a job's
    (no caller: what it does is audited as the system's)."""
    web = services.settings.web
    return Context(
        session=session,
        settings=services.settings.plugin(RegistrySettings),
        mails=services.templates.env,
        public_url=web.public_url,
        secrets=web.secret_keys,
        files=services.hrefs.storage,
        identity=identity,
        address=address,
        queue=services.jobs,
        languages=stored_languages,
        services=services,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
