"""The portal: entity search, e-mail verification, the adhesion wizard, the legal
representative's e-validation, and the account request of a member of an adherent entity."""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, EmailStr
from sqlalchemy import select
from starlette.datastructures import UploadFile

from extensions.bodies import accepts_file
from extensions.errors import InvalidFields, NotFound, PayloadTooLarge, UnsupportedMediaType
from extensions.i18n import N_, _, language
from extensions.mail import MailSeal, OutboxMessage
from extensions.ratelimit import client_address
from extensions.services import services_of
from extensions.web import page_router, read_form, redirect, render, values_of
from registry_plugin.domain import acts, adhesions, drafts, entities, files, links
from registry_plugin.domain.accounts import create as create_account
from registry_plugin.domain.licences import accepted, product_licences
from registry_plugin.models import Draft, Entity
from registry_plugin.pages.common import DRAFT_COOKIE, draft_id, set_draft_cookie, validate
from registry_plugin.schemas import (
    AccountRequest,
    AdhesionForm,
    EntityInfo,
    LegalRepresentative,
    MissionInfo,
    NewPassword,
    Partner,
    ReferentInfo,
    RowId,
    Sector,
    field_errors,
    row_id,
)
from registry_plugin.security import hash_password
from registry_plugin.uploads import description_file, save_description
from registry_plugin.vocabulary import (
    CATEGORIES,
    INTEREST_DOMAINS,
    SECTORS,
    SENSORS,
    country_options,
    flow_of,
)
from registry_plugin.web import RegistryContext, send_verification

router = page_router(prefix="/portail")

STEPS = {
    "rappel": N_("Rappel"),
    "entite": N_("Informations de l'Entité"),
    "secteur": N_("Secteur d'activité"),
    "mission": N_("Mission de l'Entité"),
    "partenaire": N_("Entité publique partenaire"),
    "representant": N_("Représentant Légal"),
    "referent": N_("Référent"),
    "recapitulatif": N_("Soumettre"),
}
MODELS: dict[str, type[BaseModel]] = {
    "entite": EntityInfo,
    "secteur": Sector,
    "mission": MissionInfo,
    "partenaire": Partner,
    "representant": LegalRepresentative,
    "referent": ReferentInfo,
}
FLOW_TITLES = {
    "public": N_("Demande d'adhésion d'une nouvelle Entité"),
    "private_rd": N_("Demande d'adhésion d'une Entité privée au titre de la R&D"),
    "private_contractor": N_(
        "Demande d'adhésion d'une Entité privée prestataire d'une commande publique"
    ),
}


def vocabulary() -> dict[str, Any]:
    return {
        "categories": CATEGORIES,
        "domain_options": [(d, d) for d in INTEREST_DOMAINS],
        "sectors": SECTORS,
        "sensors": SENSORS,
        "country_options": country_options(language()),
    }


# -- home and e-mail verification ---------------------------------------------------------------


