"""The ordering desk's operations: projects, requests, their workflow, messages and quotas.

Routes and pages call these with a `Desk` (the session, the caller, mail, the Airbus
archive); the Airbus connector calls `move` as the provider answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import shapely
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import func, or_, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from stapi_pydantic import OrderStatusCode as Status

from extensions.access import Rights
from extensions.areas import as_geojson
from extensions.errors import Conflict, InvalidFields, InvalidRequest, NotFound, PermissionDenied
from extensions.federation.client import OneAtlasClient
from extensions.federation.search import held_datastrips
from extensions.federation.stac import datastrip_ids
from extensions.geodesy import area_km2
from extensions.i18n import N_, _, number
from extensions.identity import Identity
from extensions.mail import Mailing
from ordering_plugin.domain import workflow
from ordering_plugin.domain.areas import area_of, interval, parse_time, wrong_area
from ordering_plugin.domain.dispatch import defer_submit
from ordering_plugin.domain.products import Product, tasking_window
from ordering_plugin.models import Message, Project, Quota, Request, StatusEvent
from ordering_plugin.schemas import OrderBody, ProjectForm
from ordering_plugin.settings import OrderingSettings
from pgstac.missions import AIRBUS

if TYPE_CHECKING:
    from extensions.database import Database


@dataclass(frozen=True)
class Estimate:
    """A request's area and its entity's free quota of the sensor family this year."""

    area_km2: float
    quota: Quota

    @property
    def over_quota(self) -> bool:
        """Beyond the free quota: the request may be rejected."""
        quota = self.quota
        return quota.used_km2 + quota.reserved_km2 + self.area_km2 > quota.allowed_km2

    @property
    def price(self) -> dict[str, Any] | None:
        """What the entity pays: nothing within its free quota; beyond it there is no free
        price (None), and the instructors may reject the request."""
        return None if self.over_quota else {"amount": 0.0, "currency": "EUR"}


def archive_area(
    scenes: list[dict[str, Any]], geometry: dict[str, Any] | None, bbox: list[float] | None
) -> shapely.Geometry:
    """What an archive order covers: its scenes' footprints, cut to the area of interest."""
    field = "geometry" if geometry is not None else "bbox"
    footprints = shapely.union_all([shapely.geometry.shape(s["geometry"]) for s in scenes])
    if geometry is None and bbox is None:
        return footprints
    area = area_of(geometry, bbox).intersection(footprints)
    if area.is_empty or area.area == 0:
        raise wrong_area(_("La zone d'intérêt ne recoupe pas les scènes commandées."), field)
    return area


@dataclass(frozen=True)
class QuotaWarning:
    """A request beyond its entity's free quota may be rejected: said in the language of each
    reader, when it is written (the API's answer, the page, each mail)."""

    allowed_km2: float
    sensor: str
    year: int

    def __str__(self) -> str:
        return _(
            "Attention, vous avez dépassé le quota de gratuité de %(allowed)s km² "
            "(%(sensor)s, %(year)s) : votre demande risque d'être rejetée.",
            allowed=number(self.allowed_km2),
            sensor=self.sensor,
            year=self.year,
        )


WINDOW_MISSING = N_("`datetime` est la fenêtre de programmation : début/fin.")


def area_field(body: OrderBody) -> str:
    """The field an order's area of interest came in, for its errors."""
    return "geometry" if body.geometry is not None or body.bbox is None else "bbox"


def below_minimum(product: Product, area: float) -> str:
    return _(
        "La zone commandée fait %(area)s km² : %(title)s commence à %(minimum_km2)s km².",
        area=number(area),
        title=product.title,
        minimum_km2=number(product.minimum_km2),
    )


