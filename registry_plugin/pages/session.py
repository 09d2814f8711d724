"""Signing in and out, the forgotten password, and the signed-in user's own page: account,
licences, password, personal API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, EmailStr
from sqlalchemy import select

from extensions.errors import AuthenticationRequired, InvalidFields
from extensions.i18n import _, speaking
from extensions.services import services_of
from extensions.web import (
    local_path,
    page_router,
    read_form,
    redirect,
    render,
    values_of,
)
from extensions.web.language import COOKIE_MAX_AGE, LANGUAGE_COOKIE
from registry_plugin.domain import accounts, auth, links
from registry_plugin.domain.licences import accepted, product_licences
from registry_plugin.identity import SESSION_COOKIE
from registry_plugin.models import Account, Adhesion, AuthToken
from registry_plugin.pages.common import identity_of, validate
from registry_plugin.schemas import NewPassword, RowId
from registry_plugin.vocabulary import CATEGORIES, LANGUAGE_NAMES
from registry_plugin.web import RegistryContext, limit_mail, limit_sign_in

router = page_router()


# -- sign in and out ----------------------------------------------------------------------------


@router.get("/connexion")
async def sign_in_form(
    request: Request, suivant: Annotated[str, Query(max_length=2000)] = ""
) -> Response:
    context = {"values": {}, "errors": {}, "next": local_path(suivant, "")}
    return render(request, "registry/connexion.html", context)


@router.post("/connexion")
async def sign_in(request: Request, ctx: RegistryContext) -> Response:
    form = await read_form(request)
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    target = local_path(str(form.get("next", "")), "/compte")
    await limit_sign_in(ctx, request, email)
    try:
        account = await auth.sign_in(ctx, email, password)
    except AuthenticationRequired as exc:
        context = {"values": {"email": email}, "errors": {"__all__": str(exc)}, "next": target}
        return render(request, "registry/connexion.html", context, 401)
    token, _issued = await auth.issue(ctx, account, "session")
    await ctx.commit()
    # The account's language, its owner's lasting choice, is the pages' from now on too.
    with speaking(account.language):
        welcome = _("Bienvenue, %(name)s.", name=account.full_name)
    response = redirect(target, request, welcome)
    response.set_cookie(LANGUAGE_COOKIE, account.language, max_age=COOKIE_MAX_AGE, samesite="lax")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ctx.settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=services_of(request).settings.secure_cookies,
    )
    return response


@router.post("/deconnexion")
async def sign_out(request: Request, ctx: RegistryContext) -> Response:
    await read_form(request)
    if token := request.cookies.get(SESSION_COOKIE):
        await auth.end_session(ctx, token)
        await ctx.commit()
    response = redirect("/portail", request, _("Vous êtes déconnecté."))
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- forgotten password -------------------------------------------------------------------------


class ResetForm(BaseModel):
    email: EmailStr


@router.get("/connexion/oubli")
async def reset_form(request: Request) -> Response:
    return render(request, "registry/oubli.html", {"values": {}, "errors": {}})


@router.post("/connexion/oubli")
async def reset_send(request: Request, ctx: RegistryContext) -> Response:
    form = await read_form(request)
    values = values_of(form)
    checked, errors = validate(ResetForm, values)
    if checked is None:
        return render(request, "registry/oubli.html", {"values": values, "errors": errors}, 400)
    email = str(checked.email).lower()
    await limit_mail(request, email)
    await auth.request_reset(ctx, email)
    await ctx.commit()
    return render(request, "registry/oubli_envoye.html", {"email": email})


@router.get("/connexion/nouveau-mot-de-passe/{token}")
async def new_password_form(token: str, request: Request, ctx: RegistryContext) -> Response:
    link = await links.find(ctx, token, "password_reset", consume=False)
    return render(
        request, "registry/nouveau_mot_de_passe.html", {"email": link.email, "errors": {}}
    )


@router.post("/connexion/nouveau-mot-de-passe/{token}")
async def new_password(token: str, request: Request, ctx: RegistryContext) -> Response:
    form = await read_form(request)
    checked, errors = validate(NewPassword, values_of(form))
    link = await links.find(ctx, token, "password_reset", consume=False)
    if checked is not None:
        try:
            await auth.reset_password(ctx, token, checked)
        except InvalidFields as exc:
            errors = exc.errors
    if errors:
        context = {"email": link.email, "errors": errors}
        return render(request, "registry/nouveau_mot_de_passe.html", context, 400)
    await ctx.commit()
    return redirect(
        "/connexion",
        request,
        _("Mot de passe changé : connectez-vous. Vos sessions et vos clés d'API sont révoquées."),
    )


# -- my account ---------------------------------------------------------------------------------


async def account_page(
    request: Request,
    ctx: RegistryContext,
    errors: dict[str, str] | None = None,
    new_key: str | None = None,
    status_code: int = 200,
) -> Response:
    identity = identity_of(request)
    account = await ctx.session.get(Account, identity.account_id)
    assert account is not None
    keys = await ctx.session.scalars(
        select(AuthToken)
        .where(AuthToken.account_id == account.id, AuthToken.kind == "apikey")
        .order_by(AuthToken.id.desc())
    )
    adhesion = await ctx.session.scalar(
        select(Adhesion).where(
            Adhesion.entity_id == account.entity_id, Adhesion.act_path.is_not(None)
        )
    )
    acceptances = await accepted(ctx.session, account.entity_id)
    context: dict[str, Any] = {
        "account": account,
        "entity": account.entity,
        "categories": CATEGORIES,
        "acceptances": acceptances,
        "certifiable": product_licences(acceptances),
        "certified": {c.licence.code: c for c in await accounts.certifications(ctx, account.id)},
        "keys": list(keys),
        "new_key": new_key,
        "adhesion": adhesion if identity.has("referent", "legal_representative") else None,
        "languages": LANGUAGE_NAMES,
        "errors": errors or {},
    }
    return render(request, "registry/compte.html", context, status_code)


@router.get("/compte")
async def my_account(request: Request, ctx: RegistryContext) -> Response:
    return await account_page(request, ctx)


@router.post("/compte/cles")
async def create_key(request: Request, ctx: RegistryContext) -> Response:
    """A new API key, shown once on the page that answers."""
    form = await read_form(request)
    identity = identity_of(request)
    account = await ctx.session.get(Account, identity.account_id)
    assert account is not None
    try:
        name = auth.validate_key_name(str(form.get("name", "")))
    except InvalidFields as exc:
        return await account_page(request, ctx, exc.errors, status_code=400)
    value, _ = await auth.issue(ctx, account, "apikey", name)
    await ctx.commit()
    return await account_page(request, ctx, new_key=value)


@router.post("/compte/cles/{key_id}/revoquer")
async def revoke_key(key_id: RowId, request: Request, ctx: RegistryContext) -> Response:
    await read_form(request)
    identity_of(request)
    credential = await auth.revoke(ctx, key_id)
    await ctx.commit()
    return redirect("/compte", request, _("Clé « %(name)s » révoquée.", name=credential.name))


@router.post("/compte/licences")
async def certify(request: Request, ctx: RegistryContext) -> Response:
    form = await read_form(request)
    identity_of(request)
    codes = [str(c) for c in form.getlist("certifications")]
    if not codes:
        return await account_page(
            request, ctx, {"certifications": _("Cochez au moins une licence.")}, status_code=400
        )
    try:
        await accounts.certify(ctx, codes)
    except InvalidFields as exc:
        return await account_page(request, ctx, exc.errors, status_code=400)
    await ctx.commit()
    return redirect("/compte", request, _("Licences certifiées."))


@router.post("/compte/langue")
async def choose_language(request: Request, ctx: RegistryContext) -> Response:
    """The language of my mails; the pages follow it (the switch's `?lang=`)."""
    form = await read_form(request)
    identity_of(request)
    try:
        account = await accounts.choose_language(ctx, str(form.get("language", "")))
    except InvalidFields as exc:
        return await account_page(request, ctx, exc.errors, status_code=400)
    await ctx.commit()
    with speaking(account.language):
        return redirect(f"/compte?lang={account.language}", request, _("Langue enregistrée."))


@router.post("/compte/mot-de-passe")
async def change_password(request: Request, ctx: RegistryContext) -> Response:
    form = await read_form(request)
    identity_of(request)
    values = values_of(form)
    checked, errors = validate(NewPassword, values)
    if checked is not None:
        try:
            await auth.change_password(ctx, str(values.get("current_password", "")), checked)
        except InvalidFields as exc:
            errors = exc.errors
    if errors:
        return await account_page(request, ctx, errors, status_code=400)
    await ctx.commit()
    return redirect(
        "/compte",
        request,
        _("Mot de passe changé : vos autres sessions sont fermées et vos clés d'API révoquées."),
    )
