"""The platform's numbers: adherent entities, accounts, downloads and signatures (the access
audit), imagery requests and quotas (the ordering plugin's tables, read in SQL so that the
registry does not depend on that plugin; their statuses named by its `request_statuses`
hook, the quota of an entity with none set given by its `free_quotas`). Instructors see
all; a relay partner sees its partner entities'. Each code (a status, a category, a sensor)
comes with its label in the reader's language."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text

from extensions.errors import InvalidFields, PermissionDenied
from extensions.i18n import _, month
from registry_plugin.domain import relays
from registry_plugin.domain.context import Context
from registry_plugin.vocabulary import ACCOUNT_STATUS, CATEGORIES, ORDERED_SENSORS

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class Filters(BaseModel):
    """What the numbers are restricted to: one entity, a period of months, a collection."""

    entity_id: int | None = None
    since: str | None = None  # YYYY-MM, included
    until: str | None = None  # YYYY-MM, included
    collection: str | None = None

    def check(self) -> Filters:
        errors = {
            name: _("Mois attendu au format AAAA-MM.")
            for name in ("since", "until")
            if getattr(self, name) and not MONTH.match(getattr(self, name))
        }
        if errors:
            raise InvalidFields(errors)
        if self.since and self.until and self.since > self.until:
            raise InvalidFields({"until": _("La période se termine avant de commencer.")})
        return self

    def bounds(self) -> dict[str, Any]:
        """The period as [start, end) timestamps, open ends far away."""
        start = date.fromisoformat(f"{self.since}-01") if self.since else date(1900, 1, 1)
        end = date(2999, 1, 1)
        if self.until:
            year, month = map(int, self.until.split("-"))
            end = date(year + month // 12, month % 12 + 1, 1)
        return {"start": start, "end": end, "collection": self.collection or None}


class Count(BaseModel):
    key: str
    label: str
    count: int


class MonthActivity(BaseModel):
    month: str
    collection: str
    signatures: int
    downloads: int


class RequestCount(BaseModel):
    status: str
    status_label: str
    sensor: str
    sensor_label: str
    count: int
    area_km2: float


class QuotaUse(BaseModel):
    sensor: str
    sensor_label: str
    allowed_km2: float
    reserved_km2: float
    used_km2: float
    ordered_km2: float


class Statistics(BaseModel):
    scope: str  # "all" or the relay's name
    filters: Filters
    entities_by_category: list[Count]
    entities_by_month: list[Count]
    accounts_by_status: list[Count]
    activity: list[MonthActivity]
    requests: list[RequestCount]
    quotas: list[QuotaUse]


class PartnerRow(BaseModel):
    id: int
    acronym: str
    name: str
    status: str
    accounts: int


class AccountRow(BaseModel):
    id: int
    entity: str
    name: str
    email: str
    status: str
    expires_on: date | None
    last_sign_in_at: datetime | None


class RequestRow(BaseModel):
    id: str
    entity: str | None
    product: str
    sensor: str
    sensor_label: str
    status: str
    status_label: str
    area_km2: float
    created_at: datetime


class Activity(BaseModel):
    """A relay partner's view of its partner entities and their users."""

    relay_id: int
    relay: str
    filters: Filters
    partners: list[PartnerRow]
    accounts: list[AccountRow]
    activity: list[MonthActivity]
    requests: list[RequestRow]


async def scope_of(ctx: Context, filters: Filters, relay_id: int | None = None) -> list[int] | None:
    """The entities the caller may count (None: all of them), narrowed to the filter's."""
    identity = ctx.identity
    if identity is None:
        raise PermissionDenied(_("Connectez-vous."))
    if relay_id is None and identity.has("instructor", "admin"):
        entities = None
    else:
        if relay_id is None or not identity.has("instructor", "admin"):
            relay_id = relays.relay_of(ctx)
        entities = [e.id for e in await relays.partners(ctx, relay_id)]
    if filters.entity_id is None:
        return entities
    if entities is not None and filters.entity_id not in entities:
        raise PermissionDenied(_("Cette entité n'est pas l'une de vos entités partenaires."))
    return [filters.entity_id]


async def rows(ctx: Context, sql: str, **params: Any) -> list[dict[str, Any]]:
    result = await ctx.session.execute(text(sql), params)
    return [dict(r) for r in result.mappings()]


def request_statuses(ctx: Context) -> dict[str, str]:
    """The requests' statuses and their labels, lent by the plugin that keeps the requests."""
    statuses: dict[str, str] = {}
    for plugin in ctx.services.plugins if ctx.services else ():
        statuses |= plugin.request_statuses()
    return statuses


