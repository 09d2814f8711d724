"""`/ordering`: the STAPI-aligned ordering API, with projects, messages and quotas.

STAPI's shapes (stapi-pydantic) for products, orders, statuses and opportunities; DINAMIS'
own fields carry the `dinamis:` prefix.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Body, File, Query, Request, Response, UploadFile
from stac_fastapi.types.requests import get_base_url
from stapi_pydantic import (
    Conformance,
    Link,
    OrderStatusCode,
    Provider,
)
from stapi_pydantic import Product as StapiProduct

from extensions.access import get_rights
from extensions.bodies import accepts_file
from extensions.errors import InvalidRequest, NotFound
from extensions.geodesy import area_km2
from extensions.i18n import _
from extensions.identity import SignedIn
from extensions.services import services_of
from ordering_plugin.domain import workflow
from ordering_plugin.domain.areas import area_of, from_file, interval
from ordering_plugin.domain.connector import iso, tasking_request
from ordering_plugin.domain.desk import archive_area
from ordering_plugin.domain.products import (
    AIRBUS_PROVIDER,
    PRODUCTS,
    Product,
    order_parameters_schema,
    tasking_window,
)
from ordering_plugin.models import Message, Project, Quota, StatusEvent
from ordering_plugin.models import Request as OrderRequest
from ordering_plugin.schemas import (
    ActionBody,
    MessageBody,
    OpportunityBody,
    OrderBody,
    ProjectForm,
    QuotaBody,
)
from ordering_plugin.web import DeskDep, aoi_file

PREFIX = "/ordering"
STAPI = "https://stapi.example.com/v0.1.0"
CONFORMANCE = [
    f"{STAPI}/core",
    f"{STAPI}/order-statuses",
    f"{STAPI}/opportunities",
    f"{STAPI}/searches-order",
]
AIRBUS = Provider(**AIRBUS_PROVIDER)

router = APIRouter(prefix=PREFIX, tags=["Ordering (STAPI)"])


def url(request: Request, path: str) -> str:
    return get_base_url(request) + PREFIX.lstrip("/") + path


def product_of(product_id: str) -> Product:
    if product_id not in PRODUCTS:
        raise NotFound(
            _(
                "Aucun produit %(id)r : l'un de %(products)s.",
                id=product_id,
                products=", ".join(PRODUCTS),
            )
        )
    return PRODUCTS[product_id]


# -- landing, products -----------------------------------------------------------------------


@router.get("", summary="Landing page of the ordering API")
async def landing(request: Request) -> dict[str, Any]:
    links = [
        {"rel": "self", "href": url(request, ""), "type": "application/json"},
        {"rel": "conformance", "href": url(request, "/conformance"), "type": "application/json"},
        {"rel": "products", "href": url(request, "/products"), "type": "application/json"},
        {"rel": "orders", "href": url(request, "/orders"), "type": "application/geo+json"},
        {"rel": "projects", "href": url(request, "/projects"), "type": "application/json"},
        {"rel": "quotas", "href": url(request, "/quotas"), "type": "application/json"},
        {"rel": "service-desc", "href": get_base_url(request) + "api", "type": "application/json"},
    ]
    return {
        "id": "dinamis-ordering",
        "title": "DINAMIS – commande d'imagerie",
        "description": "Archive and tasking requests of SPOT 6/7, Pléiades and Pléiades Neo "
        "imagery from Airbus DS, instructed by DINAMIS and delivered into the catalogue.",
        "conformsTo": CONFORMANCE,
        "links": links,
    }


@router.get("/conformance")
async def conformance() -> dict[str, Any]:
    return Conformance(conforms_to=CONFORMANCE).model_dump(mode="json", by_alias=True)


def product_json(request: Request, product: Product) -> dict[str, Any]:
    base = url(request, f"/products/{product.id}")
    links = [
        Link(href=base, rel="self", type="application/json"),
        Link(
            href=f"{base}/order-parameters", rel="order-parameters", type="application/schema+json"
        ),
        Link(href=f"{base}/orders", rel="create-order", type="application/json", method="POST"),
    ]
    if product.kind == "P":
        links.append(
            Link(
                href=f"{base}/opportunities",
                rel="opportunities",
                type="application/geo+json",
                method="POST",
            )
        )
    else:
        links.append(
            Link(
                href=f"{get_base_url(request)}collections/airbus-archive",
                rel="scenes",
                type="application/json",
                title="Commandable scenes",
            )
        )
    body = StapiProduct(
        id=product.id,
        title=product.title,
        description=(
            f"Scenes of the Airbus {product.sensor_title} archive, cut to an area of at least "
            f"{product.minimum_km2:g} km², delivered into the `{product.collection}` collection."
            if product.kind == "A"
            else f"New {product.sensor_title} acquisitions over an area of at least "
            f"{product.minimum_km2:g} km² within a window, delivered into `{product.collection}`."
        ),
        keywords=["Airbus", product.sensor_title, "archive" if product.kind == "A" else "tasking"],
        license="proprietary",
        providers=[AIRBUS],
        links=links,
        conformsTo=CONFORMANCE,
    ).model_dump(mode="json", by_alias=True)
    body["dinamis:minimum_km2"] = product.minimum_km2
    body["dinamis:collection"] = product.collection
    return body


@router.get("/products")
async def products(request: Request) -> dict[str, Any]:
    return {
        "type": "ProductCollection",
        "products": [product_json(request, p) for p in PRODUCTS.values()],
        "links": [{"rel": "self", "href": url(request, "/products"), "type": "application/json"}],
    }


@router.get("/products/{product_id}")
async def product(request: Request, product_id: str) -> dict[str, Any]:
    return product_json(request, product_of(product_id))


@router.get("/products/{product_id}/order-parameters")
async def order_parameters(product_id: str) -> dict[str, Any]:
    return order_parameters_schema(product_of(product_id))


# -- opportunities -----------------------------------------------------------------------------


@router.post("/products/{product_id}/opportunities", summary="Feasibility of a tasking")
async def opportunities(
    request: Request, product_id: str, body: OpportunityBody, identity: SignedIn
) -> dict[str, Any]:
    product = product_of(product_id)
    if product.kind != "P":
        raise InvalidRequest(
            _(
                "%(id)s commande des scènes d'archive : les opportunités sont pour la programmation.",
                id=product_id,
            )
        )
    geometry = area_of(body.geometry, body.bbox)
    start, end = interval(body.datetime)
    tasking_window(start, end)
    client = services_of(request).airbus
    answer = await client.feasibility(
        tasking_request(
            product,
            shapely.geometry.mapping(geometry),
            start,
            end,
            body.max_cloud_cover,
            body.max_incidence_angle,
            body.acquisition_mode,
        )
    )
    features = [
        {
            "type": "Feature",
            "id": str(o.get("id")),
            "geometry": shapely.geometry.mapping(geometry),
            "properties": {
                "product_id": product.id,
                "datetime": f"{o.get('startDate')}/{o.get('endDate')}",
                "platform": str(o.get("platform", "")).lower(),
                "view:incidence_angle": o.get("incidenceAngle"),
                "eo:cloud_cover": o.get("cloudCoverForecast"),
            },
            "links": [],
        }
        for o in (answer.get("opportunities") or [])[: body.limit]
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "links": [],
        "dinamis:feasible": bool(answer.get("feasible")),
        "dinamis:reason": answer.get("reason"),
    }


# -- estimates --------------------------------------------------------------------------------


def numbers(value: str, what: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",")]
    except ValueError as exc:
        raise InvalidRequest(
            _(
                "`%(name)s` est une liste de nombres séparés par des virgules : %(value)r.",
                name=what,
                value=value,
            )
        ) from exc


@router.get(
    "/products/{product_id}/estimate",
    summary="Area, free quota left and price of a request, before it is filed",
)
async def estimate(
    product_id: str,
    desk: DeskDep,
    bbox: Annotated[
        str | None, Query(description="west,south,east,north (degrees)", max_length=200)
    ] = None,
    item_ids: Annotated[
        str | None, Query(description="The archive scenes, comma-separated", max_length=2000)
    ] = None,
    project_id: Annotated[str | None, Query(description="Its project", max_length=100)] = None,
) -> dict[str, Any]:
    """The numbers filing this request would apply: its area (an archive's is its scenes'
    footprints, cut to `bbox`), its entity's free quota of the sensor family, whether it
    goes beyond, and the price."""
    product = product_of(product_id)
    box = numbers(bbox, "bbox") if bbox else None
    if product.kind == "A":
        ids = [i for i in (item_ids or "").split(",") if i]
        if not 1 <= len(ids) <= 20:
            raise InvalidRequest(_("`item_ids` nomme les 1 à 20 scènes d'une commande d'archive."))
        geometry = archive_area(await desk.commandable_scenes(product, ids), None, box)
    else:
        geometry = area_of(None, box)
    project = await desk.project(project_id) if project_id else None
    found = await desk.estimate(product, project, geometry)
    return {
        "product_id": product.id,
        "area_km2": found.area_km2,
        "minimum_km2": product.minimum_km2,
        "maximum_km2": desk.settings.max_area_km2,
        "quota": quota_json(found.quota),
        "over_quota": found.over_quota,
        "price": found.price,
        "geometry": shapely.geometry.mapping(geometry),
    }


# -- orders ------------------------------------------------------------------------------------


@router.post("/products/{product_id}/orders", status_code=201, summary="File a request")
async def create_order(
    request: Request, response: Response, product_id: str, body: OrderBody, desk: DeskDep
) -> dict[str, Any]:
    order, warning = await desk.file_order(product_of(product_id), body, await get_rights(request))
    response.headers["Location"] = url(request, f"/orders/{order.id}")
    return order_json(
        request, order, await desk.latest(order.id), str(warning) if warning else None
    )


@router.get("/orders", summary="Requests visible to the caller")
async def list_orders(
    request: Request,
    desk: DeskDep,
    status: Annotated[str | None, Query(description="Comma-separated status codes")] = None,
    project: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    next: Annotated[int, Query(ge=0, le=2**63 - 1, description="Offset token")] = 0,
) -> dict[str, Any]:
    if status and (bad := set(status.split(",")) - set(OrderStatusCode)):
        raise InvalidRequest(
            _(
                "Statut inconnu %(statuses)s : l'un de %(known)s.",
                statuses=sorted(bad),
                known=", ".join(OrderStatusCode),
            )
        )
    async with desk.snapshot():
        rows = await desk.requests(status, project, limit, next)
        total = await desk.count_requests(status, project)
        latest = await desk.latest_of([r.id for r in rows])
    links = [{"rel": "self", "href": str(request.url), "type": "application/geo+json"}]
    if next + limit < total:
        links.append(
            {
                "rel": "next",
                "href": str(request.url.include_query_params(next=next + limit)),
                "type": "application/geo+json",
            }
        )
    return {
        "type": "FeatureCollection",
        "features": [order_json(request, r, latest[r.id]) for r in rows],
        "numberMatched": total,
        "links": links,
    }


@router.get("/orders/{order_id}")
async def get_order(request: Request, order_id: str, desk: DeskDep) -> dict[str, Any]:
    async with desk.snapshot():
        order, _ = await desk.request(order_id)
        latest = await desk.latest(order_id)
    return order_json(request, order, latest)


@router.get("/orders/{order_id}/statuses")
async def order_statuses(request: Request, order_id: str, desk: DeskDep) -> dict[str, Any]:
    async with desk.snapshot():
        await desk.request(order_id)
        history = await desk.history(order_id)
    return {
        "statuses": [status_json(e) for e in reversed(history)],
        "links": [{"rel": "self", "href": url(request, f"/orders/{order_id}/statuses")}],
    }


@router.post(
    "/orders/{order_id}/actions/{action}",
    summary="accept, reject, request-info, resubmit, cancel, retry",
)
async def act(
    request: Request,
    order_id: str,
    action: str,
    desk: DeskDep,
    body: Annotated[ActionBody | None, Body()] = None,
) -> dict[str, Any]:
    order = await desk.perform(order_id, action, body.reason if body else None)
    return order_json(request, order, await desk.latest(order_id))


@router.get("/orders/{order_id}/messages")
async def messages(order_id: str, desk: DeskDep) -> dict[str, Any]:
    return {"messages": [message_json(m) for m in await desk.messages(order_id)]}


@router.post("/orders/{order_id}/messages", status_code=201)
async def post_message(order_id: str, body: MessageBody, desk: DeskDep) -> dict[str, Any]:
    message = await desk.post_message(order_id, body.body)
    await desk.commit()
    return message_json(message)


# -- projects ----------------------------------------------------------------------------------


@router.get("/projects")
async def projects(request: Request, desk: DeskDep) -> dict[str, Any]:
    return {"projects": [project_json(request, p, n) for p, n in await desk.projects()]}


@router.post("/projects", status_code=201)
async def create_project(
    request: Request, response: Response, form: ProjectForm, desk: DeskDep
) -> dict[str, Any]:
    project = await desk.create_project(form)
    await desk.commit()
    response.headers["Location"] = url(request, f"/projects/{project.id}")
    return project_json(request, project, 0)


@router.get("/projects/{project_id}")
async def get_project(request: Request, project_id: str, desk: DeskDep) -> dict[str, Any]:
    project = await desk.project(project_id)
    rows = await desk.requests(project_id=project_id, limit=500)
    total = await desk.count_requests(project_id=project_id)
    body = project_json(request, project, total)
    body["requests"] = [{"id": r.id, "status": r.status, "product_id": r.product_id} for r in rows]
    return body


@router.post("/projects/{project_id}/close")
async def close_project(request: Request, project_id: str, desk: DeskDep) -> dict[str, Any]:
    project = await desk.close_project(project_id)
    await desk.commit()
    return project_json(request, project, None)


# -- quotas, areas -----------------------------------------------------------------------------


@router.get("/quotas")
async def quotas(desk: DeskDep, entity_id: int | None = None) -> dict[str, Any]:
    return {"quotas": [quota_json(q) for q in await desk.quotas(entity_id)]}


@router.put("/quotas", summary="Set an entity's free quota (instructors)")
async def set_quota(body: QuotaBody, desk: DeskDep) -> dict[str, Any]:
    quota = await desk.set_quota(body.entity_id, body.family, body.year, body.allowed_km2)
    await desk.commit()
    return quota_json(quota)


@router.post(
    "/aoi",
    summary="Read an area of interest file (GeoJSON, KML, zipped shapefile)",
    form_limits={"max_files": 1, "max_fields": 1},
)
@accepts_file(aoi_file)
async def read_aoi(
    request: Request, identity: SignedIn, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    limit, _ = aoi_file(services_of(request).settings)
    content = await file.read(limit + 1)
    geometry = from_file(file.filename or "aoi", content, limit)
    return {
        "geometry": shapely.geometry.mapping(geometry),
        "area_km2": round(area_km2(geometry), 3),
    }


# -- shapes ------------------------------------------------------------------------------------


def status_json(event: StatusEvent) -> dict[str, Any]:
    return {
        "timestamp": iso(event.at),
        "status_code": event.status,
        "reason_code": event.reason_code,
        "reason_text": event.reason_text,
        "links": [],
        "dinamis:actor": event.actor,
    }


def order_json(
    request: Request, order: OrderRequest, latest: StatusEvent, warning: str | None = None
) -> dict[str, Any]:
    base = url(request, f"/orders/{order.id}")
    catalogue = get_base_url(request)
    links = [
        {"rel": "self", "href": base, "type": "application/geo+json"},
        {"rel": "monitor", "href": f"{base}/statuses", "type": "application/json"},
        {"rel": "messages", "href": f"{base}/messages", "type": "application/json"},
        {
            "rel": "project",
            "href": url(request, f"/projects/{order.project_id}"),
            "type": "application/json",
        },
        {
            "rel": "product",
            "href": url(request, f"/products/{order.product_id}"),
            "type": "application/json",
        },
    ]
    for item in order.delivered:
        links.append(
            {
                "rel": "item",
                "href": f"{catalogue}collections/{item['collection']}/items/{item['id']}",
                "type": "application/geo+json",
                "title": "Livraison",
            }
        )
    status = status_json(latest)
    status["links"] = [link for link in links if link["rel"] == "item"]
    return {
        "type": "Feature",
        "stapi_type": "Order",
        "stapi_version": "0.1.0",
        "id": order.id,
        "geometry": order.geometry,
        "properties": {
            "product_id": order.product_id,
            "created": iso(order.created_at or datetime.now(UTC)),
            "status": status,
            "search_parameters": {
                "datetime": f"{iso(order.window_start)}/{iso(order.window_end)}",
                "geometry": order.geometry,
                "filter": order.filter,
            },
            "opportunity_properties": order.opportunity or {},
            "order_parameters": {
                "project_id": order.project_id,
                **order.parameters,
                **(
                    {"item_ids": [s["properties"]["id"] for s in order.scenes]}
                    if order.scenes
                    else {}
                ),
            },
            "dinamis:project_id": order.project_id,
            "dinamis:kind": "archive" if order.kind == "A" else "tasking",
            "dinamis:area_km2": order.area_km2,
            "dinamis:requester": order.requester_email,
            "dinamis:entity": order.entity_name,
            "dinamis:over_quota": order.over_quota,
            "dinamis:quota_warning": warning,
            "dinamis:quota_state": order.quota_state,
            "dinamis:status_label": _(
                workflow.LABELS.get(OrderStatusCode(order.status), order.status)
            ),
            "dinamis:price": order.price,
            "dinamis:airbus_id": order.upstream_id,
            "dinamis:segments": order.segments,
            "dinamis:delivered": order.delivered,
        },
        "links": links,
    }


def project_json(request: Request, project: Project, count: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": project.id,
        "kind": project.kind,
        "title": project.title,
        "themes": project.themes,
        "start_date": project.start_date.isoformat(),
        "end_date": project.end_date.isoformat(),
        "description": project.description,
        "objectives": project.objectives,
        "methodology": project.methodology,
        "expected_results": project.expected_results,
        "publications": project.publications,
        "owner": project.owner_email,
        "entity": project.entity_name,
        "members": project.members,
        "status": project.status,
        "links": [
            {"rel": "self", "href": url(request, f"/projects/{project.id}")},
            {"rel": "orders", "href": url(request, f"/orders?project={project.id}")},
        ],
    }
    if count is not None:
        body["requests_count"] = count
    return body


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "author": message.author,
        "role": message.author_role,
        "body": message.body,
        "at": iso(message.at),
    }


def quota_json(quota: Quota) -> dict[str, Any]:
    return {
        "entity_id": quota.entity_id,
        "entity": quota.entity_name,
        "family": quota.family,
        "period": f"{quota.period_start.isoformat()}/{quota.period_end.isoformat()}",
        "allowed_km2": quota.allowed_km2,
        "reserved_km2": quota.reserved_km2,
        "used_km2": quota.used_km2,
        "available_km2": round(quota.allowed_km2 - quota.reserved_km2 - quota.used_km2, 3),
    }
