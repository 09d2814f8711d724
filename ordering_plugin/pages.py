"""The ordering desk's pages (French): projects, « Commander la donnée », the tasking form,
the request page with its timeline and thread, and the instructors' queue."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import shapely
from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from stac_fastapi.types.requests import get_base_url
from starlette.datastructures import UploadFile

from extensions.access import get_rights
from extensions.bodies import accepts_file
from extensions.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidFields,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from extensions.federation.client import UpstreamError
from extensions.federation.stac import to_item
from extensions.i18n import N_, _
from extensions.identity import Identity, get_identity
from extensions.services import DbSession, ServicesDep
from extensions.web import PARIS, page_router, read_form, redirect, render, values_of
from ordering_plugin.domain import workflow
from ordering_plugin.domain.areas import from_file
from ordering_plugin.domain.desk import Desk
from ordering_plugin.domain.products import (
    ARCHIVE_PRODUCT,
    PRODUCTS,
    AcquisitionMode,
    Dem,
    ImageFormat,
    PixelCoding,
    ProcessingLevel,
    RadiometricProcessing,
    SpectralProcessing,
)
from ordering_plugin.schemas import OrderBody, ProjectForm
from ordering_plugin.vocabulary import PROJECT_KINDS, THEMES
from ordering_plugin.web import aoi_file, desk_for

router = page_router(prefix="/commandes")

OPTIONS = {
    "processing_level": (
        N_("Niveau de traitement"),
        ProcessingLevel,
        {"primary": N_("Primaire"), "projected": N_("Projeté"), "ortho": N_("Ortho")},
    ),
    "spectral_processing": (
        N_("Traitement spectral"),
        SpectralProcessing,
        {
            "bundle": "Bundle (P + MS)",
            "pansharpened": N_("Pansharpened"),
            "multispectral": N_("Multispectral"),
            "panchromatic": N_("Panchromatique"),
        },
    ),
    "radiometric_processing": (
        N_("Traitement radiométrique"),
        RadiometricProcessing,
        {"basic": N_("Basique"), "reflectance": N_("Réflectance"), "display": N_("Affichage")},
    ),
    "pixel_coding": (
        N_("Codage des pixels"),
        PixelCoding,
        {"8bits": "8 bits", "12bits": "12 bits"},
    ),
    "image_format": (
        N_("Format de l'image"),
        ImageFormat,
        {"JPEG2000": "JPEG 2000", "GeoTIFF": "GeoTIFF"},
    ),
    "dem": (
        N_("MNT (ortho)"),
        Dem,
        {"SRTM": "SRTM", "WorldDEM": "WorldDEM", "Reference3D": "Reference3D"},
    ),
}
MODES = {
    AcquisitionMode.mono: N_("Mono"),
    AcquisitionMode.stereo: N_("Stéréo"),
    AcquisitionMode.tristereo: N_("Tristéréo"),
}
PARAMETERS = {
    **{name: (label, texts) for name, (label, _enum, texts) in OPTIONS.items()},
    "max_cloud_cover": (N_("Couverture nuageuse max (%%)"), {}),
    "max_incidence_angle": (N_("Angle d'incidence max (°)"), {}),
    "acquisition_mode": (N_("Mode d'acquisition"), {str(k): v for k, v in MODES.items()}),
    "projection": (N_("Projection"), {}),
    "comment": (N_("Commentaire"), {}),
}
"""Each order parameter's label and its values' labels, as the request page shows them."""
UPSTREAM = {
    "ordered": N_("commandée"),
    "active": N_("en cours"),
    "in_progress": N_("en cours d'acquisition"),
    "acquired": N_("acquise"),
    "delivered": N_("livrée"),
    "rejected": N_("refusée"),
    "failed": N_("échouée"),
    "expired": N_("expirée"),
    "cancelled": N_("annulée"),
}
"""What Airbus says of an order, in French."""


async def signed_in(
    request: Request, identity: Annotated[Identity | None, Depends(get_identity)]
) -> Identity:
    if identity is None:
        raise AuthenticationRequired(_("Connectez-vous pour commander de l'imagerie."))
    return identity


def desk_of(
    services: ServicesDep, session: DbSession, identity: Annotated[Identity, Depends(signed_in)]
) -> Desk:
    return desk_for(services, session, identity)


PageDesk = Annotated[Desk, Depends(desk_of)]


FRENCH = {
    "missing": N_("Champ obligatoire."),
    "string_too_short": N_("Au moins {min_length} caractères."),
    "string_too_long": N_("Au plus {max_length} caractères."),
    "too_long": N_("Au plus {max_length} choix."),
    "too_short": N_("Au moins {min_length} choix."),
    "greater_than_equal": N_("Au moins {ge}."),
    "less_than_equal": N_("Au plus {le}."),
    "enum": N_("Valeur inconnue : choisissez dans la liste."),
    "literal_error": N_("Valeur inconnue : choisissez dans la liste."),
    "float_parsing": N_("Un nombre est attendu."),
    "int_parsing": N_("Un nombre entier est attendu."),
    "date_from_datetime_parsing": N_("Une date est attendue (JJ/MM/AAAA)."),
    "date_parsing": N_("Une date est attendue (JJ/MM/AAAA)."),
    "extra_forbidden": N_("Champ inconnu."),
}
"""Pydantic's messages, in French, by error type (our own validators speak French)."""


