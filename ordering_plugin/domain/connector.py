"""The Airbus connector: places accepted requests at Airbus (OneAtlas orders and taskings),
follows them, and delivers what Airbus produced into the catalogue.

Runs as jobs of the PostgreSQL-backed queue (`ordering:submit`, `ordering:poll`, and a sweep
every minute that picks up anything a lost job left behind). Each step is one transaction,
so a job that dies half way is simply run again.
"""

from __future__ import annotations

import asyncio
import errno
import io
import logging
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import procrastinate
import shapely
from sqlalchemy import select
from stapi_pydantic import OrderStatusCode as Status

from extensions.federation.client import OneAtlasClient, UpstreamError, UpstreamRefused
from extensions.i18n import _
from extensions.services import Services, job_services
from ingest.harvest import HarvestOptions, harvest
from ingest.sources import SourceSpec
from ordering_plugin.domain import workflow
from ordering_plugin.domain.desk import Desk
from ordering_plugin.domain.dispatch import defer_poll, defer_submit
from ordering_plugin.domain.products import AIRBUS_PROVIDER, PRODUCTS, Product
from ordering_plugin.models import Request, StatusEvent
from ordering_plugin.settings import OrderingSettings

logger = logging.getLogger(__name__)
SYSTEM = "connecteur Airbus"
DELIVERIES = "deliveries"
UNWRITTEN = "delivery-storage"


def archive_order(request: Request, contract: str) -> dict[str, Any]:
    """The OneAtlas order of an archive request: one product per scene, cut to the area."""
    area = shapely.geometry.shape(request.geometry)
    options = request.parameters
    products = []
    for scene in request.scenes:
        cut = area.intersection(shapely.geometry.shape(scene["geometry"]))
        if cut.is_empty:
            continue
        products.append(
            {
                "id": scene["properties"]["id"],
                "productType": options["spectral_processing"],
                "processingLevel": options["processing_level"].upper(),
                "radiometricProcessing": options["radiometric_processing"].upper(),
                "pixelCoding": options["pixel_coding"],
                "imageFormat": "image/jp2"
                if options["image_format"] == "JPEG2000"
                else "image/geotiff",
                "crsCode": "urn:ogc:def:crs:EPSG::" + options["projection"].split(":")[1],
                "aoi": shapely.geometry.mapping(cut),
            }
        )
    return {"kind": "order.data.product", "contractId": contract, "products": products}


def tasking_request(
    product: Product,
    aoi: dict[str, Any],
    start: datetime,
    end: datetime,
    max_cloud: float,
    max_incidence: float,
    mode: str,
) -> dict[str, Any]:
    """The OneAtlas feasibility body of a tasking (a tasking order adds its contract)."""
    return {
        "mission": product.constellation,
        "aoi": aoi,
        "acquisitionDate": {"startDate": iso(start), "endDate": iso(end)},
        "optical": {
            "maxCloudCover": max_cloud,
            "maxIncidenceAngle": max_incidence,
            "acquisitionMode": mode.upper(),
        },
    }


