"""The order contract of the OneAtlas simulator: contracts, prices, archive orders, feasibility
studies, taskings and their deliveries, kept in memory.

Statuses move on with time, evaluated when asked (no background work): an archive order is
`ordered`, then, `delivery_seconds` after it was placed, `delivered` (or `rejected` or
`failed` when the simulator's `order_outcome` said so when it was placed). A tasking is
`accepted`; after half of `delivery_seconds`, `in_progress` with its acquired segments; after
`delivery_seconds`, `delivered` (segments `validated`). With `order_outcome`: `rejected` at
half-time, `failed` at the end (after its segments were acquired), `expired` at the end
without any acquisition; archive orders are never `expired` (they are delivered).

Bad requests get a 400 `{"code", "message"}`, as Airbus answers them. What is checked:

- archive orders and prices: `kind` `order.data.product`, a known `contractId` (required to
  order, optional to price), 1-20 products, each a scene of the catalogue (`id`), known
  `productType`, `processingLevel`, `radiometricProcessing`, `pixelCoding` (8 bits only with
  DISPLAY, which is 8 bits only), `imageFormat`, an optional `crsCode`
  (`urn:ogc:def:crs:EPSG::<code>`), and an `aoi` (GeoJSON Polygon or MultiPolygon, EPSG:4326)
  that intersects the scene. Prices are per km² of area ∩ footprint (geodesic), by
  constellation (`RATES`);
- feasibility and taskings: `mission`, `aoi`, `acquisitionDate` {`startDate`, `endDate`}, and
  `optical` {`maxCloudCover` 0-100 (default 20), `maxIncidenceAngle` 0-60 (default 30),
  `acquisitionMode` MONO, STEREO or TRISTEREO (default MONO)}; taskings also need a known
  `contractId`, a feasible request, and, if given, an `opportunityId` of its study.
  Not feasible (answered 200 with a reason): a window that ends in the past or is shorter than
  a day (two for STEREO, three for TRISTEREO), a maximum incidence under 10°, a maximum cloud
  cover under 5 %, an area larger than `MAX_TASKING_KM2`, no pass in the window.
  Opportunities are passes around 10:30 local solar time every one to three days, the same for
  the same request.

Tasked acquisitions are new scenes (new datastrips) dated at the last 10:30 local solar time
before half of `delivery_seconds` after the tasking was placed; they are not added to the
simulated catalogue.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from extensions.geodesy import area_km2
from pgstac.missions import AIRBUS
from simulators.archive.generator import sun_position
from simulators.oneatlas.delivery import (
    Options,
    ProductSpec,
    isoformat,
    parse_iso,
    scene_spec,
)

Outcome = Literal["delivered", "rejected", "failed", "expired"]
NAMESPACE = uuid.UUID("5f0b8f55-6c1e-4d43-9b0e-3c7f6a2f0d11")
CONTRACT_ID = str(uuid.uuid5(NAMESPACE, "contract:dinamis"))
ORDER_KIND = "order.data.product"
CHOICES = {
    "productType": ("bundle", "pansharpened", "multispectral", "panchromatic"),
    "processingLevel": ("PRIMARY", "PROJECTED", "ORTHO"),
    "radiometricProcessing": ("BASIC", "REFLECTANCE", "DISPLAY"),
    "pixelCoding": ("8bits", "12bits"),
    "imageFormat": ("image/jp2", "image/geotiff"),
}
CRS_CODE = re.compile(r"^urn:ogc:def:crs:EPSG::(\d{4,5})$")
RATES = {"SPOT": 3.5, "PHR": 12.5, "PNEO": 22.0}  # EUR per km²
MAX_PRODUCTS = 20
MISSIONS = {
    code: tuple(p.oneatlas for p in m.platforms if p.oneatlas) for code, m in AIRBUS.items()
}
MAX_TASKING_KM2 = {"SPOT": 20_000.0, "PHR": 2_000.0, "PNEO": 1_000.0}
VIEWS = {"MONO": 1, "STEREO": 2, "TRISTEREO": 3}
MAX_OPPORTUNITIES = 40
LOCAL_PASS_HOURS = 10.5  # descending node: 10:30 local solar time
Checked = tuple[dict[str, Any], dict[str, Any], BaseGeometry]  # product, scene, area ∩ scene


class Refusal(Exception):
    """A request the simulated Airbus refuses: `{"code", "message"}` with this status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def contracts() -> list[dict[str, Any]]:
    return [
        {
            "id": CONTRACT_ID,
            "name": "DINAMIS - institutional access (simulated)",
            "status": "active",
            "currency": "EUR",
            "kinds": [ORDER_KIND, "order.tasking"],
            "constellations": list(MISSIONS),
        }
    ]


