"""The registry's JSON API: `/auth` for credentials, `/registry` for entities, adhesions,
accounts and their administration. Every flow of the pages is available here."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, EmailStr, Field, ValidationError
from sqlalchemy import select

from extensions.bodies import accepts_file
from extensions.errors import InvalidFields, NotFound, PermissionDenied
from extensions.i18n import _, language
from extensions.identity import SignedIn, require_role
from extensions.mail import OutboxMessage, masked
from registry_plugin.domain import (
    accounts,
    adhesions,
    administration,
    auth,
    entities,
    files,
    links,
    relays,
    statistics,
)
from registry_plugin.domain.licences import accepted, current_licences
from registry_plugin.models import (
    Account,
    Adhesion,
    AuditEvent,
    AuthToken,
    Entity,
    EntityAcceptance,
    Mission,
    Partnership,
)
from registry_plugin.schemas import (
    AccountRequest,
    AdhesionRequest,
    LegalRepresentative,
    NewPassword,
    RowId,
    field_errors,
)
from registry_plugin.security import hash_password
from registry_plugin.uploads import (
    convention_file,
    description_file,
    save_convention,
    save_description,
)
from registry_plugin.vocabulary import CATEGORIES, INTEREST_DOMAINS, SENSORS
from registry_plugin.web import (
    RegistryContext,
    forget_rechecks,
    limit_mail,
    limit_sign_in,
    send_verification,
)

auth_router = APIRouter(prefix="/auth", tags=["Authentication"])
router = APIRouter(prefix="/registry", tags=["Registry"])
Instructor = Annotated[Any, Depends(require_role("instructor", "admin"))]


# -- public shapes -----------------------------------------------------------------------------


class EntityPublic(BaseModel):
    id: int
    acronym: str
    name: str
    nationality: str
    city: str
    activity_sector: str
    status: str
    other_names: list[str] = Field(
        default_factory=list, description="Autre(s) nom(s) de l'Entité: those merged into it"
    )


class LicencePublic(BaseModel):
    code: str
    version: str
    title: str
    audience: str
    attestation: str
    certification: str
    document: str


class AccountPublic(BaseModel):
    id: int
    email: str
    first_name: str
    last_name: str
    function: str
    entity_id: int
    status: str
    roles: list[str]
    expires_on: date | None
    created_at: datetime
    validated_at: datetime | None
    language: str = Field(description="What the account's mails are written in (fr, en)")


class Me(BaseModel):
    account: AccountPublic
    entity: EntityPublic
    roles: list[str]
    licences_accepted_by_entity: list[str]
    licences_certified: list[str]
    via: str


def entity_public(entity: Entity) -> EntityPublic:
    return EntityPublic.model_validate(entity, from_attributes=True)


def account_public(account: Account) -> AccountPublic:
    return AccountPublic.model_validate(account, from_attributes=True)


# -- credentials -------------------------------------------------------------------------------


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int


@auth_router.post(
    "/token", response_model=TokenResponse, summary="Bearer token (OAuth2 password flow)"
)
async def token(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], ctx: RegistryContext
) -> TokenResponse:
    """Exchange an e-mail (`username`) and password for a bearer token valid one hour."""
    await limit_sign_in(ctx, request, form.username)
    account = await auth.sign_in(ctx, form.username, form.password)
    value, credential = await auth.issue(ctx, account, "bearer")
    await ctx.commit()
    assert credential.expires_at is not None
    return TokenResponse(access_token=value, expires_in=ctx.settings.bearer_minutes * 60)


@auth_router.get("/me", response_model=Me, summary="Who am I")
async def me(identity: SignedIn, ctx: RegistryContext) -> Me:
    account = await ctx.session.get(Account, identity.account_id)
    assert account is not None
    certified = await accounts.certifications(ctx, account.id)
    return Me(
        account=account_public(account),
        entity=entity_public(account.entity),
        roles=sorted(identity.roles),
        licences_accepted_by_entity=[
            a.licence.code
            for a in await accepted(ctx.session, account.entity_id)
            if a.suspended_at is None
        ],
        licences_certified=sorted(c.licence.code for c in certified),
        via=identity.via,
    )


class LanguageChoice(BaseModel):
    language: str = Field(max_length=20, description="fr or en")


@auth_router.put("/me/language", response_model=AccountPublic, summary="Choose my mails' language")
async def choose_language(
    body: LanguageChoice, identity: SignedIn, ctx: RegistryContext
) -> AccountPublic:
    """Every mail to me is written in this language from now on (the pages follow `?lang=`,
    the `dinamis_lang` cookie or Accept-Language)."""
    account = await accounts.choose_language(ctx, body.language)
    await ctx.commit()
    return account_public(account)


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=80)


class ApiKeyPublic(BaseModel):
    id: int
    name: str | None
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself: shown only now")


@auth_router.post(
    "/api-keys", response_model=ApiKeyCreated, status_code=201, summary="Create a personal API key"
)
async def create_api_key(
    body: ApiKeyCreate, identity: SignedIn, ctx: RegistryContext
) -> ApiKeyCreated:
    account = await ctx.session.get(Account, identity.account_id)
    assert account is not None
    value, credential = await auth.issue(ctx, account, "apikey", auth.validate_key_name(body.name))
    await ctx.commit()
    return ApiKeyCreated(
        key=value, **ApiKeyPublic.model_validate(credential, from_attributes=True).model_dump()
    )


@auth_router.get("/api-keys", response_model=list[ApiKeyPublic], summary="My API keys")
async def list_api_keys(identity: SignedIn, ctx: RegistryContext) -> list[ApiKeyPublic]:
    rows = await ctx.session.scalars(
        select(AuthToken)
        .where(AuthToken.account_id == identity.account_id, AuthToken.kind == "apikey")
        .order_by(AuthToken.id)
    )
    return [ApiKeyPublic.model_validate(r, from_attributes=True) for r in rows]


@auth_router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(key_id: RowId, identity: SignedIn, ctx: RegistryContext) -> Response:
    await auth.revoke(ctx, key_id)
    await ctx.commit()
    return Response(status_code=204)


class PasswordChange(NewPassword):
    current_password: str


@auth_router.post("/password", status_code=204, summary="Change my password")
async def change_password(
    body: PasswordChange, identity: SignedIn, ctx: RegistryContext
) -> Response:
    """The credential this request came with stays valid if it is a session or a bearer
    token; every other session, bearer token and API key is revoked, and a mail says so."""
    await auth.change_password(ctx, body.current_password, body)
    await ctx.commit()
    return Response(status_code=204)


class ResetRequest(BaseModel):
    email: EmailStr


class ResetConfirm(NewPassword):
    token: str


@auth_router.post("/password-resets", status_code=202, summary="Mail a password reset link")
async def request_reset(
    body: ResetRequest, request: Request, ctx: RegistryContext
) -> dict[str, str]:
    """Always answers `sent`, so that it tells nobody which addresses have an account."""
    email = str(body.email).lower()
    await limit_mail(request, email)
    await auth.request_reset(ctx, email)
    await ctx.commit()
    return {"status": "sent"}


@auth_router.post("/password-resets/confirm", status_code=204, summary="Set a new password")
async def confirm_reset(body: ResetConfirm, ctx: RegistryContext) -> Response:
    """Every session, bearer token and API key of the account is revoked, and a mail says so."""
    await auth.reset_password(ctx, body.token, body)
    await ctx.commit()
    return Response(status_code=204)


class Certification(BaseModel):
    licences: list[str] = Field(min_length=1, description="Codes of licences my entity accepted")


@auth_router.post("/certifications", response_model=list[str], summary="Certify licences")
async def certify(body: Certification, identity: SignedIn, ctx: RegistryContext) -> list[str]:
    """Certify having read licences my entity accepted; returns all I have certified."""
    codes = await accounts.certify(ctx, body.licences)
    await ctx.commit()
    return codes


# -- e-mail verification -----------------------------------------------------------------------


class VerificationRequest(BaseModel):
    email: EmailStr
    purpose: Literal["adhesion", "account"]
    entity_id: RowId | None = Field(default=None, description="For `account`: the adherent entity")


class VerificationConfirm(BaseModel):
    token: str


class Ticket(BaseModel):
    ticket: str = Field(description="Present it with the adhesion or account request")
    email: str
    purpose: str
    entity_id: int | None


@router.post("/email-verifications", status_code=202, summary="Send an e-mail verification link")
async def request_verification(
    body: VerificationRequest, request: Request, ctx: RegistryContext
) -> dict[str, str]:
    """First step of an adhesion or an account request: a signed, expiring, single-use link
    is e-mailed to the address."""
    await send_verification(ctx, request, str(body.email).lower(), body.purpose, body.entity_id)
    await ctx.commit()
    return {"status": "sent"}


@router.post(
    "/email-verifications/confirm", response_model=Ticket, summary="Use a verification link"
)
async def confirm_verification(body: VerificationConfirm, ctx: RegistryContext) -> Ticket:
    link = await links.find(ctx, body.token, "verify_email", consume=True)
    purpose, entity_id = link.payload["purpose"], link.payload.get("entity_id")
    await ctx.commit()
    return Ticket(
        ticket=links.ticket(ctx, link.email, purpose, entity_id=entity_id),
        email=link.email,
        purpose=purpose,
        entity_id=entity_id,
    )


# -- reference data ----------------------------------------------------------------------------


@router.get("/vocabulary", summary="Eligibility categories, interest domains, sensors")
async def vocabulary() -> dict[str, Any]:
    return {"categories": CATEGORIES, "interest_domains": INTEREST_DOMAINS, "sensors": SENSORS}


@router.get(
    "/licences", response_model=list[LicencePublic], summary="The charter and the licences in force"
)
async def licences(ctx: RegistryContext) -> list[LicencePublic]:
    return [
        LicencePublic.model_validate(lic, from_attributes=True)
        for lic in await current_licences(ctx.session)
    ]


@router.get(
    "/licences/{code}",
    response_class=PlainTextResponse,
    summary="The text of a licence in force (the collections' `license` links)",
)
async def licence_document(code: str, ctx: RegistryContext) -> PlainTextResponse:
    for licence in await current_licences(ctx.session):
        if licence.code == code:
            return PlainTextResponse(f"{licence.title} ({licence.version})\n\n{licence.document}")
    raise NotFound(
        _("Aucune licence %(code)r en vigueur : GET /registry/licences les liste.", code=code)
    )


class EntityPage(BaseModel):
    entities: list[EntityPublic]
    total: int
    page: int
    pages: int


@router.get("/entities", response_model=EntityPage, summary="Search adherent entities")
async def search_entities(
    ctx: RegistryContext,
    q: Annotated[
        str, Query(max_length=100, description="Name or acronym, accents and case ignored")
    ] = "",
    page: Annotated[int, Query(ge=1)] = 1,
    public_only: bool = False,
) -> EntityPage:
    found = await entities.search(ctx, q, page, public_only)
    return EntityPage(
        entities=[entity_public(e) for e in found.entities],
        total=found.total,
        page=found.page,
        pages=found.pages,
    )


# -- adhesions -------------------------------------------------------------------------------


class AdhesionPublic(BaseModel):
    id: int
    entity: EntityPublic
    kind: str
    submitted_by: str
    created_at: datetime
    rl_validated_at: datetime | None
    decision: str | None
    reason: str | None
    decided_at: datetime | None
    relay_id: int | None = Field(description="The relay partner that filed it, if any")
    filed_by_id: int | None = Field(description="The relay's referent who filed it")
    avenant: str | None = Field(description="The relay partnership's avenant")


def adhesion_public(adhesion: Adhesion) -> AdhesionPublic:
    return AdhesionPublic(
        **{k: getattr(adhesion, k) for k in AdhesionPublic.model_fields if k != "entity"},
        entity=entity_public(adhesion.entity),
    )


@router.post(
    "/adhesions",
    response_model=AdhesionPublic,
    status_code=201,
    summary="Submit an adhesion",
    form_limits={"max_files": 1, "max_fields": 2},
)
@accepts_file(description_file)
async def submit_adhesion(
    ctx: RegistryContext,
    ticket: Annotated[str, Form(description="From the e-mail verification")],
    adhesion: Annotated[str, Form(description="The AdhesionRequest, as JSON")],
    description: Annotated[
        UploadFile | None, File(description="R&D project description (PDF, 25 MB at most)")
    ] = None,
) -> AdhesionPublic:
    """The whole adhesion form, by the future referent whose address was verified. Private
    R&D entities attach their project description. Sent by a signed-in relay partner, the
    entity becomes one of the relay's partners."""
    verified = links.read_ticket(ctx, ticket, "adhesion")
    try:
        request = AdhesionRequest.model_validate(orjson.loads(adhesion))
        request.referent.check_password(verified["email"])
    except orjson.JSONDecodeError as exc:
        raise InvalidFields({"adhesion": _("Le formulaire d'adhésion doit être en JSON.")}) from exc
    except ValueError as exc:
        errors = field_errors(exc)
        if not isinstance(exc, ValidationError):
            errors = {f"referent.{k}": v for k, v in errors.items()}
        raise InvalidFields(errors) from exc
    upload = (
        await save_description(ctx.settings, ctx.files, description)
        if description is not None and description.filename
        else None
    )
    identity = ctx.identity
    relay = identity.entity_id if identity and identity.has("relay") else None
    try:
        created = await adhesions.submit(
            ctx, request, verified["email"], hash_password(request.referent.password), upload, relay
        )
        await ctx.commit()
    except BaseException:
        await files.remove(ctx.files, upload.href if upload else None)  # refused: keep nothing
        raise
    return adhesion_public(created)