def tasking_order(request: Request, contract: str) -> dict[str, Any]:
    options = request.parameters
    body = tasking_request(
        PRODUCTS[request.product_id],
        request.geometry,
        request.window_start,
        request.window_end,
        options["max_cloud_cover"],
        options["max_incidence_angle"],
        options["acquisition_mode"],
    )
    body["contractId"] = contract
    if request.opportunity and request.opportunity.get("id"):
        body["opportunityId"] = request.opportunity["id"]
    return body


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Connector:
    """One pass of the connector over one request."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.client: OneAtlasClient = services.airbus
        self.settings = services.settings.plugin(OrderingSettings)

    def desk(self, session: Any) -> Desk:
        return Desk(
            session=session,
            settings=self.settings,
            mails=self.services.templates.env,
            queue=self.services.jobs,
            languages=self.services.identity.languages if self.services.identity else None,
        )

    async def contract(self) -> str:
        contracts = await self.client.contracts()
        active = [c for c in contracts if str(c.get("status", "")).upper() == "ACTIVE"]
        if not active:
            raise UpstreamRefused(403, _("Aucun contrat OneAtlas actif."))
        return str(active[0]["id"])

    async def submit(self, request_id: str) -> str | None:
        """Price and place an accepted request; returns its new status."""
        async with self.services.database.session() as session:
            desk = self.desk(session)
            request = await session.get(Request, request_id, with_for_update={"skip_locked": True})
            if request is None or request.status != Status.accepted or request.upstream_id:
                return request.status if request else None
            try:
                contract = await self.contract()
                if request.kind == "A":
                    body = archive_order(request, contract)
                    request.price = (await self.client.price(body)).get("price")
                    placed = await self.client.place_order(body)
                    target, action = Status.processing, "ordered"
                else:
                    placed = await self.client.place_tasking(tasking_order(request, contract))
                    target, action = Status.tasked, "tasked"
            except UpstreamRefused as exc:
                await desk.move(
                    request, Status.failed, SYSTEM, "airbus-refused", exc.upstream_message
                )
                await desk.commit()
                return request.status
            request.upstream_id = str(placed["id"])
            request.upstream_status = str(placed.get("status"))
            await desk.move(request, target, SYSTEM, action, f"Airbus : {request.upstream_id}")
            await desk.commit()
            return request.status

    async def poll(self, request_id: str) -> str | None:
        """Ask Airbus where the request stands and act on it; returns the request's status."""
        async with self.services.database.session() as session:
            request = await session.get(Request, request_id)
            if (
                request is None
                or request.status not in workflow.IN_FLIGHT
                or not request.upstream_id
            ):
                return request.status if request else None
            kind, upstream_id = request.kind, request.upstream_id
        if kind == "A":
            answer = await self.client.order_status(upstream_id)
        else:
            answer = await self.client.tasking_status(upstream_id)
        state = str(answer.get("status", "")).lower()
        deliveries = [
            d for d in answer.get("deliveries") or [] if str(d.get("status")) == "delivered"
        ]
        files = await self.download(request_id, deliveries) if state == "delivered" else []
        async with self.services.database.session() as session:
            desk = self.desk(session)
            request = await session.get(Request, request_id, with_for_update=True)
            if request is None or request.status not in workflow.IN_FLIGHT:
                return request.status if request else None
            request.upstream_status = state
            if answer.get("segments") is not None:
                request.segments = list(answer["segments"])
            acquired = state in ("in_progress", "acquired", "delivered")
            if acquired and request.status == Status.tasked:  # each step is recorded
                await desk.move(
                    request,
                    Status.processing,
                    SYSTEM,
                    "acquired",
                    f"{len(request.segments)} segment(s) acquis",
                )
            if state == "delivered":
                await self.catalogue(desk, request, files)
            elif state in ("rejected", "cancelled"):
                await desk.move(
                    request,
                    Status.rejected,
                    SYSTEM,
                    "airbus-" + state,
                    answer.get("message") or "Refusée par Airbus.",
                )
            elif state == "failed":
                await desk.move(
                    request,
                    Status.failed,
                    SYSTEM,
                    "airbus-failed",
                    answer.get("message") or "Échec chez Airbus.",
                )
            elif state == "expired" and request.status == Status.tasked:
                await desk.move(
                    request,
                    Status.expired,
                    SYSTEM,
                    "airbus-expired",
                    "La fenêtre de programmation est passée sans acquisition.",
                )
            await desk.commit()
            return request.status

    async def unwritten(self, request_id: str, exc: OSError) -> None:
        """Say on the request, once, that its delivery could not be written here (a full
        disk, say); the status stays, and the job is tried again later."""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            text = "Espace disque insuffisant pour écrire la livraison : nouvel essai plus tard."
        else:
            text = f"La livraison n'a pas pu être écrite ({exc}) : nouvel essai plus tard."
        async with self.services.database.session() as session:
            latest = await self.desk(session).latest(request_id)
            if latest.reason_code != UNWRITTEN:
                session.add(
                    StatusEvent(
                        request_id=request_id,
                        status=latest.status,
                        actor=SYSTEM,
                        reason_code=UNWRITTEN,
                        reason_text=text,
                    )
                )
                await session.commit()

    async def download(self, request_id: str, deliveries: list[dict[str, Any]]) -> list[Path]:
        folder = self.services.settings.storage.local_root / DELIVERIES / request_id
        folder.mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        for delivery in deliveries:
            href = ((delivery.get("_links") or {}).get("download") or {}).get("href")
            if not href:
                continue
            target = folder / f"{delivery.get('id', len(files))}.zip"
            if not target.exists():
                await self.client.download(href, target)
            files.append(target)
        return files

    async def catalogue(self, desk: Desk, request: Request, files: list[Path]) -> None:
        """Unpack the delivered products beside the catalogue's assets and harvest them."""
        product = PRODUCTS[request.product_id]
        if not files:
            await desk.move(
                request,
                Status.failed,
                SYSTEM,
                "delivery-empty",
                "Airbus a livré sans fichier à télécharger.",
            )
            return
        folder = files[0].parent / "products"
        for path in files:
            try:
                with zipfile.ZipFile(path) as zipped:
                    zipped.extractall(folder / path.stem)
            except zipfile.BadZipFile:
                path.unlink(missing_ok=True)
                await desk.move(
                    request,
                    Status.failed,
                    SYSTEM,
                    "delivery-unreadable",
                    f"La livraison {path.name} n'est pas une archive zip.",
                )
                return
        root = self.services.settings.storage.local_root
        # In the asset storage (a bucket read by every API process) before the catalogue.
        await asyncio.to_thread(
            self.services.hrefs.storage.upload, folder, folder.relative_to(root).as_posix()
        )
        output = io.BytesIO()
        report = await asyncio.to_thread(
            harvest,
            SourceSpec(str(folder)),
            self.services.settings.database.dsn(),
            HarvestOptions(
                providers=[AIRBUS_PROVIDER],
                href_prefix=folder.relative_to(root).as_posix() + "/",
                workers=1,
            ),
            output,
        )
        items = [orjson.loads(line) for line in output.getvalue().splitlines() if line.strip()]
        wrong = [i["id"] for i in items if i["collection"] != product.collection]
        if report.failed or not items or wrong:
            reasons = "; ".join(f"{f.key}: {f.message}" for f in report.failures[:3]) or (
                f"hors collection {product.collection} : {wrong}" if wrong else "aucun produit"
            )
            await desk.move(request, Status.failed, SYSTEM, "delivery-ingest", reasons)
            return
        request.delivered = [{"collection": i["collection"], "id": i["id"]} for i in items]
        await desk.move(
            request, Status.completed, SYSTEM, "delivered", f"{len(items)} produit(s) au catalogue"
        )


