"""A stand-in for Airbus OneAtlas, for development, tests and benchmarks (Airbus cannot be
reached from here). It follows the public contract the client relies on:

- `POST /auth/realms/IDP/protocol/openid-connect/token` (form `apikey`, `grant_type=api_key`,
  `client_id=IDP`) → `{access_token, expires_in, token_type}`; Keycloak's error otherwise;
- `GET|POST /api/v2/opensearch`: `bbox` or `geometry` (GeoJSON or WKT) with `relation`,
  `acquisitionDate`, `cloudCover`, `incidenceAngle`, `resolution` as values or ranges
  (`[a,b]`, `]a,b[`, `[a`, `5`), `constellation`, `platform`, `id`, `itemsPerPage` (≤ 500),
  `startPage` (1-based), `sortBy`; `totalResults` capped at 10,000 and no page beyond it;
- `_links`: `thumbnail` and `quicklook` objects, and for bundles `imagesMetadata` as an array
  (and a thumbnail given as an array now and then: clients must accept both);
- `GET /api/v1/items/{id}/quicklook|thumbnail` (bearer token) → JPEG;
- the order contract (bearer token; see `simulator_orders`): `GET /api/v1/contracts`,
  `POST /api/v1/prices`, `POST /api/v1/orders`, `GET /api/v1/orders/{id}`,
  `POST /api/v1/feasibility`, `POST /api/v1/taskings`, `GET /api/v1/taskings/{id}`, and
  `GET /api/v1/deliveries/{id}/download`, a zip holding one small real DIMAP product (see
  `delivery`). Orders are delivered `delivery_seconds` after they are placed.

The archive is generated (SPOT 6/7, Pléiades, Pléiades Neo acquisitions over France), plus
some datastrips of the demo archive held locally, to exercise deduplication. Latency and
failures are configurable (`DINAMIS_SIMULATOR_*`, or `POST /_simulator` in tests: the fields
it is sent change, the others keep their value), and so are the delay and the outcome of
orders (`delivery_seconds`, `order_outcome`, read when an order is placed).
"""

from __future__ import annotations

import asyncio
import io
import random
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from PIL import Image, ImageDraw
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from shapely import STRtree, box, wkt
from shapely.geometry import shape

from extensions.federation.stac import MAX_RESULTS
from pgstac.missions import AIRBUS_PLATFORMS
from simulators.archive import generate_items
from simulators.oneatlas.delivery import build_zip
from simulators.oneatlas.orders import (
    CONTRACT_ID,
    OrderDesk,
    Outcome,
    Refusal,
    contracts,
)

NAMESPACE = uuid.UUID("0e33eb50-3404-48ad-b835-b0b4b72a5625")  # the public workspace's id
# A demo item's STAC platform → OneAtlas' (constellation, platform, resolution)
UPSTREAM = {p.id: (m.oneatlas or "", code, p.gsd[0]) for code, (m, p) in AIRBUS_PLATFORMS.items()}
SIMULATOR_PATH = "/_simulator/oneatlas"  # where `dinamis serve` mounts it
Failure = Literal["none", "error", "slow", "refuse", "garbage", "flaky"]


class SimulatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_SIMULATOR_", extra="ignore")

    archive_size: int = 20_000
    """Generated acquisitions (before keeping SPOT 6/7, Pléiades and Pléiades Neo)."""
    seed: int = 9001
    latency_ms: int = 0
    failure: Failure = "none"
    """error: 500s; slow: answers after 60 s; refuse: no token; garbage: not JSON; flaky: one
    request in two fails."""
    api_key: str | None = None
    """When set, the only API key accepted."""
    held_items: int = 0
    held_seed: int = 2026
    """The demo archive loaded here (`dinamis demo --items N --seed S`): one of its SPOT 6/7,
    Pléiades and Pléiades Neo datastrips in `held_every` is also in the simulated archive."""
    held_every: int = 5
    base_url: str = "http://127.0.0.1:8080/_simulator/oneatlas"
    """Where clients reach it (for the `_links` it gives)."""
    delivery_seconds: float = Field(default=20.0, ge=0)
    """How long after it is placed an order is delivered (a tasking: acquired at half-time)."""


class Config(BaseModel):
    latency_ms: int = 0
    failure: Failure = "none"
    order_outcome: Outcome = "delivered"
    """What becomes of the orders and taskings placed from now on (expired: taskings only)."""
    delivery_seconds: float = Field(default=20.0, ge=0)