class RlView(BaseModel):
    adhesion: AdhesionPublic
    legal_representative: dict[str, str]
    referent: dict[str, str]
    licences: list[LicencePublic]


class RlDecision(BaseModel):
    accepted: list[str] = Field(description="The codes of every licence shown, charter included")


@router.get(
    "/adhesions/validation/{token}",
    response_model=RlView,
    summary="The request the legal representative validates",
)
async def rl_view(token: str, ctx: RegistryContext) -> RlView:
    view = await adhesions.rl_request(ctx, token)
    rl = view.entity.legal_representative
    assert rl is not None
    return RlView(
        adhesion=adhesion_public(view.adhesion),
        legal_representative={"name": rl.full_name, "email": rl.email, "function": rl.function},
        referent={"name": view.referent.full_name, "email": view.referent.email},
        licences=[LicencePublic.model_validate(lic, from_attributes=True) for lic in view.licences],
    )


@router.post(
    "/adhesions/validation/{token}",
    response_model=AdhesionPublic,
    summary="E-validate as legal representative",
)
async def rl_validate(
    token: str, body: RlDecision, request: Request, ctx: RegistryContext
) -> AdhesionPublic:
    validated = await adhesions.rl_validate(ctx, token, body.accepted)
    await ctx.commit()
    return adhesion_public(validated)