@dataclass
class Delivery:
    id: str
    product_id: str
    spec: ProductSpec

    def view(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "productId": self.product_id,
            "status": "delivered",
            "name": f"{self.spec.name}.zip",
            "_links": {
                "download": {
                    "href": f"{base_url}/api/v1/deliveries/{self.id}/download",
                    "type": "application/zip",
                }
            },
        }


@dataclass
class Order:
    INITIAL = "ordered"

    id: str
    contract_id: str
    created: datetime
    seconds: float
    outcome: Outcome
    products: list[dict[str, Any]]
    price: dict[str, Any]
    deliveries: list[Delivery]

    def status(self, now: datetime) -> str:
        if (now - self.created).total_seconds() < self.seconds:
            return "ordered"
        return self.outcome if self.outcome in ("rejected", "failed") else "delivered"

    def view(self, now: datetime, base_url: str, placed: bool = False) -> dict[str, Any]:
        """As Airbus shows it at `now`; as it answers its creation when `placed`."""
        status = self.INITIAL if placed else self.status(now)
        view: dict[str, Any] = {
            "id": self.id,
            "kind": ORDER_KIND,
            "contractId": self.contract_id,
            "status": status,
            "createdAt": isoformat(self.created, 3),
            "updatedAt": isoformat(
                self.created + timedelta(seconds=self.seconds if status != "ordered" else 0), 3
            ),
            "price": self.price["price"],
            "products": self.products,
            "deliveries": [d.view(base_url) for d in self.deliveries]
            if status == "delivered"
            else [],
        }
        if status in ("rejected", "failed"):
            view["message"] = f"The order was {status} (simulator: order_outcome={status})."
        return view


@dataclass
class Segment:
    id: str
    platform: str
    acquired: datetime
    cloud_cover: float
    incidence: float
    datastrip: str
    delivery: Delivery

    def view(self, status: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": status,
            "acquisitionDate": isoformat(self.acquired, 3),
            "cloudCover": self.cloud_cover,
            "incidenceAngle": self.incidence,
            "platform": self.platform,
            "sourceIdentifier": self.datastrip,
        }


@dataclass
class Tasking:
    INITIAL = "accepted"

    id: str
    contract_id: str
    created: datetime
    seconds: float
    outcome: Outcome
    request: dict[str, Any]
    opportunity_id: str
    segments: list[Segment] = field(default_factory=list)

    def phase(self, now: datetime) -> int:
        """0 before half-time, 1 until the end, 2 after."""
        elapsed = (now - self.created).total_seconds()
        return 2 if elapsed >= self.seconds else 1 if elapsed >= self.seconds / 2 else 0

    def status(self, now: datetime) -> str:
        phase = self.phase(now)
        return {
            "delivered": ("accepted", "in_progress", "delivered"),
            "rejected": ("accepted", "rejected", "rejected"),
            "failed": ("accepted", "in_progress", "failed"),
            "expired": ("accepted", "accepted", "expired"),
        }[self.outcome][phase]

    def view(self, now: datetime, base_url: str, placed: bool = False) -> dict[str, Any]:
        """As Airbus shows it at `now`; as it answers its creation when `placed`."""
        status = self.INITIAL if placed else self.status(now)
        segment_status = {"in_progress": "acquired", "delivered": "validated", "failed": "failed"}
        segments = (
            [s.view(segment_status[status]) for s in self.segments]
            if status in segment_status
            else []
        )
        changed = {"accepted": 0.0, "in_progress": self.seconds / 2, "rejected": self.seconds / 2}
        view: dict[str, Any] = {
            "id": self.id,
            "kind": "order.tasking",
            "contractId": self.contract_id,
            "status": status,
            "createdAt": isoformat(self.created, 3),
            "updatedAt": isoformat(
                self.created + timedelta(seconds=changed.get(status, self.seconds)), 3
            ),
            "mission": self.request["mission"],
            "opportunityId": self.opportunity_id,
            "segments": segments,
            "deliveries": [s.delivery.view(base_url) for s in self.segments]
            if status == "delivered"
            else [],
        }
        if status in ("rejected", "failed", "expired"):
            view["message"] = f"The tasking {status} (simulator: order_outcome={status})."
        return view