async def submit_task(context: procrastinate.JobContext, request_id: str) -> None:
    connector = Connector(job_services(context))
    if await connector.submit(request_id) in workflow.IN_FLIGHT:
        await defer_poll(context.app, request_id, connector.settings.poll_seconds)


async def poll_task(context: procrastinate.JobContext, request_id: str) -> None:
    connector = Connector(job_services(context))
    try:
        status = await connector.poll(request_id)
    except UpstreamError as exc:  # Airbus unreachable for now: ask again later
        logger.warning("polling %s: %s", request_id, exc)
        status = Status.processing
    except OSError as exc:
        if isinstance(exc, ConnectionError):
            raise
        await connector.unwritten(request_id, exc)
        raise  # the job's retries, then the sweep, try again
    if status in workflow.IN_FLIGHT:
        await defer_poll(context.app, request_id, connector.settings.poll_seconds)


async def sweep_task(context: procrastinate.JobContext, timestamp: int) -> None:
    """Every minute: submit accepted requests not placed yet, follow the placed ones (jobs
    lost in a restart are picked up here)."""
    async with job_services(context).database.session() as session:
        rows = (
            await session.execute(
                select(Request.id, Request.upstream_id).where(
                    Request.status.in_(workflow.IN_FLIGHT)
                )
            )
        ).all()
    for request_id, upstream_id in rows:
        if upstream_id:
            await defer_poll(context.app, request_id, 0)
        else:
            await defer_submit(context.app, request_id)


def register_tasks(blueprint: procrastinate.Blueprint) -> None:
    retry = procrastinate.RetryStrategy(max_attempts=8, exponential_wait=5)
    blueprint.task(name="submit", pass_context=True, retry=retry)(submit_task)
    blueprint.task(name="poll", pass_context=True, retry=retry)(poll_task)
    sweep = blueprint.task(name="sweep", queueing_lock="ordering-sweep", pass_context=True)
    blueprint.periodic(cron="* * * * *")(sweep(sweep_task))


def remove_delivery(storage_root: Path, request_id: str) -> None:
    shutil.rmtree(storage_root / DELIVERIES / request_id, ignore_errors=True)