@router.get("/adhesions", response_model=list[AdhesionPublic], summary="Adhesions (instructors)")
async def list_adhesions(
    ctx: RegistryContext,
    _: Instructor,
    status: Annotated[str | None, Query(description="Entity status")] = None,
) -> list[AdhesionPublic]:
    query = select(Adhesion).join(Adhesion.entity).order_by(Adhesion.id.desc())
    if status:
        query = query.where(Entity.status == status)
    return [adhesion_public(a) for a in await ctx.session.scalars(query)]


class Instruction(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


@router.post(
    "/adhesions/{adhesion_id}/accept", response_model=AdhesionPublic, summary="Accept an adhesion"
)
async def accept_adhesion(
    adhesion_id: RowId, ctx: RegistryContext, _: Instructor
) -> AdhesionPublic:
    decided = await adhesions.instruct(ctx, adhesion_id, accept=True)
    await ctx.commit()
    return adhesion_public(decided)


@router.post(
    "/adhesions/{adhesion_id}/reject", response_model=AdhesionPublic, summary="Reject an adhesion"
)
async def reject_adhesion(
    adhesion_id: RowId, body: Instruction, ctx: RegistryContext, _: Instructor
) -> AdhesionPublic:
    decided = await adhesions.instruct(ctx, adhesion_id, accept=False, reason=body.reason)
    await ctx.commit()
    return adhesion_public(decided)


PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}


