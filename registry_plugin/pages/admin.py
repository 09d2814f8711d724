"""Administration pages: the referent's (and relay's) entity page, the instructors' desk,
the outbox and the audit log, and the instructors' entity management."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from extensions.errors import Conflict, InvalidFields, NotFound, PermissionDenied
from extensions.i18n import _, language
from extensions.mail import OutboxMessage, masked
from extensions.web import page_router, read_form, redirect, render, values_of
from registry_plugin.domain import accounts, adhesions, administration, entities
from registry_plugin.domain.licences import accepted
from registry_plugin.domain.relays import set_relay
from registry_plugin.models import Account, Adhesion, AuditEvent, Entity, Mission, Partnership
from registry_plugin.pages.common import identity_of, of, validate
from registry_plugin.schemas import LegalRepresentative, RowId, row_id
from registry_plugin.vocabulary import (
    ACCOUNT_STATUS,
    CATEGORIES,
    ENTITY_STATUS,
    LANGUAGE_NAMES,
    SENSORS,
    country_options,
)
from registry_plugin.web import RegistryContext, forget_rechecks

router = page_router(prefix="/registre")

LABELS = {
    "entity_status": ENTITY_STATUS,
    "account_status": ACCOUNT_STATUS,
    "categories": CATEGORIES,
    "sensors": SENSORS,
    "languages": LANGUAGE_NAMES,
}


def parse_date(value: Any, field: str) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidFields({field: _("Date attendue au format JJ/MM/AAAA.")}) from exc


async def act(
    request: Request,
    ctx: RegistryContext,
    back: str,
    operation: Callable[[dict[str, Any]], Awaitable[str]],
) -> Response:
    """Run a form's action and come back to the page with its outcome: a refused action
    (wrong value, wrong state) is said on the page and changes nothing."""
    form = await read_form(request)
    identity_of(request)
    try:
        message = await operation(values_of(form))
    except (InvalidFields, Conflict) as exc:
        await ctx.session.rollback()
        text = "; ".join(exc.errors.values()) if isinstance(exc, InvalidFields) else str(exc)
        return redirect(back, request, text, "error")
    await ctx.commit()
    return redirect(back, request, message)


# -- the entity page (referents, relays, instructors) ---------------------------------------


async def managed_entity(ctx: RegistryContext, request: Request, entity_id: int | None) -> Entity:
    identity = identity_of(request)
    entity = await ctx.session.get(Entity, entity_id or identity.entity_id)
    if entity is None:
        raise NotFound(_("Entité introuvable."))
    allowed = (
        identity.has("instructor", "admin")
        or (identity.has("referent") and identity.entity_id == entity.id)
        or (identity.has("relay") and entity.relay_id == identity.entity_id)
    )
    if not allowed:
        raise PermissionDenied(_("Cette page est réservée au Référent DINAMIS de l'entité."))
    return entity


@router.get("/entite")
async def entity_page(request: Request, ctx: RegistryContext, id: RowId | None = None) -> Response:
    entity = await managed_entity(ctx, request, id)
    members = list(
        await ctx.session.scalars(
            select(Account)
            .where(Account.entity_id == entity.id)
            .order_by(Account.status, Account.last_name)
        )
    )
    partnerships = await ctx.session.scalars(
        select(Partnership)
        .where(Partnership.public_entity_id == entity.id)
        .order_by(Partnership.status.desc(), Partnership.id.desc())
    )
    relayed = await ctx.session.scalars(
        select(Entity).where(Entity.relay_id == entity.id).order_by(Entity.name)
    )
    adhesion = await ctx.session.scalar(
        select(Adhesion).where(Adhesion.entity_id == entity.id).order_by(Adhesion.id.desc())
    )
    administered = identity_of(request).has("instructor", "admin")
    context = {
        "entity": entity,
        "administered": administered,
        "super_entity": await ctx.session.get(Entity, entity.super_entity_id)
        if entity.super_entity_id
        else None,
        "grouped": list(
            await ctx.session.scalars(
                select(Entity).where(Entity.super_entity_id == entity.id).order_by(Entity.name)
            )
        ),
        "members": members,
        "successors": [
            (str(a.id), f"{a.full_name} ({a.email})")
            for a in members
            if a.status == "active" and "referent" not in a.roles
        ],
        "partnerships": list(partnerships),
        "relayed": list(relayed),
        "adhesion": adhesion,
        "acceptances": await accepted(ctx.session, entity.id),
        "today": date.today(),
        "country_options": country_options(language()),
        **LABELS,
    }
    return render(request, "registry/entite.html", context)


def entity_url(entity_id: int) -> str:
    return f"/registre/entite?id={entity_id}"


@router.post("/comptes/{account_id}/{action}")
async def account_action(
    account_id: RowId, action: str, request: Request, ctx: RegistryContext
) -> Response:
    account = await ctx.session.get(Account, account_id)
    if account is None:
        raise NotFound(_("Ce compte n'existe pas."))

    async def operation(values: dict[str, Any]) -> str:
        name = account.full_name
        if action == "valider":
            await accounts.validate(
                ctx, account_id, parse_date(values.get("expires_on"), "expires_on")
            )
            return _("Compte %(name)s validé.", name=of(name))
        if action == "refuser":
            await accounts.refuse(ctx, account_id, str(values.get("reason", "")).strip() or None)
            return _("Compte %(name)s refusé.", name=of(name))
        if action == "desactiver":
            await accounts.deactivate(ctx, account_id)
            return _("Compte %(name)s désactivé.", name=of(name))
        if action == "reactiver":
            await accounts.reactivate(ctx, account_id)
            return _("Compte %(name)s réactivé.", name=of(name))
        if action == "expiration":
            await accounts.set_expiry(
                ctx, account_id, parse_date(values.get("expires_on"), "expires_on")
            )
            return _("Date d'expiration du compte %(name)s enregistrée.", name=of(name))
        raise NotFound(_("Action inconnue."))

    return await act(request, ctx, entity_url(account.entity_id), operation)


@router.post("/partenariats/{partnership_id}/{decision}")
async def partnership_action(
    partnership_id: RowId, decision: str, request: Request, ctx: RegistryContext
) -> Response:
    if decision not in ("valider", "refuser"):
        raise NotFound(_("Action inconnue."))
    partnership = await ctx.session.get(Partnership, partnership_id)
    if partnership is None:
        raise NotFound(_("Ce partenariat n'existe pas."))

    async def operation(values: dict[str, Any]) -> str:
        await adhesions.decide_partnership(ctx, partnership_id, decision == "valider")
        outcome = "validé" if decision == "valider" else "refusé"
        return _(
            "Partenariat avec %(name)s %(outcome)s.",
            name=partnership.private_entity.name,
            outcome=outcome,
        )

    return await act(request, ctx, entity_url(partnership.public_entity_id), operation)


@router.post("/entite/{entity_id}/referent")
async def hand_over(entity_id: RowId, request: Request, ctx: RegistryContext) -> Response:
    async def operation(values: dict[str, Any]) -> str:
        chosen = row_id(values.get("account_id"))
        if chosen is None:
            raise InvalidFields({"account_id": _("Choisissez un compte actif de l'entité.")})
        successor = await accounts.hand_over_referent(ctx, entity_id, chosen)
        return _(
            "%(full_name)s est désormais Référent DINAMIS de l'entité.",
            full_name=successor.full_name,
        )

    identity = identity_of(request)
    back = entity_url(entity_id) if identity.has("instructor", "admin") else "/compte"
    return await act(request, ctx, back, operation)


@router.post("/entite/{entity_id}/representant")
async def legal_representative(
    entity_id: RowId, request: Request, ctx: RegistryContext
) -> Response:
    async def operation(values: dict[str, Any]) -> str:
        checked, errors = validate(LegalRepresentative, values)
        if checked is None:
            raise InvalidFields(errors)
        rl = await adhesions.change_legal_representative(ctx, entity_id, checked)
        return _(
            "%(full_name)s est désormais le représentant légal de l'entité.", full_name=rl.full_name
        )

    return await act(request, ctx, entity_url(entity_id), operation)


# -- instruction (instance DINAMIS) ----------------------------------------------------------


def require_instructor(request: Request) -> None:
    if not identity_of(request).has("instructor", "admin"):
        raise PermissionDenied(_("Cette page est réservée à l'instance DINAMIS."))


@router.get("/instruction")
async def instruction_desk(request: Request, ctx: RegistryContext) -> Response:
    require_instructor(request)
    rows = await ctx.session.scalars(
        select(Adhesion).join(Adhesion.entity).order_by(Adhesion.id.desc()).limit(200)
    )
    groups: dict[str, list[Adhesion]] = {s: [] for s in ENTITY_STATUS}
    for adhesion in rows:
        groups.setdefault(adhesion.entity.status, []).append(adhesion)
    return render(request, "registry/instruction.html", {"groups": groups, **LABELS})


@router.get("/instruction/{adhesion_id}")
async def instruction_detail(
    adhesion_id: RowId, request: Request, ctx: RegistryContext
) -> Response:
    require_instructor(request)
    adhesion = await ctx.session.get(Adhesion, adhesion_id)
    if adhesion is None:
        raise NotFound(_("Cette demande d'adhésion n'existe pas."))
    request_view = await adhesions.view(ctx, adhesion)
    context = {
        "view": request_view,
        "adhesion": adhesion,
        "entity": request_view.entity,
        "rl": request_view.entity.legal_representative,
        "acceptances": await accepted(ctx.session, adhesion.entity_id),
        **LABELS,
    }
    return render(request, "registry/instruction_detail.html", context)


@router.post("/instruction/{adhesion_id}/{decision}")
async def instruct(
    adhesion_id: RowId, decision: str, request: Request, ctx: RegistryContext
) -> Response:
    require_instructor(request)
    if decision not in ("accepter", "rejeter"):
        raise NotFound(_("Action inconnue."))

    async def operation(values: dict[str, Any]) -> str:
        reason = str(values.get("reason", ""))
        decided = await adhesions.instruct(ctx, adhesion_id, decision == "accepter", reason)
        outcome = (
            _("acceptée : l'acte d'adhésion est envoyé")
            if decided.decision == "accepted"
            else "rejetée"
        )
        return _("Adhésion %(name)s %(outcome)s.", name=of(decided.entity.name), outcome=outcome)

    return await act(request, ctx, f"/registre/instruction/{adhesion_id}", operation)


# -- outbox and audit log -------------------------------------------------------------------


@router.get("/courriels")
async def outbox(
    request: Request, ctx: RegistryContext, a: Annotated[str, Query(max_length=320)] = ""
) -> Response:
    require_instructor(request)
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)
    if a.strip():
        query = query.where(OutboxMessage.recipients.contains([a.strip().lower()]))
    counts = dict(
        (
            await ctx.session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
        ).all()
    )
    messages = list(await ctx.session.scalars(query))
    bodies = {m.id: masked(m.body) for m in messages}
    context = {"messages": messages, "bodies": bodies, "a": a, "counts": counts}
    return render(request, "registry/courriels.html", context)


@router.get("/journal")
async def audit_log(
    request: Request,
    ctx: RegistryContext,
    type: Annotated[str, Query(max_length=30)] = "",
    id: RowId | None = None,
) -> Response:
    require_instructor(request)
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(300)
    if type:
        query = query.where(AuditEvent.subject_type == type)
    if id is not None:
        query = query.where(AuditEvent.subject_id == id)
    context = {"events": list(await ctx.session.scalars(query)), "type": type, "id": id}
    return render(request, "registry/journal.html", context)


# -- entities (instance DINAMIS) ------------------------------------------------------------


@router.get("/entites")
async def entity_list(
    request: Request, ctx: RegistryContext, q: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    require_instructor(request)
    query = select(Entity).order_by(func.lower(Entity.name))
    if q.strip():
        query = query.where(entities.matches(q))
    rows = list(await ctx.session.scalars(query.limit(500)))
    everyone = (
        await ctx.session.execute(
            select(Entity.id, Entity.name, Entity.status).order_by(func.lower(Entity.name))
        )
    ).all()  # for the lists of the merge and group forms: names only
    names = {e.id: e.name for e in everyone}
    context = {"rows": rows, "everyone": everyone, "names": names, "q": q, **LABELS}
    return render(request, "registry/entites.html", context)


def chosen_id(values: dict[str, Any], field: str) -> int:
    chosen = row_id(values.get(field))
    if chosen is None:
        raise InvalidFields({field: _("Choisissez une entité de la liste.")})
    return chosen


@router.get("/entites/{entity_id}/fusion")
async def merge_confirmation(
    entity_id: RowId, into: RowId, request: Request, ctx: RegistryContext
) -> Response:
    """What a merge moves, to confirm before it is done: a merge is not undone here."""
    require_instructor(request)
    source, target = await ctx.session.get(Entity, entity_id), await ctx.session.get(Entity, into)
    if source is None or target is None:
        raise NotFound(_("Entité introuvable."))
    counted = {
        "accounts": select(func.count()).where(Account.entity_id == source.id),
        "missions": select(func.count()).where(Mission.entity_id == source.id),
        "partnerships": select(func.count()).where(Partnership.public_entity_id == source.id),
    }
    moved = {name: await ctx.session.scalar(query) for name, query in counted.items()}
    moved["licences"] = len(await accepted(ctx.session, source.id))
    moved |= await entities.plugin_rows(ctx, source.id)
    context = {"source": source, "target": target, "moved": moved}
    return render(request, "registry/fusion.html", context)


@router.post("/entites/{entity_id}/{action}")
async def entity_action(
    entity_id: RowId, action: str, request: Request, ctx: RegistryContext
) -> Response:
    require_instructor(request)
    if action == "fusionner":
        values = values_of(await read_form(request))
        if values.get("confirme") != "oui":  # only the confirmation page merges
            into = row_id(values.get("into")) or ""
            return redirect(f"/registre/entites/{entity_id}/fusion?into={into}")

    async def operation(values: dict[str, Any]) -> str:
        if action == "fusionner":
            target = await entities.merge(ctx, entity_id, chosen_id(values, "into"))
            return _("Entité fusionnée dans %(name)s.", name=target.name)
        if action == "regrouper":
            members = values.get("member_ids", [])
            members = [members] if isinstance(members, str) else members
            chosen = [row_id(m) for m in members]
            if not chosen or None in chosen:
                raise InvalidFields({"member_ids": _("Choisissez les entités membres.")})
            grouped = await entities.group(ctx, entity_id, [m for m in chosen if m is not None])
            return _("%(grouped)s entité(s) regroupée(s).", grouped=len(grouped))
        if action == "relais":
            relay = values.get("relay") == "on"
            entity = await set_relay(ctx, entity_id, relay)
            if relay:
                return _("%(name)s est partenaire relais de DINAMIS.", name=entity.name)
            return _("%(name)s n'est plus partenaire relais de DINAMIS.", name=entity.name)
        return await administer(ctx, entity_id, action, values)

    back = "/registre/entites" if action in ENTITY_LIST_ACTIONS else entity_url(entity_id)
    response = await act(request, ctx, back, operation)
    if action in RIGHTS_CHANGES:
        forget_rechecks(request)
    return response


ENTITY_LIST_ACTIONS = {"fusionner", "regrouper", "relais"}
RIGHTS_CHANGES = {"suspendre", "retablir", "suspendre-licence", "retablir-licence"}


async def administer(
    ctx: RegistryContext, entity_id: int, action: str, values: dict[str, Any]
) -> str:
    """The instructors' actions of an entity's page (`administration`)."""
    reason = str(values.get("reason", ""))
    code = str(values.get("code", ""))
    if action == "suspendre":
        entity = await administration.suspend_entity(ctx, entity_id, reason)
        return _(
            "Adhésion %(name)s suspendue : ses comptes sont refusés dès maintenant.",
            name=of(entity.name),
        )
    if action == "retablir":
        entity = await administration.reinstate_entity(ctx, entity_id)
        return _("Adhésion %(name)s rétablie.", name=of(entity.name))
    if action == "suspendre-licence":
        found = await administration.suspend_licence(ctx, entity_id, code, reason)
        return _("Licence « %(title)s » suspendue pour l'entité.", title=found.licence.title)
    if action == "retablir-licence":
        found = await administration.reinstate_licence(ctx, entity_id, code)
        return _("Licence « %(title)s » rétablie pour l'entité.", title=found.licence.title)
    if action == "retirer-membre":
        member = await entities.ungroup(ctx, entity_id, chosen_id(values, "member_id"))
        return _("%(name)s ne fait plus partie du groupe.", name=member.name)
    raise NotFound(_("Action inconnue."))


@router.get("/comptes")
async def account_search(
    request: Request,
    ctx: RegistryContext,
    q: Annotated[str, Query(max_length=100)] = "",
    statut: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Accounts of every entity, for the instructors."""
    require_instructor(request)
    error = None
    try:
        found = await administration.search_accounts(ctx, q, statut, page)
    except InvalidFields as exc:
        error, found = "; ".join(exc.errors.values()), administration.AccountPage([], 0, 1, 1)
    context = {"found": found, "q": q, "statut": statut, "error": error, **LABELS}
    return render(request, "registry/comptes.html", context)
