"""`/ordering`: the STAPI-aligned ordering API, with projects, messages and quotas.

STAPI's shapes (stapi-pydantic) for products, orders, statuses and opportunities; DINAMIS'
own fields carry the `dinamis:` prefix.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Body, Depends, File, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from stac_fastapi.types.requests import get_base_url
from stapi_pydantic import (
    Conformance,
    Link,
    OrderStatusCode,
    Provider,
)
from stapi_pydantic import Product as StapiProduct

from extensions.access import get_rights
from extensions.areas import from_bbox
from extensions.errors import InvalidRequest, NotFound, PermissionDenied
from extensions.federation.search import held_datastrips
from extensions.federation.stac import datastrip_ids
from extensions.geodesy import area_km2
from extensions.identity import SignedIn
from extensions.services import DbSession, ServicesDep, services_of
from ordering_plugin import workflow
from ordering_plugin.aoi import from_file, from_geojson
from ordering_plugin.connector import defer_submit, iso, tasking_request
from ordering_plugin.desk import Desk, ProjectForm
from ordering_plugin.models import Message, Project, Quota, StatusEvent
from ordering_plugin.models import Request as OrderRequest
from ordering_plugin.products import (
    AIRBUS_PROVIDER,
    FAMILIES,
    PRODUCTS,
    Product,
    order_parameters_schema,
    tasking_window,
)
from ordering_plugin.settings import OrderingSettings

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


def desk_for(services: ServicesDep, session: DbSession, identity: SignedIn) -> Desk:
    return Desk(
        session=session,
        settings=services.settings.plugin(OrderingSettings),
        mails=services.templates.env,
        identity=identity,
        queue=services.jobs,
    )


DeskDep = Annotated[Desk, Depends(desk_for)]


def url(request: Request, path: str) -> str:
    return get_base_url(request) + PREFIX.lstrip("/") + path


def product_of(product_id: str) -> Product:
    if product_id not in PRODUCTS:
        raise NotFound(f"No product {product_id!r}: one of {', '.join(PRODUCTS)}.")
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


class OpportunityBody(BaseModel):
    datetime: str = Field(examples=["2026-12-01T00:00:00Z/2027-01-15T00:00:00Z"])
    geometry: dict[str, Any] | None = None
    bbox: list[float] | None = None
    filter: dict[str, Any] | None = None
    max_cloud_cover: float = Field(20, ge=0, le=100)
    max_incidence_angle: float = Field(30, ge=0, le=60)
    acquisition_mode: str = Field("mono", pattern="^(mono|stereo|tristereo)$")
    limit: int = Field(10, ge=1, le=100)


@router.post("/products/{product_id}/opportunities", summary="Feasibility of a tasking")
async def opportunities(
    request: Request, product_id: str, body: OpportunityBody, identity: SignedIn
) -> dict[str, Any]:
    product = product_of(product_id)
    if product.kind != "P":
        raise InvalidRequest(f"{product_id} orders archive scenes: opportunities are for tasking.")
    geometry = area_of(body.geometry, body.bbox)
    start, end = interval(body.datetime)
    try:
        tasking_window(start, end)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
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


# -- orders ------------------------------------------------------------------------------------


class OrderBody(BaseModel):
    """A STAPI order payload; `bbox` may replace `geometry`; for archives, `datetime` and
    `geometry` default to the scenes' acquisition period and footprints."""

    datetime: str | None = Field(None, examples=["2026-12-01T00:00:00Z/2027-01-15T00:00:00Z"])
    geometry: dict[str, Any] | None = None
    bbox: list[float] | None = None
    filter: dict[str, Any] | None = None
    order_parameters: dict[str, Any]


@router.post("/products/{product_id}/orders", status_code=201, summary="File a request")
async def create_order(
    request: Request, response: Response, product_id: str, body: OrderBody, desk: DeskDep
) -> dict[str, Any]:
    order, warning = await file_order(request, desk, product_of(product_id), body)
    response.headers["Location"] = url(request, f"/orders/{order.id}")
    return order_json(request, order, await desk.latest(order.id), warning)


async def file_order(
    request: Request, desk: Desk, product: Product, body: OrderBody
) -> tuple[OrderRequest, str | None]:
    """Check an order (options, licence, scenes, area, window) and file it (committed)."""
    try:
        parameters = product.parameters.model_validate(body.order_parameters)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("order_parameters", *e["loc"])} for e in exc.errors()]
        ) from exc
    rights = await get_rights(request)
    collection = product.collection
    if not (rights.everything or collection in rights.licensed or collection in rights.collections):
        raise PermissionDenied(
            f"Your entity does not hold the licence of {product.sensor_title} (`{collection}`): "
            "its deliveries could not be downloaded. Ask your referent to add it."
        )
    options = parameters.model_dump(mode="json")
    project_id = options.pop("project_id")
    scenes: list[dict[str, Any]] = []
    if product.kind == "A":
        item_ids = options.pop("item_ids")
        scenes = await commandable_scenes(request, product, item_ids)
        footprints = shapely.union_all([shapely.geometry.shape(s["geometry"]) for s in scenes])
        geometry = footprints
        if body.geometry is not None or body.bbox is not None:
            geometry = area_of(body.geometry, body.bbox).intersection(footprints)
            if geometry.is_empty or geometry.area == 0:
                raise InvalidRequest("The area of interest does not cross the scenes ordered.")
        times = sorted(s["properties"]["acquisitionDate"] for s in scenes)
        window = (parse_time(times[0]), parse_time(times[-1]))
    else:
        if body.datetime is None:
            raise InvalidRequest("`datetime` is the tasking window: start/end.")
        geometry = area_of(body.geometry, body.bbox)
        window = interval(body.datetime)
        try:
            tasking_window(*window)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidRequest("The area ordered is not a surface.")
    order, warning = await desk.create_request(
        product, project_id, geometry, window, options, scenes=scenes, request_filter=body.filter
    )
    await desk.commit()
    return order, warning