async def pdf_file(ctx: RegistryContext, stored: str, filename: str) -> Response:
    """A registry file, read from the storage by the API after its own permission check (as
    an attachment, named as Starlette's FileResponse names one)."""
    quoted = quote(filename)
    disposition = (
        f'attachment; filename="{filename}"'
        if quoted == filename
        else f"attachment; filename*=utf-8''{quoted}"
    )
    return Response(
        await files.read(ctx.files, stored),
        media_type="application/pdf",
        headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"},
    )


@router.get(
    "/adhesions/{adhesion_id}/act",
    response_class=Response,
    responses=PDF,
    summary="The Acte d'adhésion (PDF)",
)
async def adhesion_act(adhesion_id: RowId, identity: SignedIn, ctx: RegistryContext) -> Response:
    """In the reader's language (made with the French act at the decision); an act decided
    before translations were made exists in French only."""
    adhesion = await ctx.session.get(Adhesion, adhesion_id)
    if adhesion is None or adhesion.act_path is None:
        raise NotFound(_("Pas d'acte d'adhésion pour cette demande."))
    if not (identity.has("instructor", "admin") or identity.entity_id == adhesion.entity_id):
        raise PermissionDenied(_("Cet acte appartient à une autre entité."))
    stored = adhesion.act_translations.get(language(), adhesion.act_path)
    return await pdf_file(ctx, stored, PurePosixPath(stored).name)