def field_errors(exc: RequestValidationError | ValidationError) -> dict[str, str]:
    """The errors of a form's validation, by field, in French; `__all__` for the others. A
    check across fields names the field it is about as its error type."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "order_parameters")]
        kind = str(error.get("type", ""))
        field = loc[0] if loc else kind if kind in PARAMETERS else "__all__"
        text = _(FRENCH.get(kind, "")).format(**error.get("ctx", {})) or str(
            error.get("msg", "Valeur invalide.")
        ).removeprefix("Value error, ")
        errors.setdefault(field, text)
    return errors


def labels() -> dict[str, Any]:
    return {
        "options": OPTIONS,
        "modes": MODES,
        "kinds": PROJECT_KINDS,
        "themes": THEMES,
        "status_labels": workflow.LABELS,
        "parameters": PARAMETERS,
        "products": PRODUCTS,
        "upstream": UPSTREAM,
    }


async def read(request: Request, max_files: int = 0) -> dict[str, Any]:
    """The form's fields (CSRF checked), and its uploaded files under `_files`."""
    form = await read_form(request, max_files)
    values = values_of(form)
    values["_files"] = {
        key: value
        for key, value in form.multi_items()
        if isinstance(value, UploadFile) and value.filename
    }
    return values


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if v]


# -- projects ------------------------------------------------------------------------------


@router.get("")
async def home(request: Request, desk: PageDesk) -> Response:
    projects = await desk.projects()
    requests = await desk.requests(limit=50)
    return render(
        request, "ordering/accueil.html", {"projects": projects, "requests": requests, **labels()}
    )


@router.get("/projets/nouveau")
async def new_project(request: Request, desk: PageDesk) -> Response:
    return render(
        request,
        "ordering/projet_nouveau.html",
        {"values": {"kind": "SCI"}, "errors": {}, **labels()},
    )


@router.post("/projets/nouveau")
async def create_project(request: Request, desk: PageDesk) -> Response:
    values = await read(request)
    data = {k: v for k, v in values.items() if not k.startswith("_")}
    data["themes"] = as_list(data.get("themes"))
    data["members"] = [m for m in str(data.get("members", "")).replace(",", " ").split() if m]
    try:
        form = ProjectForm.model_validate(data)
        project = await desk.create_project(form)
    except (ValidationError, PermissionDenied) as exc:
        errors = field_errors(exc) if isinstance(exc, ValidationError) else {"__all__": str(exc)}
        data["members"] = " ".join(data["members"])
        return render(
            request,
            "ordering/projet_nouveau.html",
            {"values": data, "errors": errors, **labels()},
            status_code=400,
        )
    await desk.commit()
    return redirect(
        f"/commandes/projets/{project.id}", request, _("Projet %(id)s créé.", id=project.id)
    )


