"""Adhesion of an entity: submission, the legal representative's e-validation, the partner's
validation (private contractors), and instruction with the "Acte d'adhésion"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from extensions.errors import Conflict, InvalidFields, NotFound, PermissionDenied
from extensions.i18n import DEFAULT, LANGUAGES, _
from registry_plugin.domain import acts, files, links
from registry_plugin.domain.accounts import email_taken, pending_account, referents
from registry_plugin.domain.context import Context
from registry_plugin.domain.licences import accepted, applicable
from registry_plugin.models import (
    Account,
    Adhesion,
    Entity,
    EntityAcceptance,
    LegalRepresentative,
    Licence,
    Mission,
    MissionSensor,
    Partnership,
)
from registry_plugin.schemas import AdhesionForm
from registry_plugin.schemas import LegalRepresentative as RlInfo
from registry_plugin.vocabulary import flow_of

RL_PATH = "/portail/adhesion/validation/"


@dataclass
class Upload:
    href: str
    """In the registry's storage (`files`)."""
    name: str


async def licence_attachments(ctx: Context, licences: list[Licence]) -> list[str]:
    return [
        await files.store(
            ctx.files, f"licences/{lic.code}-{lic.version}-{{digest}}.pdf", acts.licence_pdf(lic)
        )
        for lic in licences
    ]


async def instructors(ctx: Context) -> list[str]:
    rows = await ctx.session.scalars(
        select(Account.email).where(
            Account.status == "active", Account.roles.overlap(["instructor", "admin"])
        )
    )
    return list(rows)


async def submit(
    ctx: Context,
    request: AdhesionForm,
    referent_email: str,
    password_hash: str,
    description: Upload | None = None,
    relay_id: int | None = None,
) -> Adhesion:
    """Create the entity, its legal representative, the future referent's account (pending),
    the mission and partnership of private entities; send the RL the validation link."""
    errors: dict[str, str] = {}
    if await email_taken(ctx, referent_email):
        errors["referent.email"] = _(
            "Un compte DINAMIS existe déjà pour cette adresse : connectez-vous."
        )
    flow = flow_of(request.sector.category)
    if flow == "private_rd" and description is None:
        errors["mission.description"] = _(
            "Joignez le fichier de description de votre projet de R&D."
        )
    partner = None
    if request.partner is not None:
        partner = await ctx.session.get(Entity, request.partner.public_entity_id)
        if partner is None or partner.status != "active" or partner.activity_sector != "public":
            errors["partner.public_entity_id"] = _(
                "Choisissez une entité publique adhérente de la liste."
            )
    if relay_id is not None and not request.avenant:
        errors["avenant"] = _("Indiquez l'avenant de partenariat signé avec l'entité partenaire.")
    if errors:
        raise InvalidFields(errors)

    entity = Entity(
        **request.entity.model_dump(),
        **request.sector.model_dump(),
        status="awaiting_rl",
        relay_id=relay_id,
    )
    ctx.session.add(entity)
    await ctx.session.flush()
    rl = LegalRepresentative(
        entity_id=entity.id,
        **request.legal_representative.model_dump(exclude={"email_confirmation"}),
    )
    account = pending_account(
        entity.id, referent_email, request.referent, password_hash, ["user", "referent"]
    )
    ctx.session.add_all([rl, account])
    if request.mission is not None:
        m = request.mission
        mission = Mission(
            entity_id=entity.id,
            title=m.title,
            kind="rd" if flow == "private_rd" else "public_order",
            valid_from=m.valid_from,
            valid_to=m.valid_to,
            area=m.area,
            description_path=description.href if description else None,
            description_name=description.name if description else None,
            sensors=[
                MissionSensor(sensor=s.sensor, valid_from=s.valid_from, valid_to=s.valid_to)
                for s in m.sensors
            ],
        )
        ctx.session.add(mission)
    if partner is not None:
        ctx.session.add(Partnership(private_entity_id=entity.id, public_entity_id=partner.id))
    adhesion = Adhesion(
        entity=entity,
        kind=flow,
        submitted_by=referent_email,
        relay_id=relay_id,
        # filed on the partner's behalf: by whom, under which avenant
        filed_by_id=ctx.identity.account_id if relay_id and ctx.identity else None,
        avenant=request.avenant if relay_id else None,
    )
    ctx.session.add(adhesion)
    await ctx.session.flush()
    await ctx.session.refresh(entity, ["legal_representative"])

    token = await links.issue(ctx, "rl_validation", rl.email, {"adhesion_id": adhesion.id})
    documents = await licence_attachments(ctx, await applicable(ctx.session, entity))
    context = {
        "entity": entity,
        "rl": rl,
        "referent": account,
        "link": ctx.private_link(RL_PATH, token),
    }
    reference = f"adhesion:{adhesion.id}"
    await ctx.mail([rl.email], "adhesion_rl_link", context, documents, reference)
    await ctx.mail([account.email], "adhesion_submitted", context, documents, reference)
    if partner is not None:
        await ctx.mail(
            await referents(ctx, partner.id),
            "partnership_to_validate",
            {"entity": entity, "partner": partner, "link": ctx.link("/registre/entite")},
            reference=reference,
        )
    ctx.audit(
        "adhesion.submitted",
        "entity",
        entity.id,
        actor=referent_email,
        kind=flow,
        adhesion=adhesion.id,
        relay=relay_id,
        filed_by=ctx.actor if relay_id else None,
    )
    return adhesion