@router.get(
    "/missions/{mission_id}/description",
    response_class=Response,
    responses=PDF,
    summary="A private entity's project description (PDF)",
)
async def mission_description(
    mission_id: RowId, identity: SignedIn, ctx: RegistryContext
) -> Response:
    """For instructors, the entity's referent, and the referent of its partner entity."""
    mission = await ctx.session.get(Mission, mission_id)
    if mission is None or mission.description_path is None:
        raise NotFound(_("Pas de fichier de description pour cette mission."))
    partners = await ctx.session.scalars(
        select(Partnership.public_entity_id).where(
            Partnership.private_entity_id == mission.entity_id
        )
    )
    allowed = identity.has("instructor", "admin") or (
        identity.has("referent") and identity.entity_id in {mission.entity_id, *partners}
    )
    if not allowed:
        raise PermissionDenied(_("Ce fichier appartient à une autre entité."))
    return await pdf_file(
        ctx, mission.description_path, mission.description_name or "description.pdf"
    )


# -- partnerships ------------------------------------------------------------------------------


class PartnershipPublic(BaseModel):
    id: int
    private_entity: EntityPublic
    public_entity: EntityPublic
    status: str
    created_at: datetime


def partnership_public(p: Partnership) -> PartnershipPublic:
    return PartnershipPublic(
        id=p.id,
        private_entity=entity_public(p.private_entity),
        public_entity=entity_public(p.public_entity),
        status=p.status,
        created_at=p.created_at,
    )


@router.get(
    "/partnerships",
    response_model=list[PartnershipPublic],
    summary="Partnerships my entity decides on",
)
async def list_partnerships(identity: SignedIn, ctx: RegistryContext) -> list[PartnershipPublic]:
    query = select(Partnership).order_by(Partnership.id.desc())
    if not identity.has("instructor", "admin"):
        query = query.where(Partnership.public_entity_id == identity.entity_id)
    return [partnership_public(p) for p in await ctx.session.scalars(query)]


@router.post(
    "/partnerships/{partnership_id}/{decision}",
    response_model=PartnershipPublic,
    summary="Validate or refuse",
)
async def decide_partnership(
    partnership_id: RowId,
    decision: Literal["validate", "refuse"],
    identity: SignedIn,
    ctx: RegistryContext,
) -> PartnershipPublic:
    decided = await adhesions.decide_partnership(ctx, partnership_id, decision == "validate")
    await ctx.commit()
    return partnership_public(decided)


# -- accounts ----------------------------------------------------------------------------------


class AccountCreate(AccountRequest):
    ticket: str
    entity_id: RowId


@router.post(
    "/accounts", response_model=AccountPublic, status_code=201, summary="Request an account"
)
async def create_account(body: AccountCreate, ctx: RegistryContext) -> AccountPublic:
    """A new account for an adherent entity, after the e-mail verification; the entity's
    referent validates it."""
    verified = links.read_ticket(ctx, body.ticket, "account")
    if verified.get("entity_id") != body.entity_id:
        raise InvalidFields(
            {"entity_id": _("Cette vérification d'adresse concerne une autre entité.")}
        )
    account = await accounts.create(
        ctx, body.entity_id, verified["email"], body, hash_password(body.password)
    )
    await ctx.commit()
    return account_public(account)


@router.get(
    "/entities/{entity_id}/accounts",
    response_model=list[AccountPublic],
    summary="Accounts of an entity",
)
async def entity_accounts(
    entity_id: RowId, identity: SignedIn, ctx: RegistryContext
) -> list[AccountPublic]:
    entity = await ctx.session.get(Entity, entity_id)
    if entity is None:
        raise NotFound(_("Entité introuvable."))
    allowed = (
        identity.has("instructor", "admin")
        or (identity.has("referent") and identity.entity_id == entity_id)
        or (identity.has("relay") and entity.relay_id == identity.entity_id)
    )
    if not allowed:
        raise PermissionDenied(_("Réservé au Référent DINAMIS de l'entité."))
    rows = await ctx.session.scalars(
        select(Account).where(Account.entity_id == entity_id).order_by(Account.id)
    )
    return [account_public(a) for a in rows]