@router.get("")
async def home(
    request: Request,
    ctx: RegistryContext,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    found = await entities.search(ctx, q, page)
    return render(request, "registry/portail.html", {"found": found, "q": q})


@router.get("/modele-projet.pdf")
async def project_template() -> Response:
    """The R&D project description to fill in and upload with the adhesion."""
    return Response(
        acts.project_template(),
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="DINAMIS-description-projet.pdf"'},
    )


class VerificationForm(BaseModel):
    email: EmailStr


async def entity_for_account(ctx: RegistryContext, entity_id: int | None) -> Entity:
    entity = await ctx.session.get(Entity, entity_id) if entity_id else None
    if entity is None or entity.status != "active":
        raise NotFound(
            _("Cette entité n'est pas adhérente : choisissez-la dans la liste du portail.")
        )
    return entity


@router.get("/verification")
async def verification_form(
    request: Request,
    ctx: RegistryContext,
    demarche: Annotated[str, Query(pattern="^(adhesion|compte)$")] = "adhesion",
    entite: RowId | None = None,
) -> Response:
    entity = await entity_for_account(ctx, entite) if demarche == "compte" else None
    return render(
        request,
        "registry/verification.html",
        {"demarche": demarche, "entity": entity, "values": {}, "errors": {}},
    )


@router.post("/verification")
async def verification_send(request: Request, ctx: RegistryContext) -> Response:
    form = await read_form(request)
    values = values_of(form)
    demarche = "compte" if values.get("demarche") == "compte" else "adhesion"
    entity = (
        await entity_for_account(ctx, row_id(values.get("entite")))
        if demarche == "compte"
        else None
    )
    checked, errors = validate(VerificationForm, values)
    if checked is None:
        context = {"demarche": demarche, "entity": entity, "values": values, "errors": errors}
        return render(request, "registry/verification.html", context, 400)
    email = str(checked.email).lower()
    purpose = "account" if demarche == "compte" else "adhesion"
    await send_verification(ctx, request, email, purpose, entity.id if entity else None)
    await ctx.commit()
    return render(
        request,
        "registry/verification_envoyee.html",
        {"email": email, "hours": ctx.settings.link_hours, "dev_mailbox": dev_mailbox(request)},
    )


@router.get("/verification/{token}")
async def verification_link(token: str, request: Request, ctx: RegistryContext) -> Response:
    """The link of the e-mail: a button continues (mail scanners that open links do not
    use them up)."""
    link = await links.find(ctx, token, "verify_email", consume=False)
    return render(request, "registry/verification_lien.html", {"email": link.email})


@router.post("/verification/{token}")
async def verification_use(token: str, request: Request, ctx: RegistryContext) -> Response:
    await read_form(request)
    link = await links.find(ctx, token, "verify_email", consume=True)
    if link.payload.get("purpose") == "account":
        entity = await entity_for_account(ctx, link.payload.get("entity_id"))
        draft = await drafts.start(ctx, "account", link.email, {"entity_id": entity.id})
        target = "/portail/compte"
    else:
        identity = ctx.identity
        relay = identity.entity_id if identity and identity.has("relay") else None
        draft = await drafts.start(ctx, "adhesion", link.email, {"relay_id": relay})
        target = "/portail/adhesion/rappel"
    await ctx.commit()
    response = redirect(target)
    set_draft_cookie(response, request, draft.id)
    return response


# -- the adhesion wizard ------------------------------------------------------------------------


def steps_of(draft: Draft) -> list[str]:
    flow = flow_of(draft.data.get("secteur", {}).get("category", ""))
    steps = ["rappel", "entite", "secteur"]
    if flow != "public":
        steps.append("mission")
    if flow == "private_contractor":
        steps.append("partenaire")
    return [*steps, "representant", "referent", "recapitulatif"]


def first_missing(draft: Draft) -> str | None:
    return next((s for s in steps_of(draft)[:-1] if s not in draft.data), None)


def stored_values(step: str, stored: Any) -> dict[str, Any]:
    """A saved step as the form's fields (France chosen by default in a new form)."""
    if not isinstance(stored, dict):
        return {"nationality": "France"}
    values = {k: v for k, v in stored.items() if k not in ("sensors", "password_hash")}
    for sensor in stored.get("sensors", []) if step == "mission" else []:
        key = sensor["sensor"]
        values[f"sensor_{key}"] = "on"
        values[f"from_{key}"], values[f"to_{key}"] = sensor["valid_from"], sensor["valid_to"]
    return values


def mission_values(values: dict[str, Any]) -> dict[str, Any]:
    """The mission form's fields as MissionInfo's shape: one period per ticked sensor."""
    sensors = [
        {
            "sensor": key,
            "valid_from": values.get(f"from_{key}"),
            "valid_to": values.get(f"to_{key}"),
        }
        for key in SENSORS
        if values.get(f"sensor_{key}")
    ]
    return {**values, "sensors": sensors}


def mission_errors(errors: dict[str, str], sensors: list[dict[str, Any]]) -> dict[str, str]:
    """Errors of `sensors.<i>.<field>` put back on the sensor's own fields."""
    fields = {"valid_from": "from", "valid_to": "to", "sensor": "sensor"}
    shown = {}
    for name, message in errors.items():
        parts = name.split(".")
        if parts[0] == "sensors" and len(parts) >= 2 and parts[1].isdigit():
            key = sensors[int(parts[1])]["sensor"]
            field = fields.get(parts[2], "from") if len(parts) > 2 else "from"
            shown[f"{field}_{key}"] = message
        else:
            shown[name] = message
    return shown


async def wizard_page(
    request: Request,
    ctx: RegistryContext,
    draft: Draft,
    step: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    q: str = "",
    page: int = 1,
) -> Response:
    steps = steps_of(draft)
    flow = flow_of(draft.data.get("secteur", {}).get("category", ""))
    context: dict[str, Any] = {
        "step": step,
        "steps": steps,
        "titles": STEPS,
        "number": steps.index(step) + 1,
        "flow": flow,
        "heading": FLOW_TITLES[flow],
        "email": draft.email,
        "draft": draft,
        "values": values if values is not None else stored_values(step, draft.data.get(step)),
        "errors": errors or {},
        **vocabulary(),
    }
    if step == "partenaire":
        context["q"] = q
        context["found"] = await entities.search(ctx, q, page, public_only=True)
    if step == "recapitulatif":
        context["summary"] = draft.data
        partner_id = draft.data.get("partenaire", {}).get("public_entity_id")
        context["partner"] = await ctx.session.get(Entity, partner_id) if partner_id else None
    if step in ("mission", "recapitulatif"):
        context["upload_name"] = draft.upload_name
        context["max_mb"] = ctx.settings.upload_max_mb
    status = 400 if errors else 200
    return render(request, f"registry/adhesion_{step}.html", context, status)


async def current_draft(ctx: RegistryContext, request: Request, kind: str) -> Draft:
    return await drafts.find(ctx, draft_id(request), kind)


@router.get("/adhesion/{step}")
async def adhesion_step(
    step: str,
    request: Request,
    ctx: RegistryContext,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
    copie: Annotated[str, Query(pattern="^(rl)?$")] = "",
) -> Response:
    draft = await current_draft(ctx, request, "adhesion")
    steps = steps_of(draft)
    if step not in steps:
        raise NotFound(_("Cette étape ne fait pas partie de votre demande d'adhésion."))
    missing = first_missing(draft)
    if missing and steps.index(step) > steps.index(missing):
        return redirect(f"/portail/adhesion/{missing}")
    values = None
    if step == "referent" and copie == "rl":
        # « Utiliser les coordonnées du représentant légal »
        rl = draft.data.get("representant", {})
        values = {
            **stored_values(step, draft.data.get(step)),
            **{k: rl.get(k, "") for k in ("first_name", "last_name", "function", "nationality")},
        }
    return await wizard_page(request, ctx, draft, step, values, q=q, page=page)


@router.post("/adhesion/soumettre")
async def adhesion_submit(request: Request, ctx: RegistryContext) -> Response:
    """« Accepter le formulaire »: the request goes to the legal representative."""
    filled = values_of(await read_form(request))
    draft = await current_draft(ctx, request, "adhesion")
    if missing := first_missing(draft):
        return redirect(
            f"/portail/adhesion/{missing}", request, _("Complétez cette étape."), "error"
        )
    data, steps = draft.data, steps_of(draft)
    referent = dict(data["referent"])
    password_hash = referent.pop("password_hash")
    form, errors = validate(
        AdhesionForm,
        {
            "entity": data["entite"],
            "sector": data["secteur"],
            "mission": data.get("mission") if "mission" in steps else None,
            "partner": data.get("partenaire") if "partenaire" in steps else None,
            "legal_representative": data["representant"],
            "referent": referent,
            # filed by a relay partner: under which avenant
            "avenant": filled.get("avenant") if data.get("relay_id") else None,
        },
    )
    if form is None:
        return await wizard_page(request, ctx, draft, "recapitulatif", filled, errors)
    upload = (
        adhesions.Upload(draft.upload_path, draft.upload_name or "description.pdf")
        if draft.upload_path and flow_of(form.sector.category) == "private_rd"
        else None
    )
    try:
        await adhesions.submit(
            ctx, form, draft.email, password_hash, upload, relay_id=data.get("relay_id")
        )
    except InvalidFields as exc:
        return await wizard_page(request, ctx, draft, "recapitulatif", filled, exc.errors)
    await drafts.discard(ctx, draft, keep_upload=upload is not None)
    await ctx.commit()
    context = {"rl": form.legal_representative, "entity": form.entity}
    response = render(request, "registry/adhesion_envoyee.html", context)
    response.delete_cookie(DRAFT_COOKIE)
    return response


@router.post("/adhesion/{step}")
@accepts_file(description_file)
async def adhesion_save(step: str, request: Request, ctx: RegistryContext) -> Response:
    """Check one step and keep it in the draft; its errors are shown next to its fields."""
    form = await read_form(request, max_files=1)
    draft = await current_draft(ctx, request, "adhesion")
    steps = steps_of(draft)
    if step not in steps or step == "recapitulatif":
        raise NotFound(_("Cette étape ne fait pas partie de votre demande d'adhésion."))
    values = values_of(form)
    if step == "rappel":
        drafts.save(draft, "rappel", True)
    else:
        errors = await save_step(ctx, draft, step, values, form.get("description"))
        if errors:
            return await wizard_page(request, ctx, draft, step, values, errors)
    await ctx.commit()
    following = steps_of(draft)
    return redirect(f"/portail/adhesion/{following[following.index(step) + 1]}")


async def save_step(
    ctx: RegistryContext, draft: Draft, step: str, values: dict[str, Any], upload: Any
) -> dict[str, str]:
    """Validate a step and keep it; the errors otherwise (nothing is kept then)."""
    if step == "mission":
        values = mission_values(values)
    checked, errors = validate(MODELS[step], values)
    if step == "mission" and errors:
        errors = mission_errors(errors, values["sensors"])
    if isinstance(checked, Partner):
        partner = await ctx.session.get(Entity, checked.public_entity_id)
        if partner is None or partner.status != "active" or partner.activity_sector != "public":
            errors["public_entity_id"] = _("Choisissez une entité publique adhérente de la liste.")
    stored = checked.model_dump(mode="json") if checked is not None else {}
    if step == "referent":
        errors |= referent_password(draft, values, stored)
    if step == "mission" and flow_of(draft.data["secteur"]["category"]) == "private_rd":
        errors |= await keep_description(ctx, draft, upload, keep=not errors)
    if errors:
        return errors
    drafts.save(draft, step, stored)
    return {}


def referent_password(
    draft: Draft, values: dict[str, Any], stored: dict[str, Any]
) -> dict[str, str]:
    """The password's hash, kept in the draft: the password itself never is. Left blank,
    the password chosen before is kept."""
    previous = draft.data.get("referent", {}).get("password_hash")
    if previous and not values.get("password") and not values.get("password_confirmation"):
        stored["password_hash"] = previous
        return {}
    checked, errors = validate(NewPassword, values)
    if checked is None:
        return errors
    try:
        checked.check_password(draft.email)
    except ValueError as exc:
        return field_errors(exc)
    stored["password_hash"] = hash_password(checked.password)
    return {}


async def keep_description(
    ctx: RegistryContext, draft: Draft, upload: Any, keep: bool
) -> dict[str, str]:
    """The R&D project description: a PDF of 25 MB at most, replacing any earlier one."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        if draft.upload_path:
            return {}
        return {"description": _("Joignez le fichier de description de votre projet de R&D (PDF).")}
    if not keep:
        return {"description": _("Joignez à nouveau le fichier une fois les erreurs corrigées.")}
    try:
        saved = await save_description(ctx.settings, ctx.files, upload)
    except (UnsupportedMediaType, PayloadTooLarge) as exc:
        return {"description": str(exc)}
    await files.remove(ctx.files, draft.upload_path)
    draft.upload_path, draft.upload_name = saved.href, saved.name
    return {}


# -- the legal representative's e-validation ---------------------------------------------------


@router.get("/adhesion/validation/{token}")
async def rl_page(token: str, request: Request, ctx: RegistryContext) -> Response:
    view = await adhesions.rl_request(ctx, token)
    return render(request, "registry/rl_validation.html", rl_context(view, token))


@router.post("/adhesion/validation/{token}")
async def rl_validate(token: str, request: Request, ctx: RegistryContext) -> Response:
    form = await read_form(request)
    codes = [key.removeprefix("accept-") for key in form if key.startswith("accept-")]
    try:
        adhesion = await adhesions.rl_validate(ctx, token, codes)
    except InvalidFields as exc:
        view = await adhesions.rl_request(ctx, token)
        context = {**rl_context(view, token), "errors": exc.errors, "ticked": codes}
        return render(request, "registry/rl_validation.html", context, 400)
    await ctx.commit()
    return render(request, "registry/rl_validee.html", {"entity": adhesion.entity})


def rl_context(view: adhesions.AdhesionView, token: str) -> dict[str, Any]:
    return {
        "view": view,
        "token": token,
        "entity": view.entity,
        "rl": view.entity.legal_representative,
        "errors": {},
        "ticked": [],
        **vocabulary(),
    }


# -- account request -----------------------------------------------------------------------------


async def account_context(ctx: RegistryContext, draft: Draft) -> dict[str, Any]:
    entity = await entity_for_account(ctx, draft.data.get("entity_id"))
    return {
        "entity": entity,
        "email": draft.email,
        "licences": product_licences(await accepted(ctx.session, entity.id)),
        "country_options": country_options(language()),
    }


@router.get("/compte")
async def account_form(request: Request, ctx: RegistryContext) -> Response:
    draft = await current_draft(ctx, request, "account")
    context = await account_context(ctx, draft)
    values = {"email": draft.email, "email_confirmation": draft.email, "nationality": "France"}
    return render(
        request, "registry/compte_demande.html", {**context, "values": values, "errors": {}}
    )


@router.post("/compte")
async def account_send(request: Request, ctx: RegistryContext) -> Response:
    """« Envoyer votre demande d'inscription »: the account waits for the referent."""
    form = await read_form(request)
    draft = await current_draft(ctx, request, "account")
    context = await account_context(ctx, draft)
    values = {**values_of(form), "certifications": form.getlist("certifications")}
    checked, errors = validate(AccountRequest, values)
    if checked is not None:
        try:
            account = await create_account(
                ctx, context["entity"].id, draft.email, checked, hash_password(checked.password)
            )
        except InvalidFields as exc:
            errors = exc.errors
    if errors or checked is None:
        context |= {"values": values, "errors": errors}
        return render(request, "registry/compte_demande.html", context, 400)
    await drafts.discard(ctx, draft)
    await ctx.commit()
    response = render(request, "registry/compte_envoye.html", {"account": account, **context})
    response.delete_cookie(DRAFT_COOKIE)
    return response


# -- the development mailbox ---------------------------------------------------------------------


def dev_mailbox(request: Request) -> bool:
    """Without SMTP in development, mails are read on the portal with their single-use
    links, as their recipients would: never in production, where only SMTP carries them, and
    only from this machine (a development server left reachable shows nobody's links)."""
    settings = services_of(request).settings
    if settings.production or settings.mail.smtp_host:
        return False
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(client_address(request)).is_loopback
    return False


@router.get("/courriels")
async def mailbox(
    request: Request, ctx: RegistryContext, a: Annotated[str, Query(max_length=320)] = ""
) -> Response:
    if not dev_mailbox(request):
        raise NotFound(_("Pas de boîte de développement : les courriels partent par SMTP."))
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(50)
    if a.strip():
        query = query.where(OutboxMessage.recipients.contains([a.strip().lower()]))
    messages = list(await ctx.session.scalars(query))
    seal = MailSeal(services_of(request).settings.web.secret_keys)
    bodies = {m.id: seal.open(m.body) for m in messages}
    context = {"messages": messages, "bodies": bodies, "a": a, "dev": True}
    return render(request, "registry/courriels.html", context)