def free_quotas(ctx: Context) -> dict[str, float]:
    """The free quota per sensor family of an entity with none set for a year, lent by the
    plugin that keeps the quotas: the one it would apply to that entity's requests."""
    quotas: dict[str, float] = {}
    if services := ctx.services:
        for plugin in services.plugins:
            quotas |= plugin.free_quotas(services.settings)
    return quotas


def labelled(rows: list[dict[str, Any]], labels: dict[str, str], code: str, label: str) -> None:
    """Each row's `code` named in the reader's language, as `label` (the code itself when
    the vocabulary does not know it)."""
    for row in rows:
        row[label] = _(labels[row[code]]) if row[code] in labels else row[code]


async def has_ordering(ctx: Context) -> bool:
    return bool(
        await ctx.session.scalar(text("SELECT to_regclass('ordering.requests') IS NOT NULL"))
    )


async def monthly_activity(ctx: Context, period: dict[str, Any]) -> list[MonthActivity]:
    """Signatures issued and downloads served, per month and collection."""
    found = await rows(
        ctx,
        """
        WITH s AS (
            SELECT to_char(date_trunc('month', at), 'YYYY-MM') AS month, collection,
                   count(*) AS signatures, 0 AS downloads
            FROM dinamis.signatures
            WHERE (CAST(:scope AS int[]) IS NULL OR entity_id = ANY(CAST(:scope AS int[])))
              AND at >= :start AND at < :end
              AND (CAST(:collection AS text) IS NULL OR collection = :collection)
            GROUP BY 1, 2
        ), d AS (
            SELECT to_char(date_trunc('month', first_at), 'YYYY-MM') AS month, collection,
                   0 AS signatures, count(*) AS downloads
            FROM dinamis.downloads
            WHERE (CAST(:scope AS int[]) IS NULL OR entity_id = ANY(CAST(:scope AS int[])))
              AND first_at >= :start AND first_at < :end
              AND (CAST(:collection AS text) IS NULL OR collection = :collection)
            GROUP BY 1, 2
        )
        SELECT month, collection, sum(signatures)::int AS signatures,
               sum(downloads)::int AS downloads
        FROM (SELECT * FROM s UNION ALL SELECT * FROM d) both_
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        **period,
    )
    return [MonthActivity(**r) for r in found]


async def statistics(ctx: Context, filters: Filters) -> Statistics:
    filters.check()
    scope = await scope_of(ctx, filters)
    period = {"scope": scope, **filters.bounds()}
    categories = await rows(
        ctx,
        "SELECT category AS key, count(*)::int AS count FROM registry.entities "
        "WHERE status = 'active' "
        "AND (CAST(:scope AS int[]) IS NULL OR id = ANY(CAST(:scope AS int[]))) "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        scope=scope,
    )
    months = await rows(
        ctx,
        "SELECT to_char(date_trunc('month', activated_at), 'YYYY-MM') AS key, "
        "count(*)::int AS count FROM registry.entities "
        "WHERE activated_at IS NOT NULL "
        "AND (CAST(:scope AS int[]) IS NULL OR id = ANY(CAST(:scope AS int[]))) "
        "AND activated_at >= :start AND activated_at < :end GROUP BY 1 ORDER BY 1",
        **period,
    )
    accounts = await rows(
        ctx,
        "SELECT status AS key, count(*)::int AS count FROM registry.accounts "
        "WHERE (CAST(:scope AS int[]) IS NULL OR entity_id = ANY(CAST(:scope AS int[]))) "
        "GROUP BY 1 ORDER BY 1",
        scope=scope,
    )
    requests: list[dict[str, Any]] = []
    quotas: list[dict[str, Any]] = []
    if await has_ordering(ctx):
        requests = await rows(
            ctx,
            "SELECT status, family AS sensor, count(*)::int AS count, "
            "coalesce(sum(area_km2), 0)::float AS area_km2 FROM ordering.requests "
            "WHERE (CAST(:scope AS int[]) IS NULL OR entity_id = ANY(CAST(:scope AS int[]))) "
            "AND created_at >= :start AND created_at < :end "
            "GROUP BY 1, 2 ORDER BY 1, 2",
            **period,
        )
        # Per entity, family and calendar year (a quota's period): an entity that ordered
        # with no quota set counts the free quota the desk gives it (none without an entity).
        quotas = await rows(
            ctx,
            """
            WITH q AS (
                SELECT entity_id, family, extract(year FROM period_start)::int AS year,
                       allowed_km2, reserved_km2, used_km2
                FROM ordering.quotas
                WHERE (CAST(:scope AS int[]) IS NULL OR entity_id = ANY(CAST(:scope AS int[])))
                  AND period_start < :end AND period_end >= :start
            ), r AS (
                SELECT entity_id, family,
                       extract(year FROM created_at AT TIME ZONE 'UTC')::int AS year,
                       sum(area_km2) AS ordered
                FROM ordering.requests
                WHERE (CAST(:scope AS int[]) IS NULL OR entity_id = ANY(CAST(:scope AS int[])))
                  AND created_at >= :start AND created_at < :end
                GROUP BY 1, 2, 3
            )
            SELECT family AS sensor,
                   sum(coalesce(
                       q.allowed_km2,
                       CASE WHEN entity_id IS NOT NULL
                            THEN (CAST(:free AS jsonb) ->> family)::float END,
                       0
                   ))::float AS allowed_km2,
                   coalesce(sum(q.reserved_km2), 0)::float AS reserved_km2,
                   coalesce(sum(q.used_km2), 0)::float AS used_km2,
                   coalesce(sum(r.ordered), 0)::float AS ordered_km2
            FROM q FULL JOIN r USING (entity_id, family, year) GROUP BY 1 ORDER BY 1
            """,
            free=json.dumps(free_quotas(ctx)),
            **period,
        )
    labelled(categories, CATEGORIES, "key", "label")
    for row in months:
        row["label"] = month(row["key"])
    labelled(accounts, ACCOUNT_STATUS, "key", "label")
    labelled(requests, request_statuses(ctx), "status", "status_label")
    labelled(requests, ORDERED_SENSORS, "sensor", "sensor_label")
    labelled(quotas, ORDERED_SENSORS, "sensor", "sensor_label")
    relay = ctx.identity.entity_name if scope is not None and ctx.identity else None
    return Statistics(
        scope=relay or "all",
        filters=filters,
        entities_by_category=[Count(**r) for r in categories],
        entities_by_month=[Count(**r) for r in months],
        accounts_by_status=[Count(**r) for r in accounts],
        activity=await monthly_activity(ctx, period),
        requests=[RequestCount(**r) for r in requests],
        quotas=[QuotaUse(**r) for r in quotas],
    )


async def activity(ctx: Context, filters: Filters, relay_id: int | None = None) -> Activity:
    """The relay's partner entities, their accounts, downloads and signatures, requests.
    Instructors name the relay; a relay's referent sees their own."""
    filters.check()
    identity = ctx.identity
    if relay_id is None or identity is None or not identity.has("instructor", "admin"):
        relay_id = relays.relay_of(ctx)
    relay = await ctx.session.scalar(
        text("SELECT name FROM registry.entities WHERE id = :id AND is_relay"), {"id": relay_id}
    )
    if relay is None:
        raise InvalidFields({"id": _("Cette entité n'est pas partenaire relais.")})
    scope = await scope_of(ctx, filters, relay_id)
    period = {"scope": scope, **filters.bounds()}
    partners = await rows(
        ctx,
        "SELECT e.id, e.acronym, e.name, e.status, count(a.id)::int AS accounts "
        "FROM registry.entities e LEFT JOIN registry.accounts a ON a.entity_id = e.id "
        "WHERE e.relay_id = :relay GROUP BY e.id ORDER BY e.name",
        relay=relay_id,
    )
    accounts = await rows(
        ctx,
        "SELECT a.id, e.name AS entity, a.first_name || ' ' || a.last_name AS name, a.email, "
        "a.status, a.expires_on, a.last_sign_in_at FROM registry.accounts a "
        "JOIN registry.entities e ON e.id = a.entity_id "
        "WHERE (CAST(:scope AS int[]) IS NULL OR a.entity_id = ANY(CAST(:scope AS int[]))) "
        "ORDER BY e.name, a.last_name, a.first_name",
        scope=scope,
    )
    requests: list[dict[str, Any]] = []
    if await has_ordering(ctx):
        requests = await rows(
            ctx,
            "SELECT id, entity_name AS entity, product_id AS product, family AS sensor, "
            "status, area_km2, created_at FROM ordering.requests "
            "WHERE (CAST(:scope AS int[]) IS NULL OR entity_id = ANY(CAST(:scope AS int[]))) "
            "AND created_at >= :start AND created_at < :end "
            "ORDER BY created_at DESC LIMIT 500",
            **period,
        )
    labelled(requests, request_statuses(ctx), "status", "status_label")
    labelled(requests, ORDERED_SENSORS, "sensor", "sensor_label")
    return Activity(
        relay_id=relay_id,
        relay=relay,
        filters=filters,
        partners=[PartnerRow(**r) for r in partners],
        accounts=[AccountRow(**r) for r in accounts],
        activity=await monthly_activity(ctx, period),
        requests=[RequestRow(**r) for r in requests],
    )