class Validation(BaseModel):
    expires_on: date | None = None


class Refusal(BaseModel):
    reason: str | None = Field(default=None, max_length=1000)


@router.post(
    "/accounts/{account_id}/validate", response_model=AccountPublic, summary="Validate an account"
)
async def validate_account(
    account_id: RowId, body: Validation, identity: SignedIn, ctx: RegistryContext
) -> AccountPublic:
    account = await accounts.validate(ctx, account_id, body.expires_on)
    await ctx.commit()
    return account_public(account)


@router.post(
    "/accounts/{account_id}/refuse", response_model=AccountPublic, summary="Refuse an account"
)
async def refuse_account(
    account_id: RowId, body: Refusal, identity: SignedIn, ctx: RegistryContext
) -> AccountPublic:
    account = await accounts.refuse(ctx, account_id, body.reason)
    await ctx.commit()
    return account_public(account)


@router.post(
    "/accounts/{account_id}/{action}",
    response_model=AccountPublic,
    summary="Deactivate or reactivate",
)
async def change_account(
    account_id: RowId,
    action: Literal["deactivate", "reactivate"],
    identity: SignedIn,
    ctx: RegistryContext,
) -> AccountPublic:
    operation = accounts.deactivate if action == "deactivate" else accounts.reactivate
    account = await operation(ctx, account_id)
    await ctx.commit()
    return account_public(account)


@router.put(
    "/accounts/{account_id}/expiry",
    response_model=AccountPublic,
    summary="Set or clear the expiry date",
)
async def account_expiry(
    account_id: RowId, body: Validation, identity: SignedIn, ctx: RegistryContext
) -> AccountPublic:
    account = await accounts.set_expiry(ctx, account_id, body.expires_on)
    await ctx.commit()
    return account_public(account)


class ReferentChange(BaseModel):
    account_id: RowId


@router.post(
    "/entities/{entity_id}/referent",
    response_model=AccountPublic,
    summary="Hand over the referent role",
)
async def hand_over(
    entity_id: RowId, body: ReferentChange, identity: SignedIn, ctx: RegistryContext
) -> AccountPublic:
    account = await accounts.hand_over_referent(ctx, entity_id, body.account_id)
    await ctx.commit()
    return account_public(account)


@router.put(
    "/entities/{entity_id}/legal-representative", summary="Designate the legal representative"
)
async def legal_representative(
    entity_id: RowId, body: LegalRepresentative, identity: SignedIn, ctx: RegistryContext
) -> dict[str, str]:
    rl = await adhesions.change_legal_representative(ctx, entity_id, body)
    await ctx.commit()
    return {"name": rl.full_name, "email": rl.email}


# -- instructors' administration ------------------------------------------------------------


class Merge(BaseModel):
    into: RowId


class Members(BaseModel):
    member_ids: list[RowId] = Field(min_length=1)


class Relay(BaseModel):
    relay: bool


@router.post(
    "/entities/{entity_id}/merge", response_model=EntityPublic, summary="Merge into another entity"
)
async def merge(entity_id: RowId, body: Merge, ctx: RegistryContext, _: Instructor) -> EntityPublic:
    target = await entities.merge(ctx, entity_id, body.into)
    await ctx.commit()
    return entity_public(target)


@router.post(
    "/entities/{entity_id}/members",
    response_model=list[EntityPublic],
    summary="Group into a super-entity",
)
async def group(
    entity_id: RowId, body: Members, ctx: RegistryContext, _: Instructor
) -> list[EntityPublic]:
    members = await entities.group(ctx, entity_id, body.member_ids)
    await ctx.commit()
    return [entity_public(m) for m in members]


@router.put(
    "/entities/{entity_id}/relay",
    response_model=EntityPublic,
    summary="Withdraw or reinstate the relay role",
)
async def relay(entity_id: RowId, body: Relay, ctx: RegistryContext, _: Instructor) -> EntityPublic:
    """A relay partner is designated with its convention (`POST …/relay-convention`); this
    withdraws the role, or gives it back under the convention on file."""
    entity = await relays.set_relay(ctx, entity_id, body.relay)
    await ctx.commit()
    return entity_public(entity)