@dataclass
class AdhesionView:
    """An adhesion request as the legal representative and the instructors read it."""

    adhesion: Adhesion
    entity: Entity
    referent: Account
    licences: list[Licence]
    mission: Mission | None
    partnership: Partnership | None

    @property
    def partner(self) -> Entity | None:
        return self.partnership.public_entity if self.partnership else None


async def view(ctx: Context, adhesion: Adhesion) -> AdhesionView:
    entity = adhesion.entity
    await ctx.session.refresh(entity, ["legal_representative", "missions"])
    referent = await ctx.session.scalar(
        select(Account).where(Account.email == adhesion.submitted_by)
    )
    if referent is None:
        raise NotFound(_("Le référent de cette demande n'existe plus."))
    partnership = await ctx.session.scalar(
        select(Partnership).where(Partnership.private_entity_id == entity.id)
    )
    return AdhesionView(
        adhesion,
        entity,
        referent,
        await applicable(ctx.session, entity),
        entity.missions[0] if entity.missions else None,
        partnership,
    )


async def rl_request(ctx: Context, token: str) -> AdhesionView:
    """The request behind a legal representative's link (which stays unused)."""
    link = await links.find(ctx, token, "rl_validation", consume=False)
    adhesion = await ctx.session.get(Adhesion, link.payload.get("adhesion_id"))
    if adhesion is None:
        raise NotFound(_("Cette demande d'adhésion n'existe plus."))
    return await view(ctx, adhesion)


async def rl_validate(ctx: Context, token: str, accepted_codes: list[str]) -> Adhesion:
    """The legal representative accepts the charter and each licence: all must be ticked."""
    request = await rl_request(ctx, token)
    missing = [lic for lic in request.licences if lic.code not in set(accepted_codes)]
    if missing:
        raise InvalidFields(
            {
                f"accept-{lic.code}": _("Cochez « %(attestation)s ».", attestation=lic.attestation)
                for lic in missing
            }
        )
    link = await links.find(ctx, token, "rl_validation", consume=True)
    adhesion, entity = request.adhesion, request.entity
    rl = entity.legal_representative
    assert rl is not None
    if link.payload.get("renewal"):
        await renew_acceptances(ctx, request, rl, link.email)
        return adhesion
    if entity.status != "awaiting_rl":
        raise Conflict(_("Cette demande d'adhésion a déjà été validée."))
    rl.validated_at = datetime.now(UTC)
    signer = f"{rl.full_name} <{rl.email}>"
    for licence in request.licences:
        ctx.session.add(
            EntityAcceptance(entity_id=entity.id, licence_id=licence.id, accepted_by=signer)
        )
    adhesion.rl_validated_at = datetime.now(UTC)
    adhesion.rl_address = ctx.address
    partnership = request.partnership
    entity.status = (
        "awaiting_partner"
        if partnership and partnership.status == "pending"
        else "awaiting_instruction"
    )
    ctx.audit(
        "adhesion.rl_validated",
        "entity",
        entity.id,
        actor=f"RL {rl.email}",
        accepted=[f"{lic.code} {lic.version}" for lic in request.licences],
    )
    context = {"entity": entity, "rl": rl, "referent": request.referent}
    await ctx.mail(
        [request.referent.email],
        "adhesion_rl_validated",
        context,
        reference=f"adhesion:{adhesion.id}",
    )
    if entity.status == "awaiting_instruction":
        await announce_instruction(ctx, adhesion)
    return adhesion


