"""The outbox table, queueing and SMTP delivery."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import aiosmtplib
import anyio
import procrastinate
from jinja2 import Environment
from sqlalchemy import BigInteger, DateTime, Integer, String, Text, func, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from extensions.database import Base
from extensions.i18n import DEFAULT, language, speaking
from extensions.mail.seal import MailSeal, masked
from extensions.mail.settings import MailSettings
from extensions.services import job_services

if TYPE_CHECKING:
    from extensions.assets.storage import Storage

logger = logging.getLogger(__name__)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = {"schema": "dinamis"}  # noqa: RUF012 - SQLAlchemy's declarative API

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    recipients: Mapped[list[str]] = mapped_column(ARRAY(Text))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[dict[str, str]]] = mapped_column(JSONB, default=list)
    template: Mapped[str] = mapped_column(String(100))
    reference: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(
        String(20), default="queued"
    )  # queued, sent, stored, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def render_mail(
    environment: Environment, template: str, context: dict[str, Any], lang: str = DEFAULT
) -> tuple[str, str]:
    """A mail template's subject (its first line, `Objet : …`) and body (the rest), in the
    recipient's language (French unless known)."""
    with speaking(lang):
        text = environment.get_template(f"mails/{template}.txt").render(**context).lstrip()
    first, _, body = text.partition("\n")
    if not first.startswith("Objet :"):
        raise ValueError(f"mails/{template}.txt must start with 'Objet : '")
    return first.removeprefix("Objet :").strip(), body.strip() + "\n"


async def queue_mail(
    session: AsyncSession,
    environment: Environment,
    recipients: list[str],
    template: str,
    context: dict[str, Any],
    attachments: list[str] | None = None,
    reference: str | None = None,
    lang: str = DEFAULT,
) -> OutboxMessage:
    """Add a message to the outbox within the caller's transaction; after the commit,
    `defer_delivery` (or the periodic sweep) sends it. Attachments are hrefs in the asset
    storage, which every worker reads (S3 when configured)."""
    subject, body = render_mail(environment, template, context, lang)
    message = OutboxMessage(
        recipients=sorted(set(recipients)),
        subject=subject,
        body=body,
        attachments=[{"href": h, "filename": PurePosixPath(h).name} for h in attachments or []],
        template=template,
        reference=reference,
    )
    session.add(message)
    await session.flush()
    return message


Languages = Callable[[AsyncSession, Sequence[str]], Awaitable[dict[str, str]]]
"""The language stored with the account of each address that has one (lower case), read in the
mail's transaction: the identity provider's `languages`."""


@dataclass(kw_only=True)
class Mailing:
    """A unit of work whose mails are written to the outbox in its transaction and handed to
    the delivery job once it is committed (never before: a rollback sends nothing)."""

    session: AsyncSession
    mails: Environment | None = None
    queue: Any = None  # the job queue; without one, the outbox sweep delivers
    languages: Languages | None = None
    """Where the recipients' languages are stored; without it, every mail is in the current
    language."""
    _queued: list[int] = field(default_factory=list, repr=False)

    async def mail(
        self,
        recipients: list[str],
        template: str,
        context: dict[str, Any],
        attachments: list[str] | None = None,
        reference: str | None = None,
    ) -> None:
        """Queue a mail, one message per language of its recipients: each reads it in the
        language stored with their account; an address with no account (someone invited by
        e-mail) in the language of the person acting (French in a job)."""
        if self.mails is None:
            return
        stored = await self.languages(self.session, recipients) if self.languages else {}
        readers: dict[str, list[str]] = {}
        for address in recipients:
            readers.setdefault(stored.get(address.lower(), language()), []).append(address)
        for lang, addresses in readers.items():
            message = await queue_mail(
                self.session, self.mails, addresses, template, context, attachments, reference, lang
            )
            self._queued.append(message.id)

    async def commit(self) -> None:
        """Commit, then have the mails of this unit of work delivered."""
        await self.session.commit()
        if self._queued and self.queue is not None:
            await defer_delivery(self.queue, self._queued)
        self._queued.clear()