class Suspension(BaseModel):
    reason: str | None = Field(default=None, max_length=administration.REASON_LENGTH)


class AcceptancePublic(BaseModel):
    code: str
    title: str
    accepted_at: datetime
    accepted_by: str
    suspended_at: datetime | None


def acceptance_public(acceptance: EntityAcceptance) -> AcceptancePublic:
    return AcceptancePublic(
        code=acceptance.licence.code,
        title=acceptance.licence.title,
        accepted_at=acceptance.accepted_at,
        accepted_by=acceptance.accepted_by,
        suspended_at=acceptance.suspended_at,
    )


@router.post(
    "/entities/{entity_id}/suspend",
    response_model=EntityPublic,
    summary="Suspend an entity's adhesion (instructors)",
)
async def suspend_entity(
    entity_id: RowId, body: Suspension, request: Request, ctx: RegistryContext, _: Instructor
) -> EntityPublic:
    """Its accounts are refused from their next request on, whatever their credential."""
    entity = await administration.suspend_entity(ctx, entity_id, body.reason)
    await ctx.commit()
    forget_rechecks(request)
    return entity_public(entity)


@router.post(
    "/entities/{entity_id}/reinstate",
    response_model=EntityPublic,
    summary="Reinstate a suspended entity (instructors)",
)
async def reinstate_entity(
    entity_id: RowId, request: Request, ctx: RegistryContext, _: Instructor
) -> EntityPublic:
    entity = await administration.reinstate_entity(ctx, entity_id)
    await ctx.commit()
    forget_rechecks(request)
    return entity_public(entity)


@router.get(
    "/entities/{entity_id}/licences",
    response_model=list[AcceptancePublic],
    summary="The licences an entity accepted (instructors)",
)
async def entity_licences(
    entity_id: RowId, ctx: RegistryContext, _: Instructor
) -> list[AcceptancePublic]:
    if await ctx.session.get(Entity, entity_id) is None:
        raise NotFound(_("Entité introuvable."))
    return [acceptance_public(a) for a in await accepted(ctx.session, entity_id)]


@router.post(
    "/entities/{entity_id}/licences/{code}/{action}",
    response_model=AcceptancePublic,
    summary="Suspend or reinstate one of an entity's licences (instructors)",
)
async def entity_licence(
    entity_id: RowId,
    code: str,
    action: Literal["suspend", "reinstate"],
    body: Suspension,
    request: Request,
    ctx: RegistryContext,
    _: Instructor,
) -> AcceptancePublic:
    if action == "suspend":
        found = await administration.suspend_licence(ctx, entity_id, code, body.reason)
    else:
        found = await administration.reinstate_licence(ctx, entity_id, code)
    await ctx.commit()
    forget_rechecks(request)
    return acceptance_public(found)


@router.delete(
    "/entities/{entity_id}/members/{member_id}",
    response_model=EntityPublic,
    summary="Take an entity out of its super-entity (instructors)",
)
async def ungroup(
    entity_id: RowId, member_id: RowId, ctx: RegistryContext, _: Instructor
) -> EntityPublic:
    member = await entities.ungroup(ctx, entity_id, member_id)
    await ctx.commit()
    return entity_public(member)


class AccountFound(AccountPublic):
    entity_name: str


class AccountSearch(BaseModel):
    accounts: list[AccountFound]
    total: int
    page: int
    pages: int