@router.get("/projets/{project_id}")
async def project_page(request: Request, project_id: str, desk: PageDesk) -> Response:
    project = await desk.project(project_id)
    requests = await desk.requests(project_id=project_id, limit=500)
    return render(
        request, "ordering/projet.html", {"project": project, "requests": requests, **labels()}
    )


@router.post("/projets/{project_id}/cloture")
async def close_project(request: Request, project_id: str, desk: PageDesk) -> Response:
    await read(request)
    try:
        await desk.close_project(project_id)
    except Conflict as exc:
        return redirect(f"/commandes/projets/{project_id}", request, str(exc), "error")
    await desk.commit()
    return redirect(f"/commandes/projets/{project_id}", request, _("Projet clôturé."))


# -- archive and tasking forms -----------------------------------------------------------


async def open_projects(desk: Desk) -> list[Any]:
    return [p for p, _ in await desk.projects() if p.status == "open" and desk.requester_of(p)]


@router.get("/archive")
async def archive_form(
    request: Request,
    desk: PageDesk,
    services: ServicesDep,
    scene: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> Response:
    """The archive form of scenes picked in the catalogue viewer; without any, the way there."""
    if not scene:
        return render(request, "ordering/archive_sans_scene.html", {})
    items, product_id = await picked(request, desk, services, scene)
    return render(
        request,
        "ordering/archive.html",
        {
            "scenes": items,
            "product": PRODUCTS[product_id],
            "footprints": footprints(items),
            "projects": await open_projects(desk),
            "values": {},
            "error": None,
            **labels(),
        },
    )


async def picked(
    request: Request, desk: Desk, services: Any, scene_ids: list[str]
) -> tuple[list[dict[str, Any]], str]:
    """The scenes of the form as STAC items (mission, date, clouds, quicklook), and the
    archive product of their mission: it follows from the scenes."""
    found = await desk.archive_scenes(scene_ids)
    if missing := [s for s in scene_ids if s not in found]:
        raise NotFound(
            _(
                "Scène inconnue de l'archive Airbus : %(value)s. Choisissez les scènes à "
                "commander dans le catalogue.",
                value=", ".join(missing),
            )
        )
    base_url = get_base_url(request)
    items = [
        to_item(found[s], base_url, lambda href: services.federation.image_url(base_url, href))
        for s in dict.fromkeys(scene_ids)
    ]
    products = {
        ARCHIVE_PRODUCT.get(str(s["properties"].get("constellation"))) for s in found.values()
    }
    if len(products) != 1 or None in products:
        raise InvalidRequest(
            _(
                "Ces scènes sont de missions différentes : commandez celles de chaque mission "
                "dans une demande à part."
            )
        )
    return [i for i in items if i], str(products.pop())


def footprints(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The scenes' footprints, for the form's map."""
    features = [
        {"type": "Feature", "geometry": i["geometry"], "properties": {"id": i["id"]}} for i in items
    ]
    return {"type": "FeatureCollection", "features": features}


@router.post("/archive")
@accepts_file(aoi_file)
async def archive_order(request: Request, desk: PageDesk, services: ServicesDep) -> Response:
    values = await read(request, max_files=1)
    scenes = as_list(values.get("scene"))
    if not scenes:
        return redirect("/commandes/archive", request)
    items, product_id = await picked(request, desk, services, scenes)
    body = order_body(values, {"item_ids": scenes})
    return await filed(
        request,
        desk,
        product_id,
        body,
        values,
        "ordering/archive.html",
        {"scenes": items, "product": PRODUCTS[product_id], "footprints": footprints(items)},
    )


@router.get("/programmation")
async def tasking_form(request: Request, desk: PageDesk, projet: str | None = None) -> Response:
    projects = await open_projects(desk)
    return render(
        request,
        "ordering/programmation.html",
        {
            "projects": projects,
            "values": {"project_id": projet or ""},
            "error": None,
            "tasking_products": [p for p in PRODUCTS.values() if p.kind == "P"],
            **labels(),
        },
    )


@router.post("/programmation")
@accepts_file(aoi_file)
async def tasking_order(request: Request, desk: PageDesk) -> Response:
    values = await read(request, max_files=1)
    product_id = str(values.get("product_id", ""))
    extra = {
        k: values[k]
        for k in ("max_cloud_cover", "max_incidence_angle", "acquisition_mode")
        if values.get(k)
    }
    window = whole_days(values)
    body = order_body(values, extra, window)
    return await filed(
        request,
        desk,
        product_id,
        body,
        values,
        "ordering/programmation.html",
        {"tasking_products": [p for p in PRODUCTS.values() if p.kind == "P"]},
    )


BOUNDS = {"west": (-180, 180), "east": (-180, 180), "south": (-90, 90), "north": (-90, 90)}


def form_errors(values: dict[str, Any], projects: list[str], tasking: bool) -> dict[str, str]:
    """What the form's own checks find wrong, by field, in French: the project, the
    rectangle, the window's days."""
    errors = {}
    if values.get("project_id") not in projects:
        errors["project_id"] = _("Choisissez l'un de vos projets ouverts.")
    corners: dict[str, float] = {}
    if any(values.get(k) for k in BOUNDS):
        for key, (low, high) in BOUNDS.items():
            try:
                corners[key] = float(str(values.get(key)).replace(",", "."))
            except ValueError:
                errors[key] = _("Un nombre de degrés est attendu.")
                continue
            if not low <= corners[key] <= high:
                errors[key] = _("Entre %(low)s et %(high)s degrés.", low=low, high=high)
        if "west" in corners and "east" in corners and corners["west"] >= corners["east"]:
            errors["west"] = _("L'ouest doit être inférieur à l'est.")
        if "south" in corners and "north" in corners and corners["south"] >= corners["north"]:
            errors["south"] = _("Le sud doit être inférieur au nord.")
    if tasking:
        days = {}
        for key in ("start", "end"):
            try:
                days[key] = date.fromisoformat(str(values.get(key)))
            except ValueError:
                errors[key] = _("Une date est attendue (JJ/MM/AAAA).")
        if len(days) == 2 and days["end"] < days["start"]:
            errors["end"] = _("La fin de la fenêtre est avant son début.")
    return errors


def headline(exc: Exception) -> str:
    """What the top of a form says: the error, unless it is shown beside its fields."""
    return _("Corrigez les champs signalés.") if isinstance(exc, InvalidFields) else str(exc)


def beside_fields(exc: InvalidFields, values: dict[str, Any]) -> dict[str, str]:
    """The desk's errors by the form's fields: the area's beside the GeoJSON typed in, else
    at the head of the area's fields; the window's beside its end; the scenes' beside them."""
    where = {
        "geometry": "geometry" if values.get("geometry") else "area",
        "bbox": "area",
        "datetime": "end",
    }
    return {where.get(k, k): v for k, v in exc.errors.items()}


def whole_days(values: dict[str, Any]) -> str | None:
    """The tasking window of the form's days, whole in the user's time zone: from the first
    day's midnight to the midnight after the last day."""
    try:
        zone = ZoneInfo(str(values.get("time_zone") or "Europe/Paris"))
        first, last = (date.fromisoformat(str(values.get(k))) for k in ("start", "end"))
    except (ValueError, KeyError):
        return None
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    return f"{start.isoformat()}/{end.isoformat()}"


def window_days(order: Any) -> tuple[date, date] | None:
    """The first and last days of a window of whole days in French time, else None."""
    start, end = (t.astimezone(PARIS) for t in (order.window_start, order.window_end))
    if start.time() != time() or end.time() != time():
        return None
    return start.date(), (end - timedelta(days=1)).date()


def order_body(
    values: dict[str, Any], extra: dict[str, Any], window: str | None = None
) -> dict[str, Any]:
    options = {
        k: values[k] for k in (*OPTIONS, "project_id", "projection", "comment") if values.get(k)
    }
    if options.get("processing_level") and options["processing_level"] != "ortho":
        options["dem"] = None
    body: dict[str, Any] = {"order_parameters": {**options, **extra}, "datetime": window}
    if values.get("geometry"):
        body["geometry"] = values["geometry"]
    elif all(values.get(k) for k in ("west", "south", "east", "north")):
        body["bbox"] = [values[k] for k in ("west", "south", "east", "north")]
    return body


async def filed(
    request: Request,
    desk: Desk,
    product_id: str,
    body: dict[str, Any],
    values: dict[str, Any],
    template: str,
    context: dict[str, Any],
) -> Response:
    """File the order of a form, or show the form again with what is wrong, beside each
    field the form's own checks and the options' validation find."""
    project_ids = [p.id for p in await open_projects(desk)]
    errors = form_errors(values, project_ids, template.endswith("programmation.html"))
    try:
        if product_id not in PRODUCTS:
            raise InvalidRequest(_("Choisissez le capteur et le type de produit."))
        try:
            PRODUCTS[product_id].parameters.model_validate(body["order_parameters"])
        except ValidationError as exc:
            errors = {**field_errors(exc), **errors}
        if errors:
            raise InvalidRequest(errors.pop("__all__", _("Corrigez les champs signalés.")))
        if upload := values["_files"].get("aoi_file"):
            limit = desk.settings.upload_max_mb * 2**20
            geometry = from_file(upload.filename or "zone", await upload.read(limit + 1), limit)
            body["geometry"] = json.loads(json.dumps(geometry.__geo_interface__))
            body.pop("bbox", None)
        elif isinstance(body.get("geometry"), str):
            try:
                body["geometry"] = json.loads(body["geometry"])
            except ValueError as exc:
                errors["geometry"] = _("La zone d'intérêt n'est pas du GeoJSON.")
                raise InvalidRequest(_("Corrigez les champs signalés.")) from exc
        order, warning = await desk.file_order(
            PRODUCTS[product_id], OrderBody.model_validate(body), await get_rights(request)
        )
    except (
        InvalidRequest,
        PermissionDenied,
        Conflict,
        RequestValidationError,
        ValidationError,
        UpstreamError,
    ) as exc:
        await desk.session.rollback()
        projects = await open_projects(desk)
        if isinstance(exc, RequestValidationError | ValidationError):
            errors = {**field_errors(exc), **errors}
        if isinstance(exc, InvalidFields):
            errors = {**beside_fields(exc, values), **errors}
        shown = {k: v for k, v in values.items() if not k.startswith("_")}
        return render(
            request,
            template,
            {
                **context,
                "projects": projects,
                "values": shown,
                "errors": errors,
                "error": errors.pop("__all__", None) or headline(exc),
                **labels(),
            },
            status_code=400,
        )
    message = _("Demande %(id)s enregistrée.", id=order.id)
    return redirect(
        f"/commandes/demandes/{order.id}",
        request,
        f"{message} {warning}" if warning else message,
        "warning" if warning else "success",
    )


# -- the request page ------------------------------------------------------------------------


@router.get("/demandes/{request_id}")
async def request_page(request: Request, request_id: str, desk: PageDesk) -> Response:
    async with desk.snapshot():
        order, project = await desk.request(request_id)
        history = await desk.history(request_id)
        messages = await desk.messages(request_id)
    roles = desk.roles_on(order, project)
    actions = [
        m
        for m in workflow.MOVES
        if m.role in roles and m.role != workflow.SYSTEM and order.status in m.sources
    ]
    return render(
        request,
        "ordering/demande.html",
        {
            "order": order,
            "project": project,
            "history": history,
            "messages": messages,
            "actions": actions,
            "product": PRODUCTS[order.product_id],
            "window_days": window_days(order) if order.kind == "P" else None,
            **labels(),
        },
    )


def edit_values(order: Any) -> dict[str, Any]:
    """The edit form's fields of a request as it stands."""
    west, south, east, north = shapely.geometry.shape(order.geometry).bounds
    days = window_days(order)
    return {
        **order.parameters,
        **dict(zip(BOUNDS, (west, east, south, north), strict=True)),
        **({"start": days[0].isoformat(), "end": days[1].isoformat()} if days else {}),
    }


@router.get("/demandes/{request_id}/modifier")
async def edit_form(request: Request, request_id: str, desk: PageDesk) -> Response:
    order, project = await desk.request(request_id)
    if order.status != "held":
        raise Conflict(_("Seule une demande en attente d'informations se modifie."))
    return render(
        request,
        "ordering/modifier.html",
        {
            "order": order,
            "projects": [project],
            "values": {**edit_values(order), "project_id": project.id},
            "errors": {},
            "error": None,
            **labels(),
        },
    )


@router.post("/demandes/{request_id}/modifier")
async def edit(request: Request, request_id: str, desk: PageDesk) -> Response:
    values = await read(request)
    order, project = await desk.request(request_id)
    extra = {
        k: values[k]
        for k in ("max_cloud_cover", "max_incidence_angle", "acquisition_mode")
        if values.get(k)
    }
    tasking = order.kind == "P"
    body = order_body(values, extra, whole_days(values) if tasking else None)
    errors = form_errors({**values, "project_id": project.id}, [project.id], tasking)
    try:
        if errors:
            raise InvalidRequest(_("Corrigez les champs signalés."))
        await desk.edit(request_id, PRODUCTS[order.product_id], OrderBody.model_validate(body))
    except (InvalidRequest, Conflict, PermissionDenied, RequestValidationError) as exc:
        await desk.session.rollback()
        if isinstance(exc, RequestValidationError):
            errors = {**field_errors(exc), **errors}
        if isinstance(exc, InvalidFields):
            errors = {**beside_fields(exc, values), **errors}
        order, project = await desk.request(request_id)
        return render(
            request,
            "ordering/modifier.html",
            {
                "order": order,
                "projects": [project],
                "values": {k: v for k, v in values.items() if not k.startswith("_")},
                "errors": errors,
                "error": errors.pop("__all__", None) or headline(exc),
                **labels(),
            },
            status_code=400,
        )
    return redirect(
        f"/commandes/demandes/{request_id}",
        request,
        _("Demande modifiée : renvoyez-la à l'instruction quand elle est prête."),
    )


@router.post("/demandes/{request_id}/message")
async def post_message(request: Request, request_id: str, desk: PageDesk) -> Response:
    values = await read(request)
    back = f"/commandes/demandes/{request_id}"
    try:
        await desk.post_message(request_id, str(values.get("body", "")))
    except InvalidRequest as exc:
        return redirect(back, request, str(exc), "error")
    await desk.commit()
    return redirect(back + "#fil", request, _("Message envoyé."))


ACTION_DONE = {
    "accept": N_("Demande acceptée : elle part chez Airbus."),
    "reject": N_("Demande rejetée."),
    "request-info": N_("Demande mise en attente d'informations."),
    "resubmit": N_("Demande renvoyée à l'instruction."),
    "cancel": N_("Demande annulée."),
    "retry": N_("Demande relancée."),
}


@router.post("/demandes/{request_id}/action/{action}")
async def action(request: Request, request_id: str, action: str, desk: PageDesk) -> Response:
    values = await read(request)
    back = f"/commandes/demandes/{request_id}"
    try:
        await desk.perform(request_id, action, str(values.get("reason", "")) or None)
    except (InvalidRequest, Conflict, PermissionDenied) as exc:
        await desk.session.rollback()
        return redirect(back, request, str(exc), "error")
    done = _(ACTION_DONE[action]) if action in ACTION_DONE else _("C'est fait.")
    return redirect(back, request, done)


# -- the instructors' queue ------------------------------------------------------------------


@router.get("/instruction")
async def queue(request: Request, desk: PageDesk) -> Response:
    if not desk.instructor:
        raise PermissionDenied(_("Cette page est réservée aux instructeurs DINAMIS."))
    groups = {}
    for name, statuses in (
        (_("À instruire"), "received"),
        (_("En attente du demandeur"), "held"),
        (_("Chez Airbus"), "accepted,tasked,processing,scheduled,reserved"),
        (_("Terminées"), ",".join(workflow.FINAL)),
    ):
        groups[name] = await desk.requests(status=statuses, limit=200)
    return render(request, "ordering/instruction.html", {"groups": groups, **labels()})


@router.get("/instruction/{request_id}")
async def instruct(request_id: str) -> Response:
    return redirect(f"/commandes/demandes/{request_id}")