def upstream_feature(
    item: dict[str, Any], rng: random.Random, base_url: str
) -> dict[str, Any] | None:
    """A demo item as the OneAtlas catalogue would list it."""
    props = item["properties"]
    if props.get("platform") not in UPSTREAM:
        return None
    constellation, platform, resolution = UPSTREAM[props["platform"]]
    datastrip = props["dinamis:datastrip_id"]
    identifier = str(uuid.uuid5(NAMESPACE, datastrip))
    stamp = re.sub(r"\D", "", props["datetime"])[:15]
    archive = (
        f"DS_{platform}_{stamp}_FR1_FR1_FR1_FR1_E002N43_{rng.randrange(10**5):05d}"
        if constellation == "PNEO"
        else datastrip
    )
    bundle = rng.random() < 0.4
    access = f"{base_url}/api/v1/items/{identifier}"
    thumbnail = {"href": f"{access}/thumbnail", "name": "Thumbnail", "type": "HTTP"}
    links: dict[str, Any] = {
        "quicklook": {"href": f"{access}/quicklook", "name": "QuickLook", "type": "HTTP"},
        "thumbnail": [thumbnail] if rng.random() < 0.2 else thumbnail,
        "self": {"href": f"{base_url}/api/v1/opensearch?id={identifier}", "method": "GET"},
    }
    if bundle:
        links["imagesMetadata"] = [
            {"href": f"{access}/images/{uuid.uuid4()}/metadata", "name": "multispectral"},
            {"href": f"{access}/images/{uuid.uuid4()}/metadata", "name": "panchromatic"},
        ]
    return {
        "type": "Feature",
        "geometry": item["geometry"],
        "properties": {
            "id": identifier,
            "acquisitionDate": props["datetime"],
            "acquisitionIdentifier": datastrip,
            "archiveIdentifier": archive,
            "sourceIdentifier": archive,
            "constellation": constellation,
            "platform": platform,
            "processingLevel": "SENSOR" if bundle else "ALBUM",
            "productType": "bundle" if bundle else "mono",
            "productionStatus": "IN_CLOUD" if bundle else "ARCHIVED",
            "resolution": resolution,
            "cloudCover": props.get("eo:cloud_cover", 0.0),
            "snowCover": props.get("eo:snow_cover", 0.0),
            "incidenceAngle": props.get("view:incidence_angle", 0.0),
            "azimuthAngle": props.get("view:azimuth", 0.0),
            "illuminationAzimuthAngle": props.get("view:sun_azimuth", 0.0),
            "illuminationElevationAngle": props.get("view:sun_elevation", 0.0),
            "workspaceName": "public-pneo" if constellation == "PNEO" else "public",
            "format": "image/jp2",
            "sensorType": "OPTICAL",
        },
        "_links": links,
        "rights": {"browse": {}, "wms": {}, "wmts": {}},
    }