async def announce_instruction(ctx: Context, adhesion: Adhesion) -> None:
    if recipients := await instructors(ctx):
        await ctx.mail(
            recipients,
            "adhesion_to_instruct",
            {"entity": adhesion.entity, "link": ctx.link(f"/registre/instruction/{adhesion.id}")},
            reference=f"adhesion:{adhesion.id}",
        )


async def decide_partnership(ctx: Context, partnership_id: int, validate: bool) -> Partnership:
    """The public entity's referent validates or refuses working with the contractor."""
    partnership = await ctx.session.get(Partnership, partnership_id, with_for_update=True)
    if partnership is None:
        raise NotFound(_("Ce partenariat n'existe pas."))
    identity = ctx.identity
    if identity is None or not (
        identity.has("instructor", "admin")
        or (identity.has("referent") and identity.entity_id == partnership.public_entity_id)
    ):
        raise PermissionDenied(
            _("Seul le Référent DINAMIS de l'entité publique partenaire peut décider.")
        )
    if partnership.status != "pending":
        raise Conflict(_("Ce partenariat a déjà été traité."))
    partnership.status = "validated" if validate else "refused"
    partnership.decided_at = datetime.now(UTC)
    partnership.decided_by_id = identity.account_id
    entity = partnership.private_entity
    adhesion = await ctx.session.scalar(select(Adhesion).where(Adhesion.entity_id == entity.id))
    assert adhesion is not None
    ctx.audit(f"partnership.{partnership.status}", "partnership", partnership.id, entity=entity.id)
    recipients = [adhesion.submitted_by]
    if not validate:
        entity.status = "rejected"
        adhesion.decision, adhesion.decided_at = "rejected", datetime.now(UTC)
        adhesion.reason = _("Partenariat refusé par %(name)s.", name=partnership.public_entity.name)
        await ctx.session.refresh(entity, ["legal_representative"])
        if entity.legal_representative:
            recipients.append(entity.legal_representative.email)
    elif entity.status == "awaiting_partner":
        entity.status = "awaiting_instruction"
        await announce_instruction(ctx, adhesion)
    await ctx.mail(
        recipients, "partnership_decided", {"partnership": partnership, "entity": entity}
    )
    return partnership


async def instruct(
    ctx: Context, adhesion_id: int, accept: bool, reason: str | None = None
) -> Adhesion:
    """Accept (the entity and its referent become active; the act is generated and mailed)
    or reject, with a reason, an adhesion awaiting instruction."""
    identity = ctx.identity
    if identity is None or not identity.has("instructor", "admin"):
        raise PermissionDenied(_("L'instruction des adhésions est réservée à l'instance DINAMIS."))
    adhesion = await ctx.session.get(Adhesion, adhesion_id, with_for_update=True)
    if adhesion is None:
        raise NotFound(_("Cette demande d'adhésion n'existe pas."))
    entity = adhesion.entity
    if entity.status != "awaiting_instruction":
        raise Conflict(
            _(
                "Cette demande n'est pas en attente d'instruction (statut : %(status)s).",
                status=entity.status,
            )
        )
    reason = (reason or "").strip() or None
    if not accept and (reason is None or len(reason) < 10):
        raise InvalidFields(
            {"reason": _("Expliquez le refus en quelques mots (10 caractères au moins).")}
        )
    now = datetime.now(UTC)
    referent = await ctx.session.scalar(
        select(Account).where(Account.email == adhesion.submitted_by)
    )
    assert referent is not None
    await ctx.session.refresh(entity, ["legal_representative"])
    rl = entity.legal_representative
    adhesion.decision = "accepted" if accept else "rejected"
    adhesion.reason, adhesion.decided_at, adhesion.decided_by_id = reason, now, identity.account_id
    recipients = [referent.email, *([rl.email] if rl else [])]
    context = {"entity": entity, "rl": rl, "referent": referent, "reason": reason}
    if accept:
        entity.status, entity.activated_at = "active", now
        referent.status, referent.validated_at, referent.validated_by_id = (
            "active",
            now,
            identity.account_id,
        )
        acceptances = await accepted(ctx.session, entity.id)
        stored = {
            lang: await files.store(
                ctx.files,
                f"acts/{entity.id}/acte-adhesion-{adhesion.id}-{lang}-{{digest}}.pdf",
                acts.adhesion_act(adhesion, entity, referent, acceptances, now, lang),
            )
            for lang in LANGUAGES
        }
        adhesion.act_path = stored.pop(DEFAULT)  # the act of record, mailed
        adhesion.act_translations = stored  # downloaded by readers of another language
        await ctx.mail(
            recipients, "adhesion_accepted", context, [adhesion.act_path], f"adhesion:{adhesion.id}"
        )
    else:
        entity.status = "rejected"
        referent.status = "refused"
        await ctx.mail(
            recipients, "adhesion_rejected", context, reference=f"adhesion:{adhesion.id}"
        )
    ctx.audit(
        f"adhesion.{adhesion.decision}", "entity", entity.id, adhesion=adhesion.id, reason=reason
    )
    return adhesion