async def commandable_scenes(
    request: Request, product: Product, item_ids: list[str]
) -> list[dict[str, Any]]:
    """The scenes of the commandable collection, as Airbus lists them now: each must exist,
    be of the product's constellation, and not be held here already."""
    ids = sorted(set(item_ids))
    client = services_of(request).airbus
    page = await client.search(
        {
            "id": ",".join(ids),
            "itemsPerPage": len(ids),
            "startPage": 1,
            "constellation": "SPOT,PHR,PNEO",
        }
    )
    found = {str((f.get("properties") or {}).get("id")): f for f in page["features"]}
    if missing := [i for i in ids if i not in found]:
        raise InvalidRequest(f"Not in the Airbus archive: {', '.join(missing)}.")
    scenes = [found[i] for i in ids]
    for scene in scenes:
        constellation = scene["properties"].get("constellation")
        if constellation != product.constellation:
            raise InvalidRequest(
                f"{scene['properties']['id']} is a {constellation} scene, not one of "
                f"{product.sensor_title}: order it with the right product."
            )
    held = await held_datastrips(services_of(request).database, scenes)
    if already := [s["properties"]["id"] for s in scenes if datastrip_ids(s["properties"]) & held]:
        raise InvalidRequest(
            f"Already in the catalogue, to download rather than order: {', '.join(already)}."
        )
    return [
        {"type": "Feature", "geometry": s["geometry"], "properties": s["properties"]}
        for s in scenes
    ]


@router.get("/orders", summary="Requests visible to the caller")
async def list_orders(
    request: Request,
    desk: DeskDep,
    status: Annotated[str | None, Query(description="Comma-separated status codes")] = None,
    project: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    next: Annotated[int, Query(ge=0, description="Offset token")] = 0,
) -> dict[str, Any]:
    if status and (bad := set(status.split(",")) - set(OrderStatusCode)):
        raise InvalidRequest(f"Unknown status {sorted(bad)}: one of {', '.join(OrderStatusCode)}.")
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
    order, _ = await desk.request(order_id)
    return order_json(request, order, await desk.latest(order_id))


@router.get("/orders/{order_id}/statuses")
async def order_statuses(request: Request, order_id: str, desk: DeskDep) -> dict[str, Any]:
    await desk.request(order_id)
    return {
        "statuses": [status_json(e) for e in reversed(await desk.history(order_id))],
        "links": [{"rel": "self", "href": url(request, f"/orders/{order_id}/statuses")}],
    }


class ActionBody(BaseModel):
    reason: str | None = Field(None, max_length=5000)


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
    order = await perform(request, desk, order_id, action, body.reason if body else None)
    return order_json(request, order, await desk.latest(order_id))


async def perform(
    request: Request, desk: Desk, order_id: str, action: str, reason: str | None
) -> OrderRequest:
    """An action on a request, committed; an accepted request goes to Airbus at once."""
    order = await desk.act(order_id, action, reason)
    await desk.commit()
    if order.status == OrderStatusCode.accepted:
        await defer_submit(services_of(request).jobs, order.id)
    return order


class MessageBody(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)


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


class QuotaBody(BaseModel):
    entity_id: int
    family: str = Field(pattern=f"^({'|'.join(FAMILIES)})$")
    year: int = Field(ge=2000, le=2100)
    allowed_km2: float = Field(ge=0)


@router.put("/quotas", summary="Set an entity's free quota (instructors)")
async def set_quota(body: QuotaBody, desk: DeskDep) -> dict[str, Any]:
    quota = await desk.set_quota(body.entity_id, body.family, body.year, body.allowed_km2)
    await desk.commit()
    return quota_json(quota)


@router.post("/aoi", summary="Read an area of interest file (GeoJSON, KML, zipped shapefile)")
async def read_aoi(
    request: Request, identity: SignedIn, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    settings = services_of(request).settings.plugin(OrderingSettings)
    limit = settings.upload_max_mb * 2**20
    content = await file.read(limit + 1)
    geometry = from_file(file.filename or "aoi", content, limit)
    return {
        "geometry": shapely.geometry.mapping(geometry),
        "area_km2": round(area_km2(geometry), 3),
    }


# -- shapes ------------------------------------------------------------------------------------


def area_of(geometry: dict[str, Any] | None, bbox: list[float] | None) -> shapely.Geometry:
    if geometry is not None and bbox is not None:
        raise InvalidRequest("Give `geometry` or `bbox`, not both.")
    if geometry is not None:
        return from_geojson(geometry)
    if bbox is not None:
        return from_bbox(bbox)
    raise InvalidRequest("The area of interest is missing: `geometry` (GeoJSON) or `bbox`.")


def parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequest(f"Not an RFC 3339 date-time: {value!r}.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def interval(value: str) -> tuple[datetime, datetime]:
    start, slash, end = value.partition("/")
    if not slash or start in ("", "..") or end in ("", ".."):
        raise InvalidRequest("`datetime` is a closed interval: start/end.")
    low, high = parse_time(start), parse_time(end)
    if high <= low:
        raise InvalidRequest("`datetime` ends before it starts.")
    return low, high


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
            "dinamis:status_label": workflow.LABELS.get(
                OrderStatusCode(order.status), order.status
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