class Archive:
    """The simulated catalogue, with a spatial index."""

    def __init__(self, features: list[dict[str, Any]]) -> None:
        self.features = sorted(
            features, key=lambda f: f["properties"]["acquisitionDate"], reverse=True
        )
        self.by_id = {f["properties"]["id"]: f for f in self.features}
        self.shapes = [shape(f["geometry"]) for f in self.features]
        self.index = STRtree(self.shapes)

    @classmethod
    def build(
        cls, settings: SimulatorSettings, held: Iterable[dict[str, Any]], base_url: str
    ) -> Archive:
        rng = random.Random(settings.seed)
        generated = (
            upstream_feature(i, rng, base_url)
            for i in generate_items(settings.archive_size, settings.seed)
        )
        again = (upstream_feature(i, rng, base_url) for i in held)
        features = {f["properties"]["id"]: f for f in [*generated, *again] if f is not None}
        return cls(list(features.values()))

    def search(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        candidates: list[int] | range = range(len(self.features))
        area = area_of(params)
        if area is not None:
            relation = str(params.get("relation") or "intersects")
            predicate = {
                "intersects": "intersects",
                "within": "within",
                "contains": "contains",
            }.get(relation)
            if predicate is None:
                raise ValueError(f"relation {relation!r} is not supported")
            hits = self.index.query(area, predicate="intersects")
            candidates = sorted(int(h) for h in hits)
            if predicate != "intersects":
                test = getattr(area, "contains" if predicate == "within" else "within")
                candidates = [i for i in candidates if test(self.shapes[i])]
        tests = filters(params)
        found = [
            self.features[i]
            for i in candidates
            if all(t(self.features[i]["properties"]) for t in tests)
        ]
        for key in reversed(
            [
                k.strip()
                for k in str(params.get("sortBy") or "-acquisitionDate").split(",")
                if k.strip()
            ]
        ):
            name = key.lstrip("-")
            found.sort(
                key=lambda f: (f["properties"].get(name) is None, f["properties"].get(name)),
                reverse=key.startswith("-"),
            )
        return found, len(found)


def area_of(params: dict[str, Any]) -> Any:
    if params.get("geometry"):
        value = params["geometry"]
        return shape(value) if isinstance(value, dict) else wkt.loads(str(value))
    if params.get("bbox"):
        west, south, east, north = (float(v) for v in str(params["bbox"]).split(","))
        return box(west, south, east, north)
    return None


RANGE = re.compile(r"^\s*([\[\]]?)\s*([^,\[\]]*)\s*(?:,\s*([^,\[\]]*)\s*([\[\]]?))?\s*$")


def range_test(value: Any, kind: type) -> Any:
    """OneAtlas' values and ranges: `5`, `[a,b]`, `]a,b[`, `[a`, `,b]`."""
    text = str(value)
    match = RANGE.match(text)
    if not match:
        raise ValueError(f"invalid range {text!r}")
    opening, low, high, closing = match.groups()

    def convert(v: Any) -> Any:
        return (
            datetime.fromisoformat(str(v).replace("Z", "+00:00")) if kind is datetime else float(v)
        )

    if not opening and high is None:  # a bare value: equality
        exact = convert(low)
        return lambda v: v is not None and convert(v) == exact
    lower = convert(low) if low else None
    upper = convert(high) if high else None

    def test(v: Any) -> bool:
        if v is None:
            return False
        x = convert(v)
        if lower is not None and (x < lower or (opening == "]" and x == lower)):
            return False
        return upper is None or not (x > upper or (closing == "[" and x == upper))

    return test


def filters(params: dict[str, Any]) -> list[Any]:
    tests: list[Any] = []
    for name, kind in (
        ("acquisitionDate", datetime),
        ("cloudCover", float),
        ("snowCover", float),
        ("incidenceAngle", float),
        ("resolution", float),
    ):
        if params.get(name) not in (None, ""):
            check = range_test(params[name], kind)
            tests.append(lambda p, check=check, name=name: check(p.get(name)))
    for name in (
        "constellation",
        "platform",
        "id",
        "processingLevel",
        "acquisitionIdentifier",
        "archiveIdentifier",
    ):
        if params.get(name):
            allowed = {v.strip() for v in str(params[name]).split(",")}
            tests.append(lambda p, allowed=allowed, name=name: p.get(name) in allowed)
    return tests


def quicklook(identifier: str, size: int) -> bytes:
    rng = random.Random(identifier)
    image = Image.new(
        "RGB",
        (size, size),
        (rng.randrange(60, 200), rng.randrange(60, 200), rng.randrange(60, 200)),
    )
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(size), rng.randrange(size)
        draw.ellipse(
            (x, y, x + size // 5, y + size // 6), fill=(rng.randrange(256), rng.randrange(256), 90)
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def now() -> datetime:
    return datetime.now(UTC)


def create_simulator(
    settings: SimulatorSettings | None = None,
    held: Iterable[dict[str, Any]] = (),
    base_url: str | None = None,
) -> FastAPI:
    """The simulator's app. `base_url` is where it is reached (for the `_links` it gives)."""
    settings = settings or SimulatorSettings()
    config = Config(
        latency_ms=settings.latency_ms,
        failure=settings.failure,
        delivery_seconds=settings.delivery_seconds,
    )
    if not held and settings.held_items:
        demo = generate_items(settings.held_items, settings.held_seed)
        held = (item for n, item in enumerate(demo) if n % settings.held_every == 0)
    base = (base_url or settings.base_url).rstrip("/")
    archive = Archive.build(settings, held, base)
    desk = OrderDesk(archive.by_id, base)
    tokens: set[str] = set()
    app = FastAPI(title="OneAtlas simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.archive = archive
    calls = {"n": 0}

    async def behave() -> Response | None:
        """Latency, then the configured failure, if any."""
        calls["n"] += 1
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        failing = config.failure == "error" or (config.failure == "flaky" and calls["n"] % 2)
        if failing:
            return JSONResponse({"error": True, "message": "Internal error"}, status_code=500)
        if config.failure == "slow":
            await asyncio.sleep(60)
        if config.failure == "garbage":
            return PlainTextResponse("<html><body>Service temporarily unavailable</body></html>")
        return None

    def authorised(request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token in tokens

    @app.post("/auth/realms/IDP/protocol/openid-connect/token")
    async def token(request: Request) -> Response:
        form = await request.form()
        if failure := await behave():
            return failure
        key = form.get("apikey")
        refused = (
            config.failure == "refuse" or not key or (settings.api_key and key != settings.api_key)
        )
        if refused or form.get("grant_type") != "api_key":
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Invalid API key"}, status_code=401
            )
        value = secrets.token_urlsafe(32)
        tokens.add(value)
        return JSONResponse(
            {
                "access_token": value,
                "expires_in": 3600,
                "refresh_expires_in": 0,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": "",
            }
        )

    unauthenticated = {"error": True, "message": "User is not authenticated"}

    async def refused(request: Request) -> Response | None:
        """The configured failure, if any, then 401 without a valid token."""
        if failure := await behave():
            return failure
        if not authorised(request):
            return JSONResponse(unauthenticated, status_code=401)
        return None

    @app.api_route("/api/v2/opensearch", methods=["GET", "POST"])
    async def opensearch(request: Request) -> Response:
        if denied := await refused(request):
            return denied
        params: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            body = await request.json()
            if not isinstance(body, dict):
                return JSONResponse(
                    {"error": True, "message": "A JSON object is expected"}, status_code=400
                )
            params.update(body)
        try:
            per_page = int(params.get("itemsPerPage") or 50)
            page = int(params.get("startPage") or 1)
            if not 1 <= per_page <= 500 or page < 1:
                raise ValueError("itemsPerPage is 1 to 500, startPage 1 or more")
            if (page - 1) * per_page >= MAX_RESULTS:
                raise ValueError(
                    "Results beyond the first 10000 cannot be reached: narrow the search"
                )
            found, total = archive.search(params)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": True, "message": str(exc)}, status_code=400)
        start = (page - 1) * per_page
        return JSONResponse(
            {
                "type": "FeatureCollection",
                "error": False,
                "totalResults": min(total, MAX_RESULTS),
                "startIndex": start,
                "itemsPerPage": per_page,
                "features": found[start : start + per_page],
            }
        )

    @app.get("/api/v1/items/{identifier}/{kind}")
    async def picture(identifier: str, kind: str, request: Request, width: int = 128) -> Response:
        if denied := await refused(request):
            return denied
        if kind not in ("quicklook", "thumbnail") or identifier not in archive.by_id:
            return JSONResponse({"error": True, "message": "Not found"}, status_code=404)
        size = 512 if kind == "quicklook" else max(128, min(width, 1024))
        return Response(quicklook(identifier, size), media_type="image/jpeg")

    async def answer(
        request: Request, work: Callable[..., Any], status_code: int = 200, body: bool = False
    ) -> Response:
        """The order contract's common steps: failures, the token, the JSON body if `work`
        takes one, refusals."""
        if denied := await refused(request):
            return denied
        try:
            if not body:
                return JSONResponse(work(), status_code=status_code)
            try:
                sent = await request.json()
            except ValueError as exc:
                raise Refusal("INVALID_BODY", "The body is not JSON.") from exc
            return JSONResponse(work(sent), status_code=status_code)
        except Refusal as refusal:
            return JSONResponse(refusal.body(), status_code=refusal.status)

    @app.get("/api/v1/contracts")
    async def list_contracts(request: Request) -> Response:
        return await answer(request, lambda: {"items": contracts()})

    @app.post("/api/v1/prices")
    async def price(request: Request) -> Response:
        return await answer(request, desk.price, body=True)

    @app.post("/api/v1/orders")
    async def place_order(request: Request) -> Response:
        return await answer(
            request,
            lambda sent: desk.place_order(
                sent, config.order_outcome, config.delivery_seconds, now()
            ),
            201,
            body=True,
        )

    @app.get("/api/v1/orders/{order_id}")
    async def order_status(order_id: str, request: Request) -> Response:
        return await answer(request, lambda: desk.order(order_id, now()))

    @app.post("/api/v1/feasibility")
    async def feasibility(request: Request) -> Response:
        return await answer(request, lambda sent: desk.feasibility(sent, now()), body=True)

    @app.post("/api/v1/taskings")
    async def place_tasking(request: Request) -> Response:
        return await answer(
            request,
            lambda sent: desk.place_tasking(
                sent, config.order_outcome, config.delivery_seconds, now()
            ),
            201,
            body=True,
        )

    @app.get("/api/v1/taskings/{tasking_id}")
    async def tasking_status(tasking_id: str, request: Request) -> Response:
        return await answer(request, lambda: desk.tasking(tasking_id, now()))

    @app.get("/api/v1/deliveries/{delivery_id}/download")
    async def download(delivery_id: str, request: Request) -> Response:
        if denied := await refused(request):
            return denied
        try:
            spec = desk.deliverable(delivery_id, now())
        except Refusal as refusal:
            return JSONResponse(refusal.body(), status_code=refusal.status)
        content = await asyncio.to_thread(build_zip, spec)
        return Response(
            content,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{spec.name}.zip"'},
        )

    @app.post("/_simulator")
    async def configure(change: Config) -> Config:
        """Change latency, failures and what becomes of orders while running (tests,
        benchmarks): only the fields sent change."""
        for name in change.model_fields_set:
            setattr(config, name, getattr(change, name))
        return config

    app.state.orders = desk
    app.state.contract_id = CONTRACT_ID

    return app