# -- a new legal representative (hand-over) ---------------------------------------------------


async def ask_legal_representative(
    ctx: Context, entity: Entity, renewal: bool, reminder_days: int | None = None
) -> None:
    """Mail the legal representative a new e-validation link, with the charter and the
    licences: after a hand-over (`renewal`), or as a reminder of a validation still awaited."""
    rl = entity.legal_representative
    assert rl is not None
    adhesion_id = await ctx.session.scalar(
        select(Adhesion.id).where(Adhesion.entity_id == entity.id).order_by(Adhesion.id.desc())
    )
    token = await links.issue(
        ctx, "rl_validation", rl.email, {"adhesion_id": adhesion_id, "renewal": renewal}
    )
    rl.requested_at = datetime.now(UTC)
    context = {
        "entity": entity,
        "rl": rl,
        "renewal": renewal,
        "reminder": reminder_days is not None,
        "days": reminder_days,
        "hours": ctx.settings.link_hours,
        "link": ctx.private_link(RL_PATH, token),
    }
    documents = await licence_attachments(ctx, await applicable(ctx.session, entity))
    await ctx.mail(
        [rl.email], "legal_representative_link", context, documents, f"entity:{entity.id}"
    )


async def change_legal_representative(
    ctx: Context, entity_id: int, info: RlInfo
) -> LegalRepresentative:
    """The referent (or an instructor) designates the entity's legal representative; a new
    one (another e-mail) e-validates the charter and the licences again, by the link mailed
    to them."""
    identity = ctx.identity
    if identity is None or not (
        identity.has("instructor", "admin")
        or (identity.has("referent") and identity.entity_id == entity_id)
    ):
        raise PermissionDenied(
            _("Seul le Référent DINAMIS de l'entité peut désigner son représentant légal.")
        )
    rl = await ctx.session.scalar(
        select(LegalRepresentative).where(LegalRepresentative.entity_id == entity_id)
    )
    if rl is None:
        raise NotFound(_("Cette entité n'a pas de représentant légal."))
    before = rl.email
    rl.first_name, rl.last_name, rl.function = info.first_name, info.last_name, info.function
    rl.email, rl.nationality = info.email, info.nationality
    renewal = rl.email.casefold() != before.casefold()
    ctx.audit(
        "entity.legal_representative_changed",
        "entity",
        entity_id,
        before=before,
        after=rl.email,
        e_validation=renewal,
    )
    if renewal:
        rl.validated_at = None
        entity = await ctx.session.get(Entity, entity_id)
        assert entity is not None
        await ctx.session.refresh(entity, ["legal_representative"])
        await ask_legal_representative(ctx, entity, renewal=True)
    return rl


async def renew_acceptances(
    ctx: Context, request: AdhesionView, rl: LegalRepresentative, addressee: str
) -> None:
    """A new legal representative accepts the charter and the licences again, in the
    entity's name (a suspended licence stays suspended)."""
    if rl.email != addressee or rl.validated_at is not None:
        raise Conflict(_("Ce lien ne correspond plus au représentant légal attendu de l'entité."))
    now, signer = datetime.now(UTC), f"{rl.full_name} <{rl.email}>"
    held = {a.licence_id: a for a in await accepted(ctx.session, request.entity.id)}
    for licence in request.licences:
        if (found := held.get(licence.id)) is not None:
            found.accepted_by, found.accepted_at = signer, now
        else:
            ctx.session.add(
                EntityAcceptance(
                    entity_id=request.entity.id, licence_id=licence.id, accepted_by=signer
                )
            )
    rl.validated_at = now
    ctx.audit(
        "entity.legal_representative_validated",
        "entity",
        request.entity.id,
        actor=f"RL {rl.email}",
        accepted=[f"{lic.code} {lic.version}" for lic in request.licences],
    )
