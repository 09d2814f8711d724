"""Relay partners' pages: the instructors' designation with the convention, the relay's
activity view (partners, accounts, downloads, requests; CSV export) and its account creation
for the members of its partner entities."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from extensions.bodies import accepts_file
from extensions.errors import (
    Conflict,
    InvalidFields,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from extensions.i18n import _, language
from extensions.web import page_router, read_form, redirect, render, values_of
from registry_plugin.domain import files, relays, statistics
from registry_plugin.models import Entity
from registry_plugin.pages.admin import act, require_instructor
from registry_plugin.pages.common import identity_of, of, validate
from registry_plugin.schemas import RowId, field_errors, row_id
from registry_plugin.uploads import convention_file, save_convention
from registry_plugin.vocabulary import ACCOUNT_STATUS, ENTITY_STATUS, country_options
from registry_plugin.web import RegistryContext

router = page_router(prefix="/registre")

Month = Annotated[str, Query(max_length=7)]


def filters_of(
    entite: RowId | None = None,
    depuis: Month = "",
    jusqua: Month = "",
    collection: Annotated[str, Query(max_length=60)] = "",
) -> statistics.Filters:
    """The filters of the activity and statistics pages, from their query's French names."""
    return statistics.Filters(
        entity_id=entite, since=depuis or None, until=jusqua or None, collection=collection or None
    )


PageFilters = Annotated[statistics.Filters, Depends(filters_of)]


@router.get("/relais")
async def activity_page(
    request: Request, ctx: RegistryContext, filters: PageFilters, id: RowId | None = None
) -> Response:
    """The relay's view of its partner entities and their users (instructors name the relay)."""
    identity_of(request)
    try:
        view = await statistics.activity(ctx, filters, id)
    except InvalidFields as exc:
        view = await statistics.activity(ctx, statistics.Filters(), id)
        return page(request, view, exc.errors, status_code=400)
    return page(request, view)


def page(
    request: Request,
    view: statistics.Activity,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "view": view,
        "errors": errors or {},
        "values": {},
        "query": request.url.query,
        "partner_options": [(str(p.id), p.name) for p in view.partners if p.status == "active"],
        "country_options": country_options(language()),
        "monthly": totals(view.activity),
        "entity_status": ENTITY_STATUS,
        "account_status": ACCOUNT_STATUS,
    }
    return render(request, "registry/relais_activite.html", context, status_code=status_code)


def totals(activity: list[statistics.MonthActivity]) -> list[dict[str, Any]]:
    """Signatures and downloads per month, every collection together (the chart's bars)."""
    months: dict[str, dict[str, Any]] = {}
    for row in activity:
        month = months.setdefault(row.month, {"month": row.month, "signatures": 0, "downloads": 0})
        month["signatures"] += row.signatures
        month["downloads"] += row.downloads
    return list(months.values())


EXPORTS = {
    "comptes": ("accounts", ["entity", "name", "email", "status", "expires_on", "last_sign_in_at"]),
    "activite": ("activity", ["month", "collection", "signatures", "downloads"]),
    "demandes": (
        "requests",
        [
            "id",
            "entity",
            "product",
            "sensor",
            "sensor_label",
            "status",
            "status_label",
            "area_km2",
            "created_at",
        ],
    ),
}


@router.get("/relais/export.csv")
async def activity_csv(
    request: Request,
    ctx: RegistryContext,
    filters: PageFilters,
    partie: Annotated[str, Query(pattern="^(comptes|activite|demandes)$")] = "comptes",
    id: RowId | None = None,
) -> Response:
    """One table of the activity view, with its filters, as CSV (UTF-8, for a spreadsheet)."""
    identity_of(request)
    view = await statistics.activity(ctx, filters, id)
    attribute, columns = EXPORTS[partie]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in getattr(view, attribute):
        writer.writerow([getattr(row, c) if getattr(row, c) is not None else "" for c in columns])
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="relais-{partie}.csv"'},
    )


@router.post("/relais/comptes")
async def create_member(request: Request, ctx: RegistryContext) -> Response:
    """The relay opens an account for a member of one of its partner entities."""

    async def operation(values: dict[str, Any]) -> str:
        entity_id = row_id(values.get("entity_id"))
        if entity_id is None:
            raise InvalidFields({"entity_id": _("Choisissez l'une de vos entités partenaires.")})
        checked, errors = validate(relays.MemberAccount, values)
        if checked is None:
            raise InvalidFields(errors)
        account = await relays.create_member(ctx, entity_id, checked)
        return _(
            "Compte %(full_name)s créé : un courriel l'invite à choisir son mot de passe, "
            "puis à certifier les licences.",
            full_name=of(account.full_name),
        )

    return await act(request, ctx, "/registre/relais", operation)


@router.get("/relais/designation/{entity_id}")
async def designation_form(entity_id: RowId, request: Request, ctx: RegistryContext) -> Response:
    require_instructor(request)
    return await designation_page(request, ctx, entity_id)


async def designation_page(
    request: Request,
    ctx: RegistryContext,
    entity_id: int,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    entity = await ctx.session.get(Entity, entity_id)
    if entity is None:
        raise NotFound(_("Entité introuvable."))
    context = {
        "entity": entity,
        "convention": await relays.convention_of(ctx, entity_id),
        "values": values or {},
        "errors": errors or {},
        "max_mb": ctx.settings.upload_max_mb,
    }
    return render(request, "registry/relais_designation.html", context, status_code=status_code)


def refusal(exc: Exception) -> tuple[dict[str, str], int]:
    """A refused designation's messages by field, and its status."""
    if isinstance(exc, InvalidFields):
        return exc.errors, 400
    if isinstance(exc, Conflict):
        return {"entity": str(exc)}, 409
    return {"document": str(exc)}, 413 if isinstance(exc, PayloadTooLarge) else 415


@router.post("/relais/designation/{entity_id}")
@accepts_file(convention_file)
async def designate(entity_id: RowId, request: Request, ctx: RegistryContext) -> Response:
    """A refused designation (no title or date, not a PDF, too large, entity not adherent)
    is said on the form and keeps nothing."""
    require_instructor(request)
    form = await read_form(request, max_files=1)
    values = values_of(form)
    document = form.get("document")
    upload = None
    try:
        try:
            info = relays.ConventionInfo.model_validate(values)
        except ValidationError as exc:
            raise InvalidFields(field_errors(exc)) from exc
        if document is None or isinstance(document, str) or not document.filename:
            raise InvalidFields({"document": _("Joignez la convention signée (PDF).")})
        upload = await save_convention(ctx.settings, ctx.files, document)
        entity = await ctx.session.get(Entity, entity_id)
        await relays.designate(ctx, entity_id, info, upload)
        await ctx.commit()
    except (InvalidFields, Conflict, UnsupportedMediaType, PayloadTooLarge) as exc:
        await ctx.session.rollback()
        await files.remove(ctx.files, upload.href if upload else None)
        errors, status = refusal(exc)
        return await designation_page(request, ctx, entity_id, values, errors, status)
    name = entity.name if entity else ""
    return redirect(
        "/registre/entites", request, _("%(name)s est partenaire relais de DINAMIS.", name=name)
    )