class OrderDesk:
    """What the simulated Airbus was asked to deliver, and what it delivers."""

    def __init__(self, scenes: dict[str, dict[str, Any]], base_url: str) -> None:
        self.scenes = scenes
        self.base_url = base_url.rstrip("/")
        self.orders: dict[str, Order] = {}
        self.taskings: dict[str, Tasking] = {}
        self.deliveries: dict[str, tuple[Order | Tasking, Delivery]] = {}

    # -- archive orders ------------------------------------------------------------------

    def price(self, body: Any) -> dict[str, Any]:
        return priced(self._checked_order(body, ordering=False))

    def place_order(
        self, body: Any, outcome: Outcome, seconds: float, now: datetime
    ) -> dict[str, Any]:
        products = self._checked_order(body, ordering=True)
        order_id = str(uuid.uuid4())
        produced = now + timedelta(seconds=seconds)
        deliveries = []
        for index, (product, feature, extent) in enumerate(products):
            delivery_id = str(uuid.uuid5(uuid.UUID(order_id), f"delivery:{index}"))
            spec = scene_spec(
                feature, Options.from_order(product), extent, delivery_id, produced, order_id
            )
            deliveries.append(Delivery(delivery_id, product["id"], spec))
        order = Order(
            id=order_id,
            contract_id=body["contractId"],
            created=now,
            seconds=seconds,
            outcome=outcome,
            products=copy.deepcopy(body["products"]),
            price=priced(products),
            deliveries=deliveries,
        )
        self.orders[order_id] = order
        for delivery in deliveries:
            self.deliveries[delivery.id] = (order, delivery)
        return order.view(now, self.base_url, placed=True)

    def order(self, order_id: str, now: datetime) -> dict[str, Any]:
        if order_id not in self.orders:
            raise Refusal("NOT_FOUND", f"No order {order_id!r}.", 404)
        return self.orders[order_id].view(now, self.base_url)

    def _checked_order(self, body: Any, ordering: bool) -> list[Checked]:
        if not isinstance(body, dict):
            raise Refusal("INVALID_BODY", "A JSON object is expected.")
        if body.get("kind") != ORDER_KIND:
            raise Refusal("INVALID_BODY", f"kind must be {ORDER_KIND!r}.")
        check_contract(body, required=ordering)
        products = body.get("products")
        if not isinstance(products, list) or not 1 <= len(products) <= MAX_PRODUCTS:
            raise Refusal("INVALID_BODY", f"products must list 1 to {MAX_PRODUCTS} products.")
        return [self._checked_product(p, i) for i, p in enumerate(products)]

    def _checked_product(self, product: Any, index: int) -> Checked:
        where = f"products[{index}]"
        if not isinstance(product, dict):
            raise Refusal("INVALID_BODY", f"{where} must be an object.")
        feature = self.scenes.get(str(product.get("id")))
        if feature is None:
            raise Refusal(
                "UNKNOWN_PRODUCT", f"{where}.id: no product {product.get('id')!r} in the catalogue."
            )
        for name, allowed in CHOICES.items():
            if product.get(name) not in allowed:
                raise Refusal(
                    "INVALID_OPTION",
                    f"{where}.{name} must be one of {', '.join(allowed)}, "
                    f"not {product.get(name)!r}.",
                )
        display = product["radiometricProcessing"] == "DISPLAY"
        if display != (product["pixelCoding"] == "8bits"):
            raise Refusal(
                "INCOMPATIBLE_OPTIONS",
                f"{where}: 8bits pixel coding goes with DISPLAY radiometric processing only, "
                "and DISPLAY with 8bits only.",
            )
        if (code := product.get("crsCode")) is not None:
            check_crs(code, f"{where}.crsCode")
        aoi = polygon(product.get("aoi"), f"{where}.aoi")
        extent = polygonal(aoi.intersection(shape(feature["geometry"])))
        if extent is None:
            raise Refusal(
                "AOI_OUTSIDE_PRODUCT",
                f"{where}.aoi does not intersect the footprint of product {product['id']}.",
            )
        return product, feature, extent

    # -- tasking -------------------------------------------------------------------------

    def feasibility(self, body: Any, now: datetime) -> dict[str, Any]:
        return self.study(checked_tasking(body), now)

    def study(self, request: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The feasibility of a checked tasking request."""
        mission, aoi = request["mission"], request["aoi"]
        start, end = request["start"], request["end"]
        optical = request["optical"]
        mode, views = optical["acquisitionMode"], VIEWS[optical["acquisitionMode"]]
        area = area_km2(aoi)
        reason = None
        if end <= now:
            reason = "The acquisition window ends in the past."
        elif end - max(start, now) < timedelta(days=views):
            reason = (
                f"The acquisition window is shorter than {views} day{'s' if views > 1 else ''}"
                + (f" ({mode} acquisitions need that long)." if views > 1 else ".")
            )
        elif optical["maxIncidenceAngle"] < 10:
            reason = "No satellite can acquire the area within 10° of the vertical."
        elif optical["maxCloudCover"] < 5:
            reason = "A cloud cover under 5 % cannot be committed to."
        elif area > MAX_TASKING_KM2[mission]:
            reason = (
                f"The area ({area:,.0f} km²) is larger than one {mission} tasking covers "
                f"({MAX_TASKING_KM2[mission]:,.0f} km²)."
            )
        passes = [] if reason else opportunities(request, now)
        if not reason and not passes:
            reason = "No pass over the area in the acquisition window."
        return {
            "feasible": reason is None,
            "reason": reason,
            "mission": mission,
            "areaKm2": round(area, 3),
            "opportunities": passes,
        }

    def place_tasking(
        self, body: Any, outcome: Outcome, seconds: float, now: datetime
    ) -> dict[str, Any]:
        request = checked_tasking(body)
        study = self.study(request, now)
        contract = check_contract(body, required=True)
        if not study["feasible"]:
            raise Refusal("NOT_FEASIBLE", study["reason"])
        chosen = body.get("opportunityId")
        passes = {o["id"]: o for o in study["opportunities"]}
        if chosen is not None and chosen not in passes:
            if any(o["id"] == chosen for o in opportunities(request, None)):
                raise Refusal("OPPORTUNITY_PASSED", f"opportunityId {chosen!r}: that pass is over.")
            raise Refusal(
                "UNKNOWN_OPPORTUNITY", f"opportunityId {chosen!r} is not a pass of this request."
            )
        opportunity = passes[chosen] if chosen else study["opportunities"][0]
        tasking_id = str(uuid.uuid4())
        tasking = Tasking(
            id=tasking_id,
            contract_id=contract,
            created=now,
            seconds=seconds,
            outcome=outcome,
            request={"mission": request["mission"]},
            opportunity_id=opportunity["id"],
        )
        acquired = last_pass(now + timedelta(seconds=seconds / 2), request["aoi"].centroid.x)
        for index in range(VIEWS[request["optical"]["acquisitionMode"]]):
            tasking.segments.append(
                segment(
                    tasking, index, request, opportunity, acquired, now + timedelta(seconds=seconds)
                )
            )
        self.taskings[tasking_id] = tasking
        for s in tasking.segments:
            self.deliveries[s.delivery.id] = (tasking, s.delivery)
        return tasking.view(now, self.base_url, placed=True)

    def tasking(self, tasking_id: str, now: datetime) -> dict[str, Any]:
        if tasking_id not in self.taskings:
            raise Refusal("NOT_FOUND", f"No tasking {tasking_id!r}.", 404)
        return self.taskings[tasking_id].view(now, self.base_url)

    # -- deliveries ----------------------------------------------------------------------

    def deliverable(self, delivery_id: str, now: datetime) -> ProductSpec:
        """The product of a delivery whose order or tasking is delivered."""
        if delivery_id not in self.deliveries:
            raise Refusal("NOT_FOUND", f"No delivery {delivery_id!r}.", 404)
        owner, delivery = self.deliveries[delivery_id]
        if owner.status(now) != "delivered":
            raise Refusal("NOT_DELIVERED", f"Delivery {delivery_id} is not ready.", 409)
        return delivery.spec


def priced(products: list[Checked]) -> dict[str, Any]:
    """The price of checked products: their area within the scene times the rate."""
    lines = []
    for product, feature, extent in products:
        area = area_km2(extent)
        rate = RATES[feature["properties"]["constellation"]]
        lines.append(
            {"id": product["id"], "areaKm2": round(area, 3), "amount": round(area * rate, 2)}
        )
    total = round(sum(line["amount"] for line in lines), 2)
    return {"price": {"amount": total, "currency": "EUR"}, "products": lines}


# -- checks ------------------------------------------------------------------------------------


def check_contract(body: dict[str, Any], *, required: bool) -> str:
    contract = body.get("contractId")
    if contract is None:
        if required:
            raise Refusal("MISSING_CONTRACT", "contractId is required.")
        return ""
    if contract != CONTRACT_ID:
        raise Refusal("UNKNOWN_CONTRACT", f"Unknown contract {contract!r}.")
    return str(contract)


def check_crs(code: Any, where: str) -> int:
    match = CRS_CODE.match(str(code))
    try:
        if match is None:
            raise CRSError(str(code))
        crs = CRS.from_epsg(int(match.group(1)))
    except CRSError as exc:
        raise Refusal(
            "INVALID_OPTION", f"{where} must be an EPSG code (urn:ogc:def:crs:EPSG::2154)."
        ) from exc
    if not (crs.is_projected or crs.to_epsg() == 4326):
        raise Refusal("INVALID_OPTION", f"{where}: {code} is neither projected nor EPSG:4326.")
    return int(match.group(1))


def polygon(value: Any, where: str) -> BaseGeometry:
    """A GeoJSON Polygon or MultiPolygon in longitudes and latitudes, valid."""
    if not isinstance(value, dict) or value.get("type") not in ("Polygon", "MultiPolygon"):
        raise Refusal("INVALID_AOI", f"{where} must be a GeoJSON Polygon or MultiPolygon.")
    try:
        geometry = shape(value)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise Refusal("INVALID_AOI", f"{where} is not a readable GeoJSON geometry.") from exc
    if geometry.is_empty or not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise Refusal("INVALID_AOI", f"{where} is not a valid polygon ({reason}).")
    west, south, east, north = geometry.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise Refusal("INVALID_AOI", f"{where} must be in longitudes and latitudes (EPSG:4326).")
    return geometry


def polygonal(geometry: BaseGeometry) -> BaseGeometry | None:
    """The polygons of an intersection (none when it is empty, a line or a point)."""
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type in ("Polygon", "MultiPolygon")]
    merged = shapely.union_all(parts) if parts else None
    return merged if merged is not None and not merged.is_empty and merged.area > 0 else None


def checked_tasking(body: Any) -> dict[str, Any]:
    """A feasibility or tasking request, checked, with its defaults."""
    if not isinstance(body, dict):
        raise Refusal("INVALID_BODY", "A JSON object is expected.")
    mission = body.get("mission")
    if mission not in MISSIONS:
        raise Refusal("INVALID_OPTION", f"mission must be one of {', '.join(MISSIONS)}.")
    aoi = polygon(body.get("aoi"), "aoi")
    window = body.get("acquisitionDate")
    try:
        assert isinstance(window, dict)
        start, end = (
            aware(parse_iso(str(window["startDate"]))),
            aware(parse_iso(str(window["endDate"]))),
        )
    except (AssertionError, KeyError, ValueError) as exc:
        raise Refusal(
            "INVALID_WINDOW",
            "acquisitionDate must be {startDate, endDate} in ISO 8601 (2025-06-01T00:00:00Z).",
        ) from exc
    if end <= start:
        raise Refusal("INVALID_WINDOW", "acquisitionDate.endDate must come after startDate.")
    optical = body.get("optical") or {}
    if not isinstance(optical, dict):
        raise Refusal("INVALID_BODY", "optical must be an object.")
    checked = {
        "maxCloudCover": bounded(optical.get("maxCloudCover", 20), "maxCloudCover", 100),
        "maxIncidenceAngle": bounded(optical.get("maxIncidenceAngle", 30), "maxIncidenceAngle", 60),
        "acquisitionMode": optical.get("acquisitionMode", "MONO"),
    }
    if checked["acquisitionMode"] not in VIEWS:
        raise Refusal(
            "INVALID_OPTION", f"optical.acquisitionMode must be one of {', '.join(VIEWS)}."
        )
    return {"mission": mission, "aoi": aoi, "start": start, "end": end, "optical": checked}


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def bounded(value: Any, name: str, maximum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= maximum:
        raise Refusal("INVALID_OPTION", f"optical.{name} must be a number from 0 to {maximum:g}.")
    return float(value)


# -- passes and acquisitions ------------------------------------------------------------------


def request_seed(request: dict[str, Any]) -> str:
    canonical = {
        "mission": request["mission"],
        "aoi": shapely.to_wkt(request["aoi"], rounding_precision=7),
        "start": request["start"].isoformat(),
        "end": request["end"].isoformat(),
        "optical": request["optical"],
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def opportunities(request: dict[str, Any], now: datetime | None) -> list[dict[str, Any]]:
    """The passes over the area in the window, every one to three days, ahead of `now` (all
    of them without it); the same passes (ids included) for the same request whenever it is
    asked."""
    seed = request_seed(request)
    rng = random.Random(seed)
    centre = request["aoi"].centroid
    optical = request["optical"]
    views = VIEWS[optical["acquisitionMode"]]
    day = datetime.combine(request["start"].date(), time(), UTC) + timedelta(days=rng.randint(0, 1))
    passes: list[dict[str, Any]] = []
    for index in range(400):
        moment = day + timedelta(
            hours=LOCAL_PASS_HOURS - centre.x / 15, minutes=rng.uniform(-20, 20)
        )
        platform = rng.choice(MISSIONS[request["mission"]])
        incidence = round(rng.uniform(2.0, optical["maxIncidenceAngle"]), 2)
        clouds = round(rng.uniform(0, 100), 1)
        if moment > request["end"] or len(passes) >= MAX_OPPORTUNITIES:
            break
        if moment >= request["start"] and (now is None or moment > now):
            passes.append(
                {
                    "id": str(uuid.uuid5(NAMESPACE, f"{seed}:{index}")),
                    "platform": platform,
                    "startDate": isoformat(moment, 3),
                    "endDate": isoformat(moment + timedelta(seconds=12 * views), 3),
                    "incidenceAngle": incidence,
                    "cloudCoverForecast": clouds,
                }
            )
        day += timedelta(days=rng.randint(1, 3))
    return passes


def last_pass(moment: datetime, lon: float) -> datetime:
    """The last 10:30 local solar time before `moment` (a daylight acquisition)."""
    candidate = datetime.combine(moment.date(), time(), UTC) + timedelta(
        hours=LOCAL_PASS_HOURS - lon / 15
    )
    while candidate > moment:
        candidate -= timedelta(days=1)
    while candidate + timedelta(days=1) <= moment:
        candidate += timedelta(days=1)
    return candidate


def segment(
    tasking: Tasking,
    index: int,
    request: dict[str, Any],
    opportunity: dict[str, Any],
    acquired: datetime,
    produced: datetime,
) -> Segment:
    """One view of a tasked acquisition: a new scene over the area."""
    rng = random.Random(f"{tasking.id}:{index}")
    segment_id = str(uuid.uuid5(uuid.UUID(tasking.id), f"segment:{index}"))
    delivery_id = str(uuid.uuid5(uuid.UUID(tasking.id), f"delivery:{index}"))
    aoi = request["aoi"]
    optical = request["optical"]
    platform = opportunity["platform"]
    when = acquired + timedelta(seconds=45 * index)  # stereo views follow one another
    incidence = round(
        min(optical["maxIncidenceAngle"], opportunity["incidenceAngle"] + 4 * index), 2
    )
    cloud = round(rng.uniform(0, optical["maxCloudCover"]), 2)
    stamp = when.strftime("%Y%m%d%H%M%S") + str(when.microsecond // 100_000)
    centre = aoi.centroid
    if request["mission"] == "PNEO":
        datastrip = f"ACQ_{platform}_{rng.randrange(10**13, 10**14)}"
    else:
        hemi = (
            f"{'E' if centre.x >= 0 else 'W'}{abs(round(centre.x)):03d}"
            f"{'N' if centre.y >= 0 else 'S'}{abs(round(centre.y)):02d}"
        )
        datastrip = f"DS_{platform}_{stamp}_FR1_PX_{hemi}_{rng.randrange(10**4, 10**5)}"
    sun_azimuth, sun_elevation = sun_position(when, centre.y, centre.x)
    spec = ProductSpec(
        key=delivery_id,
        platform=platform,
        datastrip=datastrip,
        acquired=when,
        extent=mapping(aoi),
        cloud_cover=cloud,
        snow_cover=0.0,
        incidence=incidence,
        azimuth=round(rng.uniform(0, 360), 4),
        sun_azimuth=round(sun_azimuth, 4),
        sun_elevation=round(sun_elevation, 4),
        produced=produced,
        options=Options(),
        order_reference=tasking.id,
    )
    return Segment(
        id=segment_id,
        platform=platform,
        acquired=when,
        cloud_cover=cloud,
        incidence=incidence,
        datastrip=datastrip,
        delivery=Delivery(delivery_id, segment_id, spec),
    )