async def defer_delivery(queue: Any, message_ids: list[int]) -> None:
    """Queue one delivery job per message (a queueing lock prevents duplicates); a failure
    here only delays delivery until the next sweep."""
    for message_id in message_ids:
        try:
            await queue.configure_task(
                "core:deliver_mail", queueing_lock=f"mail-{message_id}"
            ).defer_async(message_id=message_id)
        except procrastinate.exceptions.AlreadyEnqueued:
            continue
        except Exception:
            logger.exception("could not queue the delivery of message %s", message_id)


def build_email(
    message: OutboxMessage, settings: MailSettings, seal: MailSeal, storage: Storage | None = None
) -> EmailMessage:
    """The mail as its recipients get it: sealed secrets opened, attachments read from the
    asset storage (those queued before it named a local `path`, read from this disk)."""
    email = EmailMessage()
    email["From"] = formataddr((settings.sender_name, settings.sender_address))
    email["To"] = ", ".join(message.recipients)
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}", domain="dinamis")
    email.set_content(seal.open(message.body))
    for attachment in message.attachments:
        filename = attachment["filename"]
        if "path" in attachment:
            content = Path(attachment["path"]).read_bytes()
        else:
            assert storage is not None, "attachments are read from the asset storage"
            content = storage.read(attachment["href"])
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        email.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return email


async def deliver(
    session: AsyncSession,
    message_id: int,
    settings: MailSettings,
    seal: MailSeal,
    storage: Storage | None = None,
) -> str:
    """Send one message; returns its new status. Raises on a failure that should be retried.
    Once sent, the stored copy keeps its secrets masked only."""
    message = await session.get(OutboxMessage, message_id, with_for_update={"skip_locked": True})
    if message is None or message.status in ("sent", "stored", "failed"):
        return message.status if message else "missing"
    if not settings.smtp_host:
        message.status = "stored"
        await session.commit()
        return message.status
    message.attempts += 1
    try:
        await aiosmtplib.send(
            await anyio.to_thread.run_sync(build_email, message, settings, seal, storage),
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            use_tls=settings.security == "ssl",
            start_tls=settings.security == "starttls",
            timeout=settings.timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        message.last_error = f"{type(exc).__name__}: {exc}"
        if message.attempts >= settings.max_attempts:
            message.status = "failed"
        await session.commit()
        if message.status == "failed":
            return message.status
        raise
    message.status, message.sent_at, message.last_error = "sent", datetime.now(UTC), None
    message.body = masked(message.body)
    await session.commit()
    return message.status


async def deliver_mail(context: procrastinate.JobContext, message_id: int) -> None:
    services = job_services(context)
    seal = MailSeal(services.settings.web.secret_keys)
    async with services.database.session() as session:
        await deliver(session, message_id, services.settings.mail, seal, services.hrefs.storage)


async def sweep_outbox(context: procrastinate.JobContext, timestamp: int) -> None:
    """Re-queue messages still waiting ten minutes after they were written."""
    async with job_services(context).database.session() as session:
        stale = datetime.now(UTC) - timedelta(minutes=10)
        ids = await session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.status == "queued", OutboxMessage.created_at < stale
            )
        )
        waiting = list(ids)
    await defer_delivery(context.app, waiting)


def mail_tasks() -> procrastinate.Blueprint:
    """The mail tasks, on a new blueprint."""
    blueprint = procrastinate.Blueprint()
    blueprint.task(
        name="deliver_mail",
        pass_context=True,
        retry=procrastinate.RetryStrategy(max_attempts=12, exponential_wait=15),
    )(deliver_mail)
    sweep = blueprint.task(name="sweep_outbox", queueing_lock="sweep_outbox", pass_context=True)
    blueprint.periodic(cron="*/5 * * * *")(sweep(sweep_outbox))
    return blueprint