@dataclass
class Desk(Mailing):
    """The session, the caller and the mails of one ordering operation."""

    settings: OrderingSettings
    identity: Identity | None = None
    airbus: OneAtlasClient | None = None
    """The Airbus archive, to check the scenes of an archive order."""
    catalogue: Database | None = None
    """The catalogue, to tell scenes held here from commandable ones."""

    # -- who -----------------------------------------------------------------------------

    @property
    def me(self) -> Identity:
        if self.identity is None:
            raise PermissionDenied(_("Connectez-vous d'abord."))
        return self.identity

    @property
    def instructor(self) -> bool:
        return self.identity is not None and self.identity.has("instructor", "admin")

    def requester_of(self, project: Project) -> bool:
        me = self.me
        return project.owner_id == me.account_id or me.email.lower() in project.members

    def roles_on(self, request: Request, project: Project) -> set[str]:
        roles = set()
        if self.requester_of(project) or request.requester_id == self.me.account_id:
            roles.add(workflow.REQUESTER)
        if self.instructor:
            roles.add(workflow.INSTRUCTOR)
        return roles

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[None]:
        """What is read within comes from one moment of the database (one REPEATABLE READ READ
        ONLY transaction, the session's first): a request and its statuses, messages and items
        agree even when a worker or an instructor moves it on between two of the queries."""
        assert not self.session.in_transaction(), "a snapshot begins the session's transaction"
        await self.session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        try:
            yield
        except BaseException:
            await self.session.rollback()
            raise
        await self.session.commit()  # ends it; what was read stays loaded

    # -- projects ------------------------------------------------------------------------

    async def create_project(self, form: ProjectForm) -> Project:
        me = self.me
        if me.entity_id is None:
            raise PermissionDenied(
                _("Votre compte n'appartient à aucune entité : il ne peut pas porter de projet.")
            )
        today = datetime.now(UTC).date()
        serial = await self._next(f"project:{today.year}")
        project = Project(
            id=f"{today.year}-{serial:03d}-{form.kind}",
            start_date=today,
            owner_id=me.account_id,
            owner_email=me.email,
            owner_name=me.name,
            entity_id=me.entity_id,
            entity_name=me.entity_name,
            status="open",
            **form.model_dump(),
        )
        self.session.add(project)
        await self.session.flush()
        return project

    async def projects(self) -> list[tuple[Project, int]]:
        """The projects the caller owns or belongs to (all of them for instructors), with
        their number of requests."""
        me = self.me
        count = (
            select(func.count(Request.id))
            .where(Request.project_id == Project.id)
            .correlate(Project)
            .scalar_subquery()
        )
        query = select(Project, count).order_by(Project.created_at.desc())
        if not self.instructor:
            query = query.where(
                or_(Project.owner_id == me.account_id, Project.members.contains([me.email.lower()]))
            )
        return [(p, n) for p, n in (await self.session.execute(query)).all()]

    async def project(self, project_id: str) -> Project:
        project = await self.session.get(Project, project_id)
        if project is None or not (self.instructor or self.requester_of(project)):
            raise NotFound(_("Pas de projet %(project_id)s.", project_id=project_id))
        return project

    async def close_project(self, project_id: str) -> Project:
        project = await self.project(project_id)
        if not (project.owner_id == self.me.account_id or self.instructor):
            raise PermissionDenied(_("Seul le propriétaire du projet le clôt."))
        if project.status == "closed":
            raise Conflict(_("Le projet %(project_id)s est déjà clos.", project_id=project_id))
        pending = await self.session.scalar(
            select(func.count(Request.id)).where(
                Request.project_id == project_id, Request.status.not_in(workflow.FINAL)
            )
        )
        if pending:
            raise Conflict(
                _("Le projet a encore %(pending)s demande(s) en cours.", pending=pending)
            )
        project.status, project.closed_at = "closed", datetime.now(UTC)
        return project

    # -- filing and acting -----------------------------------------------------------------

    async def file_order(
        self, product: Product, body: OrderBody, rights: Rights
    ) -> tuple[Request, QuotaWarning | None]:
        """Check an order (options, licence, scenes, area, window) and file it (committed)."""
        try:
            parameters = product.parameters.model_validate(body.order_parameters)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("order_parameters", *e["loc"])} for e in exc.errors()]
            ) from exc
        collection = product.collection
        if not (
            rights.everything or collection in rights.licensed or collection in rights.collections
        ):
            raise PermissionDenied(
                _(
                    "Votre entité n'a pas la licence %(sensor_title)s (`%(collection)s`) : "
                    "elle ne pourrait pas télécharger les livraisons. Demandez à votre "
                    "référent de l'ajouter.",
                    sensor_title=product.sensor_title,
                    collection=collection,
                )
            )
        options = parameters.model_dump(mode="json")
        project_id = options.pop("project_id")
        scenes: list[dict[str, Any]] = []
        if product.kind == "A":
            scenes = await self.commandable_scenes(product, options.pop("item_ids"))
            geometry = archive_area(scenes, body.geometry, body.bbox)
            times = sorted(s["properties"]["acquisitionDate"] for s in scenes)
            window = (parse_time(times[0]), parse_time(times[-1]))
        else:
            if body.datetime is None:
                raise InvalidFields({"datetime": _(WINDOW_MISSING)})
            geometry = area_of(body.geometry, body.bbox)
            window = interval(body.datetime)
            tasking_window(*window)
        if geometry.geom_type not in ("Polygon", "MultiPolygon"):
            raise wrong_area(_("La zone commandée n'est pas une surface."), area_field(body))
        order, warning = await self.create_request(
            product,
            project_id,
            geometry,
            window,
            options,
            scenes=scenes,
            request_filter=body.filter,
            area_field=area_field(body),
        )
        await self.commit()
        return order, warning

    async def commandable_scenes(
        self, product: Product, item_ids: list[str]
    ) -> list[dict[str, Any]]:
        """The scenes of the commandable collection, as Airbus lists them now: each must
        exist, be of the product's constellation, and not be held here already."""
        assert self.catalogue is not None
        ids = sorted(set(item_ids))
        found = await self.archive_scenes(ids)
        if missing := [i for i in ids if i not in found]:
            raise InvalidFields(
                {
                    "item_ids": _(
                        "Absente(s) de l'archive Airbus : %(scenes)s.", scenes=", ".join(missing)
                    )
                }
            )
        scenes = [found[i] for i in ids]
        for scene in scenes:
            constellation = scene["properties"].get("constellation")
            if constellation != product.constellation:
                raise InvalidFields(
                    {
                        "item_ids": _(
                            "%(value)s est une scène %(constellation)s, pas %(sensor_title)s "
                            ": commandez-la avec le bon produit.",
                            value=scene["properties"]["id"],
                            constellation=constellation,
                            sensor_title=product.sensor_title,
                        )
                    }
                )
        held = await held_datastrips(self.catalogue, scenes)
        if already := [
            s["properties"]["id"] for s in scenes if datastrip_ids(s["properties"]) & held
        ]:
            raise InvalidFields(
                {
                    "item_ids": _(
                        "Déjà au catalogue, à télécharger plutôt qu'à commander : %(value)s.",
                        value=", ".join(already),
                    )
                }
            )
        return [
            {"type": "Feature", "geometry": s["geometry"], "properties": s["properties"]}
            for s in scenes
        ]

    async def archive_scenes(self, item_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The scenes of the Airbus archive with these ids, by id, as Airbus lists them now
        (the unknown ones are left out)."""
        assert self.airbus is not None
        ids = sorted(set(item_ids))
        page = await self.airbus.search(
            {
                "id": ",".join(ids),
                "itemsPerPage": len(ids),
                "startPage": 1,
                "constellation": ",".join(AIRBUS),
            }
        )
        return {str((f.get("properties") or {}).get("id")): f for f in page["features"]}

    async def edit(self, request_id: str, product: Product, body: OrderBody) -> Request:
        """A request on hold, changed by its requester (its area, window and options) before
        they resubmit it; committed."""
        request, project = await self.request(request_id, lock=True)
        if request.status != Status.held:
            raise Conflict(_("Seule une demande en attente d'informations se modifie."))
        if workflow.REQUESTER not in self.roles_on(request, project):
            raise PermissionDenied(_("Seuls le demandeur et les membres du projet la modifient."))
        item_ids = [s["properties"]["id"] for s in request.scenes]
        extra = {"item_ids": item_ids} if request.kind == "A" else {}
        try:
            parameters = product.parameters.model_validate(
                {**body.order_parameters, "project_id": request.project_id, **extra}
            )
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("order_parameters", *e["loc"])} for e in exc.errors()]
            ) from exc
        options = parameters.model_dump(mode="json", exclude={"project_id", "item_ids"})
        if request.kind == "A":
            footprints = shapely.union_all(
                [shapely.geometry.shape(s["geometry"]) for s in request.scenes]
            )
            geometry = footprints
            if body.geometry is not None or body.bbox is not None:
                geometry = area_of(body.geometry, body.bbox).intersection(footprints)
        else:
            if body.datetime is None:
                raise InvalidFields({"datetime": _(WINDOW_MISSING)})
            geometry = area_of(body.geometry, body.bbox)
            request.window_start, request.window_end = interval(body.datetime)
            tasking_window(request.window_start, request.window_end)
        area = round(area_km2(geometry), 3)
        if geometry.is_empty or area < product.minimum_km2:
            raise wrong_area(below_minimum(product, area), area_field(body))
        request.geometry, request.area_km2 = as_geojson(geometry), area
        request.parameters = options
        request.updated_at = datetime.now(UTC)
        await self.commit()
        return request

    async def perform(self, request_id: str, action: str, reason: str | None) -> Request:
        """An action on a request, committed; an accepted request goes to Airbus at once."""
        request = await self.act(request_id, action, reason)
        await self.commit()
        if request.status == Status.accepted:
            await defer_submit(self.queue, request.id)
        return request

    # -- requests ------------------------------------------------------------------------

    async def create_request(
        self,
        product: Product,
        project_id: str,
        geometry: shapely.Geometry,
        window: tuple[datetime, datetime],
        parameters: dict[str, Any],
        scenes: list[dict[str, Any]] | None = None,
        request_filter: dict[str, Any] | None = None,
        opportunity: dict[str, Any] | None = None,
        area_field: str = "geometry",
    ) -> tuple[Request, QuotaWarning | None]:
        """A new request (status received) and the quota warning, if any; an error of the
        area is one of `area_field`, the field it came in."""
        me = self.me
        project = await self.project(project_id)
        if project.status != "open":
            raise Conflict(
                _(
                    "Le projet %(project_id)s est clos : ouvrez-en un nouveau.",
                    project_id=project_id,
                )
            )
        if not self.requester_of(project):
            raise PermissionDenied(
                _("Seuls le propriétaire et les membres du projet y déposent des demandes.")
            )
        if project.end_date < datetime.now(UTC).date():
            raise Conflict(
                _(
                    "Le projet %(project)s a pris fin le %(end)s.",
                    project=project_id,
                    end=f"{project.end_date:%d/%m/%Y}",
                )
            )
        estimate = await self.estimate(product, project, geometry)
        area, quota = estimate.area_km2, estimate.quota
        if area < product.minimum_km2:
            raise wrong_area(below_minimum(product, area), area_field)
        if area > self.settings.max_area_km2:
            raise wrong_area(
                _(
                    "La zone commandée fait %(area)s km², au-delà des %(max_area_km2)s km² "
                    "qu'une demande peut couvrir.",
                    area=number(area),
                    max_area_km2=number(self.settings.max_area_km2),
                ),
                area_field,
            )
        year = datetime.now(UTC).year
        serial = await self._next(f"request:{project.id}:{year}:{product.kind}")
        warning = None
        if estimate.over_quota:
            warning = QuotaWarning(quota.allowed_km2, product.sensor_title, quota.period_start.year)
        request = Request(
            id=f"{project.id}-{year}-{product.kind}-{serial:03d}-{product.family}",
            project_id=project.id,
            kind=product.kind,
            product_id=product.id,
            family=product.family,
            requester_id=me.account_id,
            requester_email=me.email,
            requester_name=me.name,
            entity_id=project.entity_id,
            entity_name=project.entity_name,
            geometry=as_geojson(geometry),
            area_km2=area,
            window_start=window[0],
            window_end=window[1],
            filter=request_filter,
            parameters=parameters,
            scenes=scenes or [],
            opportunity=opportunity,
            over_quota=warning is not None,
            status=Status.received,
            quota_state="none",
            segments=[],
            delivered=[],
        )
        self.session.add(request)
        self.session.add(StatusEvent(request_id=request.id, status=Status.received, actor=me.email))
        await self.session.flush()
        await self.mail(
            [me.email],
            "ordering_received",
            {"request": request, "warning": warning, "project": project},
            reference=request.id,
        )
        await self.mail(
            [self.settings.instruction_email],
            "ordering_to_instruct",
            {"request": request, "warning": warning, "project": project},
            reference=request.id,
        )
        return request, warning

    async def estimate(
        self, product: Product, project: Project | None, geometry: shapely.Geometry
    ) -> Estimate:
        """The area of a request and its entity's free quota (the project's, else the
        caller's): what filing it checks, and what the forms show before it is sent."""
        me = self.me
        entity_id, entity_name = me.entity_id, me.entity_name
        if project is not None:
            entity_id, entity_name = project.entity_id or entity_id, project.entity_name
        quota = await self.quota(entity_id, entity_name, product.family)
        return Estimate(round(area_km2(geometry), 3), quota)

    def visible(self, query: Any) -> Any:
        """Requests of the caller's projects (all for instructors)."""
        if self.instructor:
            return query
        me = self.me
        return query.join(Project, Project.id == Request.project_id).where(
            or_(
                Request.requester_id == me.account_id,
                Project.owner_id == me.account_id,
                Project.members.contains([me.email.lower()]),
            )
        )

    def _selected(self, status: str | None, project_id: str | None) -> Any:
        query = self.visible(select(Request))
        if status:
            query = query.where(Request.status.in_(status.split(",")))
        if project_id:
            query = query.where(Request.project_id == project_id)
        return query

    async def requests(
        self,
        status: str | None = None,
        project_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Request]:
        """The caller's requests (comma-separated statuses, a project), newest first."""
        query = self._selected(status, project_id)
        rows = await self.session.scalars(
            query.order_by(Request.created_at.desc(), Request.id.desc()).limit(limit).offset(offset)
        )
        return list(rows)

    async def count_requests(self, status: str | None = None, project_id: str | None = None) -> int:
        query = self._selected(status, project_id)
        return int(
            await self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        )

    async def request(self, request_id: str, lock: bool = False) -> tuple[Request, Project]:
        found = await self.session.get(Request, request_id, with_for_update=lock)
        if found is None:
            raise NotFound(_("Pas de demande %(request_id)s.", request_id=request_id))
        project = await self.session.get(Project, found.project_id)
        assert project is not None
        if not (
            self.instructor
            or self.requester_of(project)
            or found.requester_id == self.me.account_id
        ):
            raise NotFound(_("Pas de demande %(request_id)s.", request_id=request_id))
        return found, project

    async def history(self, request_id: str) -> list[StatusEvent]:
        rows = await self.session.scalars(
            select(StatusEvent).where(StatusEvent.request_id == request_id).order_by(StatusEvent.id)
        )
        return list(rows)

    async def latest_of(self, request_ids: list[str]) -> dict[str, StatusEvent]:
        """The current status event of each request, in one query."""
        rows = await self.session.scalars(
            select(StatusEvent)
            .where(StatusEvent.request_id.in_(request_ids))
            .ext(distinct_on(StatusEvent.request_id))
            .order_by(StatusEvent.request_id, StatusEvent.id.desc())
        )
        return {row.request_id: row for row in rows}

    async def latest(self, request_id: str) -> StatusEvent:
        return (await self.latest_of([request_id]))[request_id]

    async def act(self, request_id: str, action: str, reason: str | None = None) -> Request:
        """A requester's or instructor's action on a request."""
        request, project = await self.request(request_id, lock=True)
        roles = self.roles_on(request, project)
        try:
            move = workflow.find_move(action, roles, request.status)
        except PermissionError as exc:
            raise PermissionDenied(str(exc)) from exc
        except workflow.IllegalMove as exc:
            raise Conflict(str(exc)) from exc
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        if move.reason_required and not (reason or "").strip():
            raise InvalidRequest(
                _("Dites pourquoi (`reason`) pour l'action %(action)s.", action=action)
            )
        await self.move(request, move.target, self.me.email, action, reason)
        return request

    async def move(
        self,
        request: Request,
        target: Status,
        actor: str,
        reason_code: str | None = None,
        reason_text: str | None = None,
    ) -> None:
        """Record a status, apply its effect on the quota and tell the requester."""
        request.status = target
        request.updated_at = datetime.now(UTC)
        if target == Status.accepted:  # (again): placed anew at Airbus
            request.upstream_id = request.upstream_status = None
        await self._account(request, target)
        self.session.add(
            StatusEvent(
                request_id=request.id,
                status=target,
                actor=actor,
                reason_code=reason_code,
                reason_text=(reason_text or None),
            )
        )
        await self.session.flush()
        await self.mail(
            [request.requester_email],
            "ordering_status",
            {"request": request, "status": workflow.LABELS[target], "reason": reason_text},
            reference=request.id,
        )

    async def _account(self, request: Request, target: Status) -> None:
        """Reserve on acceptance, debit on completion, release otherwise: the quota row is
        read (and locked) only when the move changes it."""
        if target in workflow.RESERVE and request.quota_state in ("none", "released"):
            reserved, used, state = request.area_km2, 0.0, "reserved"
        elif target in workflow.DEBIT and request.quota_state == "reserved":
            reserved, used, state = -request.area_km2, request.area_km2, "debited"
        elif target in workflow.RELEASE and request.quota_state == "reserved":
            reserved, used, state = -request.area_km2, 0.0, "released"
        else:
            return
        if request.entity_id is None:
            return
        quota = await self.quota(request.entity_id, request.entity_name, request.family, lock=True)
        quota.reserved_km2 = max(round(quota.reserved_km2 + reserved, 3), 0.0)
        quota.used_km2 = round(quota.used_km2 + used, 3)
        request.quota_state = state

    # -- messages ------------------------------------------------------------------------

    async def messages(self, request_id: str) -> list[Message]:
        await self.request(request_id)
        rows = await self.session.scalars(
            select(Message).where(Message.request_id == request_id).order_by(Message.id)
        )
        return list(rows)

    async def post_message(self, request_id: str, body: str) -> Message:
        request, project = await self.request(request_id)
        body = body.strip()
        if not body:
            raise InvalidRequest(_("Le message est vide."))
        if len(body) > 10_000:
            raise InvalidRequest(_("Un message fait au plus 10 000 caractères."))
        roles = self.roles_on(request, project)
        role = workflow.REQUESTER if workflow.REQUESTER in roles else workflow.INSTRUCTOR
        message = Message(
            request_id=request.id,
            author_id=self.me.account_id,
            author=self.me.name or self.me.email,
            author_role=role,
            body=body,
        )
        self.session.add(message)
        await self.session.flush()
        recipient = (
            self.settings.instruction_email
            if role == workflow.REQUESTER
            else request.requester_email
        )
        await self.mail(
            [recipient],
            "ordering_message",
            {"request": request, "message": message},
            reference=request.id,
        )
        return message

    # -- quotas --------------------------------------------------------------------------

    async def quota(
        self, entity_id: int | None, entity_name: str | None, family: str, lock: bool = False
    ) -> Quota:
        """The entity's quota of this sensor family for this year (created at the default
        free quota the first time)."""
        if entity_id is None:
            raise PermissionDenied(
                _("Votre compte n'appartient à aucune entité : il n'a pas de quota.")
            )
        year = datetime.now(UTC).year
        start = date(year, 1, 1)
        await self.session.execute(
            text(
                "INSERT INTO ordering.quotas (entity_id, entity_name, family, period_start, "
                "period_end, allowed_km2, reserved_km2, used_km2) "
                "VALUES (:e, :n, :f, :s, :end, :a, 0, 0) "
                "ON CONFLICT (entity_id, family, period_start) DO NOTHING"
            ),
            {
                "e": entity_id,
                "n": entity_name,
                "f": family,
                "s": start,
                "end": date(year, 12, 31),
                "a": self.settings.free_quota_km2.get(family, 0.0),
            },
        )
        query = select(Quota).where(
            Quota.entity_id == entity_id, Quota.family == family, Quota.period_start == start
        )
        if lock:
            query = query.with_for_update()
        quota = (await self.session.scalars(query.execution_options(populate_existing=True))).one()
        return quota

    async def quotas(self, entity_id: int | None = None) -> list[Quota]:
        """The caller's entity's quotas (an instructor may ask for any entity, or all)."""
        if not self.instructor:
            entity_id = self.me.entity_id
            if entity_id is None:
                return []
        query = select(Quota).order_by(Quota.entity_id, Quota.period_start.desc(), Quota.family)
        if entity_id is not None:
            query = query.where(Quota.entity_id == entity_id)
        return list(await self.session.scalars(query))

    async def set_quota(self, entity_id: int, family: str, year: int, allowed_km2: float) -> Quota:
        if not self.instructor:
            raise PermissionDenied(_("Seuls les instructeurs fixent les quotas."))
        if allowed_km2 < 0:
            raise InvalidRequest(_("Un quota est un nombre positif de km²."))
        quota = await self.session.scalar(
            select(Quota).where(
                Quota.entity_id == entity_id,
                Quota.family == family,
                Quota.period_start == date(year, 1, 1),
            )
        )
        if quota is None:
            quota = Quota(
                entity_id=entity_id,
                family=family,
                period_start=date(year, 1, 1),
                period_end=date(year, 12, 31),
                reserved_km2=0.0,
                used_km2=0.0,
            )
            self.session.add(quota)
        quota.allowed_km2 = allowed_km2
        await self.session.flush()
        return quota

    # -- plumbing ------------------------------------------------------------------------

    async def _next(self, scope: str) -> int:
        """The next number of a sequence (atomic, gapless within a transaction)."""
        value = await self.session.scalar(
            text(
                "INSERT INTO ordering.counters (scope, value) VALUES (:s, 1) "
                "ON CONFLICT (scope) DO UPDATE SET value = ordering.counters.value + 1 "
                "RETURNING value"
            ),
            {"s": scope},
        )
        return int(value or 1)