@router.get(
    "/accounts",
    response_model=AccountSearch,
    summary="Search the accounts of every entity (instructors)",
)
async def search_accounts(
    ctx: RegistryContext,
    _: Instructor,
    q: Annotated[
        str, Query(max_length=100, description="Name, e-mail or entity; accents and case ignored")
    ] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> AccountSearch:
    found = await administration.search_accounts(ctx, q, status, page)
    return AccountSearch(
        accounts=[
            AccountFound(**account_public(a).model_dump(), entity_name=a.entity.name)
            for a in found.accounts
        ],
        total=found.total,
        page=found.page,
        pages=found.pages,
    )


class OutboxPublic(BaseModel):
    id: int
    created_at: datetime
    recipients: list[str]
    subject: str
    body: str
    template: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None


@router.get(
    "/outbox",
    response_model=list[OutboxPublic],
    summary="Mails sent or waiting (instructors), their single-use links masked",
)
async def outbox(
    ctx: RegistryContext,
    _: Instructor,
    to: Annotated[str | None, Query(description="Only the mails to this address")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OutboxPublic]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if to:
        query = query.where(OutboxMessage.recipients.contains([to.lower()]))
    return [
        OutboxPublic.model_validate(m, from_attributes=True).model_copy(
            update={"body": masked(m.body)}
        )
        for m in await ctx.session.scalars(query)
    ]


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: int | None
    details: dict[str, Any]


@router.get("/audit", response_model=list[AuditPublic], summary="The audit log (instructors)")
async def audit_log(
    ctx: RegistryContext,
    _: Instructor,
    subject_type: str | None = None,
    subject_id: RowId | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditPublic]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if subject_type:
        query = query.where(AuditEvent.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEvent.subject_id == subject_id)
    return [
        AuditPublic.model_validate(e, from_attributes=True)
        for e in await ctx.session.scalars(query)
    ]


# -- relay partners ---------------------------------------------------------------------------


class ConventionPublic(BaseModel):
    id: int
    entity_id: int
    title: str
    signed_on: date
    document_name: str
    created_at: datetime


@router.post(
    "/entities/{entity_id}/relay-convention",
    response_model=ConventionPublic,
    status_code=201,
    summary="Designate a relay partner under its signed convention",
    form_limits={"max_files": 1, "max_fields": 2},
)
@accepts_file(convention_file)
async def designate_relay(
    entity_id: RowId,
    ctx: RegistryContext,
    _: Instructor,
    title: Annotated[str, Form(description="The convention's title")],
    signed_on: Annotated[str, Form(description="Its date of signature (YYYY-MM-DD)")],
    document: Annotated[UploadFile, File(description="The signed convention (PDF, 25 MB at most)")],
) -> ConventionPublic:
    """The adherent entity becomes a relay partner: its referents file their partners'
    adhesions and administer their accounts."""
    try:
        info = relays.ConventionInfo.model_validate({"title": title, "signed_on": signed_on})
    except ValidationError as exc:
        raise InvalidFields(field_errors(exc)) from exc
    upload = await save_convention(ctx.settings, ctx.files, document)
    try:
        convention = await relays.designate(ctx, entity_id, info, upload)
        await ctx.commit()
    except BaseException:
        await files.remove(ctx.files, upload.href)
        raise
    return ConventionPublic.model_validate(convention, from_attributes=True)


@router.get(
    "/entities/{entity_id}/relay-convention",
    response_class=Response,
    responses=PDF,
    summary="A relay partner's signed convention (PDF)",
)
async def relay_convention(entity_id: RowId, identity: SignedIn, ctx: RegistryContext) -> Response:
    """For instructors and the relay's referents."""
    if not (identity.has("instructor", "admin") or identity.entity_id == entity_id):
        raise PermissionDenied(_("Cette convention appartient à une autre entité."))
    convention = await relays.convention_of(ctx, entity_id)
    if convention is None:
        raise NotFound(_("Pas de convention de partenariat relais pour cette entité."))
    return await pdf_file(ctx, convention.document_path, convention.document_name)


@router.post(
    "/entities/{entity_id}/accounts",
    response_model=AccountPublic,
    status_code=201,
    summary="Create a member's account (relay partners)",
)
async def create_member(
    entity_id: RowId, body: relays.MemberAccount, identity: SignedIn, ctx: RegistryContext
) -> AccountPublic:
    """A relay partner opens a validated account for a member of one of its partner
    entities; the member is mailed a link to choose a password, then certifies the licences."""
    account = await relays.create_member(ctx, entity_id, body)
    await ctx.commit()
    return account_public(account)


@router.get(
    "/relays/{entity_id}/activity",
    response_model=statistics.Activity,
    summary="A relay partner's activity: partners, accounts, downloads, requests",
)
async def relay_activity(
    entity_id: RowId,
    filters: Annotated[statistics.Filters, Query()],
    identity: SignedIn,
    ctx: RegistryContext,
) -> statistics.Activity:
    """For the relay's referents and instructors."""
    return await statistics.activity(ctx, filters, entity_id)


@router.get(
    "/statistics",
    response_model=statistics.Statistics,
    summary="The platform's numbers (instructors; a relay partner sees its partners')",
)
async def platform_statistics(
    filters: Annotated[statistics.Filters, Query()], identity: SignedIn, ctx: RegistryContext
) -> statistics.Statistics:
    return await statistics.statistics(ctx, filters)
