"""The registry's lifecycle, run every hour on the job queue: notices before an account or a
mission expires, the expiry applied at its date, reminders to legal representatives who have
not e-validated, and the purge of abandoned forms and dead links.

Each step takes the moment it runs for (`now`), so that tests choose it instead of waiting,
and is idempotent: what was mailed is recorded in the audit log, and a step run twice sends
nothing more. Dates are read in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import procrastinate
from sqlalchemy import Exists, delete, exists, select

from extensions.services import job_services
from registry_plugin.domain import files
from registry_plugin.domain.accounts import referents, tell
from registry_plugin.domain.adhesions import ask_legal_representative
from registry_plugin.domain.context import Context, service_context
from registry_plugin.models import (
    Account,
    AuditEvent,
    Draft,
    Entity,
    LegalRepresentative,
    LinkToken,
    Mission,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from extensions.services import Services

    Step = Callable[[Context, datetime], Awaitable[int]]

NOTICE_DAYS = (7, 30)
"""Days before an expiry at which its notice is sent: the nearest one not sent yet."""
RL_REMINDER_DAYS = 7
SYSTEM = "system"


def noticed(subject_type: str, subject_id: object, action: str, **details: str) -> Exists:
    """An audit event recording that this notice was sent."""
    return exists().where(
        AuditEvent.subject_type == subject_type,
        AuditEvent.subject_id == subject_id,
        AuditEvent.action == action,
        *(AuditEvent.details[key].astext == value for key, value in details.items()),
    )


def notice_due(expires_on: date, today: date, sent: set[int]) -> int | None:
    """The notice (days before) an expiry calls for today, if not sent yet."""
    left = (expires_on - today).days
    due = min((d for d in NOTICE_DAYS if 0 <= left <= d), default=None)
    return due if due is not None and due not in sent else None


async def sent_notices(ctx: Context, subject_type: str, subject_id: int, until: date) -> set[int]:
    rows = await ctx.session.scalars(
        select(AuditEvent.details["days"].astext).where(
            AuditEvent.subject_type == subject_type,
            AuditEvent.subject_id == subject_id,
            AuditEvent.action == f"{subject_type}.expiry_notice",
            AuditEvent.details["expires_on"].astext == until.isoformat(),
        )
    )
    return {int(days) for days in rows}


async def expiry_notices(ctx: Context, now: datetime) -> int:
    """Mail accounts 30 and 7 days before their expiry, and the referents of an entity before
    its mission ends; each notice once (a later expiry date starts over)."""
    today, horizon = now.astimezone(UTC).date(), max(NOTICE_DAYS)
    count = 0
    accounts = await ctx.session.scalars(
        select(Account).where(
            Account.status == "active",
            Account.expires_on >= today,
            Account.expires_on <= today + timedelta(days=horizon),
        )
    )
    for account in accounts:
        assert account.expires_on is not None
        sent = await sent_notices(ctx, "account", account.id, account.expires_on)
        if (days := notice_due(account.expires_on, today, sent)) is not None:
            await tell(ctx, account, "account_expiry_notice", days=days)
            ctx.audit(
                "account.expiry_notice",
                "account",
                account.id,
                actor=SYSTEM,
                days=days,
                expires_on=account.expires_on,
            )
            count += 1
    missions = await ctx.session.scalars(
        select(Mission)
        .join(Entity, Entity.id == Mission.entity_id)
        .where(
            Entity.status == "active",
            Mission.valid_to >= today,
            Mission.valid_to <= today + timedelta(days=horizon),
        )
    )
    for mission in missions:
        sent = await sent_notices(ctx, "mission", mission.id, mission.valid_to)
        if (days := notice_due(mission.valid_to, today, sent)) is not None:
            await mail_referents(ctx, mission, "mission_expiry_notice", days=days)
            ctx.audit(
                "mission.expiry_notice",
                "mission",
                mission.id,
                actor=SYSTEM,
                days=days,
                expires_on=mission.valid_to,
                entity=mission.entity_id,
            )
            count += 1
    return count


async def mail_referents(ctx: Context, mission: Mission, template: str, **context: object) -> None:
    entity = await ctx.session.get(Entity, mission.entity_id)
    if recipients := await referents(ctx, mission.entity_id):
        await ctx.mail(
            recipients,
            template,
            {"mission": mission, "entity": entity, **context},
            reference=f"entity:{mission.entity_id}",
        )


async def apply_expiries(ctx: Context, now: datetime) -> int:
    """From the day after its expiry date, an account is expired: it no longer signs in and
    its credentials are refused (its referent may give it a later date); the referents of an
    entity whose mission ended are told once (the mission's rights end with it)."""
    today = now.astimezone(UTC).date()
    expired = list(
        await ctx.session.scalars(
            select(Account)
            .where(Account.status == "active", Account.expires_on < today)
            .with_for_update(of=Account)
        )
    )
    for account in expired:
        account.status = "expired"
        ctx.audit(
            "account.expired", "account", account.id, actor=SYSTEM, expires_on=account.expires_on
        )
        await tell(ctx, account, "account_expired")
    ended = await ctx.session.scalars(
        select(Mission)
        .join(Entity, Entity.id == Mission.entity_id)
        .where(
            Entity.status == "active",
            Mission.valid_to < today,
            Mission.valid_to >= today - timedelta(days=max(NOTICE_DAYS)),
            ~noticed("mission", Mission.id, "mission.expired"),
        )
    )
    for mission in ended:
        await mail_referents(ctx, mission, "mission_expired")
        ctx.audit(
            "mission.expired",
            "mission",
            mission.id,
            actor=SYSTEM,
            expires_on=mission.valid_to,
            entity=mission.entity_id,
        )
    return len(expired)


async def remind_legal_representatives(ctx: Context, now: datetime) -> int:
    """A legal representative who has not e-validated within a week of the last link gets a
    new one, and again each week while the validation is awaited."""
    waiting = list(
        await ctx.session.scalars(
            select(Entity)
            .join(LegalRepresentative, LegalRepresentative.entity_id == Entity.id)
            .where(
                LegalRepresentative.validated_at.is_(None),
                LegalRepresentative.requested_at <= now - timedelta(days=RL_REMINDER_DAYS),
                Entity.status.in_(("awaiting_rl", "active", "suspended")),
            )
        )
    )
    for entity in waiting:
        rl = entity.legal_representative
        assert rl is not None
        days = (now - rl.requested_at).days
        await ask_legal_representative(
            ctx, entity, renewal=entity.status != "awaiting_rl", reminder_days=days
        )
        rl.requested_at = now
        ctx.audit("entity.legal_representative_reminded", "entity", entity.id, actor=SYSTEM)
    return len(waiting)


async def purge(ctx: Context, now: datetime) -> int:
    """Forms never finished (drafts past their expiry, with their uploads) and mailed links
    past their expiry: a day later, nothing of them is kept."""
    cutoff = now - timedelta(days=1)
    uploads = list(
        await ctx.session.scalars(
            delete(Draft).where(Draft.expires_at < cutoff).returning(Draft.upload_path)
        )
    )
    for href in uploads:
        await files.remove(ctx.files, href)
    links = await ctx.session.execute(
        delete(LinkToken).where(LinkToken.expires_at < cutoff).returning(LinkToken.nonce)
    )
    return len(uploads) + len(links.all())


STEPS = (expiry_notices, apply_expiries, remind_legal_representatives, purge)


async def run_step(services: Services, step: Step, now: datetime) -> int:
    """One step in its own transaction, with no caller: audited as the system's."""
    async with services.database.session() as session:
        ctx = service_context(services, session)
        done = await step(ctx, now)
        await ctx.commit()
    return done


async def run(services: Services, now: datetime) -> dict[str, int]:
    """Every step, each in its own transaction (a failing step leaves the others done)."""
    return {step.__name__: await run_step(services, step, now) for step in STEPS}


async def lifecycle_task(context: procrastinate.JobContext, timestamp: int) -> None:
    await run(job_services(context), datetime.fromtimestamp(timestamp, UTC))


def register_tasks(blueprint: procrastinate.Blueprint) -> None:
    task = blueprint.task(name="lifecycle", queueing_lock="registry-lifecycle", pass_context=True)
    blueprint.periodic(cron="7 * * * *")(task(lifecycle_task))
