"""What an operator watches: liveness and readiness probes, Prometheus metrics, JSON logs.

- `GET /healthz`: the process answers (liveness; no database call, so that a database outage
  does not get every replica restarted).
- `GET /readyz`: the database is reachable, every schema is migrated to the head this version
  ships, the job queue answers (readiness: a load balancer sends no traffic before).
- `GET /metrics`: Prometheus' text format, for the bearer `DINAMIS_METRICS_TOKEN` only (the
  numbers tell who downloads how much; a scraper needs no admin rights).
- Every request has an id: the `X-Request-ID` a proxy sent (when it looks like one) or a new
  one, answered in the same header, written in each log line of the request, and carried into
  the jobs it defers (`carry_request_ids`), whose log lines carry it too.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import attr
from fastapi import APIRouter, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from pythonjsonlogger.json import JsonFormatter
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extensions.errors import AuthenticationRequired, PermissionDenied
from extensions.i18n import _
from extensions.plugins import migration_sources
from extensions.services import services_of
from extensions.signing import same

if TYPE_CHECKING:
    import procrastinate
    import psycopg

    from extensions.plugins import Plugin
    from extensions.services import Services
    from pgstac.migrate import MigrationSource

F = TypeVar("F", bound=Callable[..., Any])

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_KWARG = "_request_id"
"""The job argument carrying the id of the request that deferred the job."""
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

access_log = logging.getLogger("dinamis.access")


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class ObservabilitySettings(BaseSettings):
    """Logs and metrics (`DINAMIS_LOG_LEVEL`, `DINAMIS_LOG_FORMAT`, `DINAMIS_METRICS_TOKEN`)."""

    model_config = SettingsConfigDict(env_prefix="DINAMIS_", extra="ignore")

    log_level: LogLevel = LogLevel.INFO
    """Least severe level written (`dinamis --log-level` overrides it)."""
    log_format: LogFormat = LogFormat.JSON
    """`json`: one object a line for a log collector; `text` for a person at a terminal."""
    metrics_token: SecretStr | None = None
    """Bearer token Prometheus sends to `GET /metrics`; none: the metrics are not served."""


# -- logs -------------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Writes the current request's (or job's) id into each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class StandardError(logging.StreamHandler):
    """Writes to the standard error of the moment (a test runner swaps and closes its own)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(level: LogLevel | str, log_format: LogFormat | str) -> None:
    """The process's one handler, on standard error; uvicorn and procrastinate log through it."""
    handler = StandardError()
    handler.addFilter(RequestIdFilter())
    if LogFormat(log_format) is LogFormat.JSON:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LogLevel(str(level).upper()).value)


# -- metrics ----------------------------------------------------------------------------------

REQUEST_SECONDS = Histogram(
    "dinamis_http_request_duration_seconds",
    "Time to answer a request, by route template.",
    ["method", "route", "status"],
)
SEARCH_SECONDS = Histogram(
    "dinamis_search_duration_seconds",
    "Time to run a search page or an aggregate's counts (both archives).",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
COUNTS = Counter(
    "dinamis_counts_total",
    "Exact counts of searches (numberMatched, facets): made, or kept from an earlier one the"
    " catalogue has not changed since.",
    ["outcome"],
)
SIGNATURES = Counter("dinamis_signatures_total", "Signed asset URLs issued.", ["via"])
DOWNLOADS = Counter(
    "dinamis_downloads_total", "Requests of signed asset URLs served.", ["collection"]
)
AIRBUS_SECONDS = Histogram(
    "dinamis_airbus_request_duration_seconds",
    "Calls to the Airbus OneAtlas APIs, by service and status.",
    ["service", "status"],
)
JOB_RUNS = Counter(
    "dinamis_job_runs_total", "Jobs run by this process, by task and outcome.", ["task", "outcome"]
)
JOBS = Gauge(
    "dinamis_jobs", "Jobs in the queue by queue and status (read at scrape).", ["queue", "status"]
)


def timed(kind: str) -> Callable[[F], F]:
    """Observes an async function's duration in `dinamis_search_duration_seconds{kind}`."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        async def run(*args: Any, **kwargs: Any) -> Any:
            with SEARCH_SECONDS.labels(kind).time():
                return await function(*args, **kwargs)

        return run  # type: ignore[return-value]

    return decorate


def route_template(scope: Scope, root_path: str) -> str:
    """The route that served the request (`/collections/{collection_id}/items`): a label of
    bounded cardinality. A mounted app (static files) is its prefix."""
    route = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path)
    mounted = scope.get("root_path", "")
    if mounted != root_path and mounted.startswith(root_path):
        return mounted[len(root_path) :] + "/{path}"
    return "unmatched"


class RequestObservation:
    """Gives each request its id (in, out, logs, jobs), times it by route and logs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        rid = sent if _ACCEPTED_ID.fullmatch(sent) else uuid.uuid4().hex
        token = request_id.set(rid)
        root_path = scope.get("root_path", "")
        status = 500
        started = time.perf_counter()

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope, root_path)
            REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(seconds)
            access_log.info(
                "%s %s %s %.1f ms",
                scope["method"],
                scope["path"],
                status,
                seconds * 1000,
                extra={"method": scope["method"], "route": route, "status": status},
            )
            request_id.reset(token)


def observe_airbus(http: Any, services: dict[str, str]) -> None:
    """Times each call of an httpx client to the Airbus APIs; `services` maps a base URL to
    its name (auth, search, access…)."""

    async def started(request: Any) -> None:
        request.extensions["dinamis_started"] = time.perf_counter()

    async def answered(response: Any) -> None:
        url = str(response.request.url)
        service = next((name for base, name in services.items() if url.startswith(base)), "other")
        began = response.request.extensions.get("dinamis_started", time.perf_counter())
        AIRBUS_SECONDS.labels(service, str(response.status_code)).observe(
            time.perf_counter() - began
        )

    http.event_hooks["request"].append(started)
    http.event_hooks["response"].append(answered)


# -- jobs carry the request's id --------------------------------------------------------------


def carry_request_ids(jobs: procrastinate.App) -> None:
    """A job deferred while serving a request keeps its id (an extra job argument) and runs
    with it in its log lines; each run is counted by outcome."""
    manager = jobs.job_manager
    defer = manager.batch_defer_jobs_async

    async def defer_with_id(jobs: list[Any], connection: Any = None) -> list[Any]:
        if (rid := request_id.get()) is not None:
            jobs = [
                attr.evolve(j, task_kwargs={**j.task_kwargs, REQUEST_ID_KWARG: rid}) for j in jobs
            ]
        return await defer(jobs=jobs, connection=connection)

    manager.batch_defer_jobs_async = defer_with_id  # type: ignore[method-assign]
    for task in jobs.tasks.values():
        task.func = _with_request_id(task.name, task.func)


def _with_request_id(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    if not inspect.iscoroutinefunction(function):
        return function  # every task of the product is async; the others run as they are

    @functools.wraps(function)
    async def run(*args: Any, **kwargs: Any) -> Any:
        token = request_id.set(kwargs.pop(REQUEST_ID_KWARG, None))
        try:
            result = await function(*args, **kwargs)
        except BaseException:
            JOB_RUNS.labels(name, "failed").inc()
            raise
        finally:
            request_id.reset(token)
        JOB_RUNS.labels(name, "succeeded").inc()
        return result

    return run


# -- probes and the metrics route -------------------------------------------------------------

READY_TIMEOUT_SECONDS = 5.0


@functools.cache
def migration_heads(sources: tuple[MigrationSource, ...]) -> dict[str, tuple[str, ...]]:
    """The head revision(s) this version ships, by schema (read from its migration scripts)."""
    from alembic.script import ScriptDirectory

    from pgstac.migrate import alembic_config

    return {
        source.schema: tuple(
            ScriptDirectory.from_config(alembic_config("postgresql://", source)).get_heads()
        )
        for source in sources
    }


async def migrations_behind(
    conn: psycopg.AsyncConnection[Any], plugins: Sequence[Plugin]
) -> list[str]:
    """What is not at this version's head: pgstac, then each schema."""
    from pgstac import PGSTAC_VERSION

    behind = []
    row = await (await conn.execute("SELECT pgstac.get_version()")).fetchone()
    if not row or row[0] != PGSTAC_VERSION:
        behind.append(f"pgstac {row[0] if row else None}, expected {PGSTAC_VERSION}")
    for schema, heads in migration_heads(migration_sources(plugins)).items():
        cursor = await conn.execute(f'SELECT version_num FROM "{schema}".alembic_version')  # noqa: S608 - schema from code
        found = tuple(sorted(r[0] for r in await cursor.fetchall()))
        if found != tuple(sorted(heads)):
            behind.append(
                f"schema {schema} at {', '.join(found) or 'none'}, expected {', '.join(heads)}"
            )
    return behind


async def readiness(services: Services) -> dict[str, str]:
    """Each check's outcome: `ok` or what is wrong."""
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with services.database.pool.connection() as conn:
                await conn.execute("SELECT 1")
                checks["database"] = "ok"
                behind = await migrations_behind(conn, services.plugins)
                await conn.rollback()
        checks["migrations"] = (
            "ok" if not behind else "behind: " + "; ".join(behind) + " (run `dinamis db migrate`)"
        )
    except Exception as exc:
        checks.setdefault("database", f"unreachable: {exc or type(exc).__name__}")
        checks.setdefault("migrations", "unknown")
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            reachable = await services.jobs.check_connection_async()
        checks["jobs"] = "ok" if reachable else "the queue's tables are missing"
    except Exception as exc:
        checks["jobs"] = f"unreachable: {exc or type(exc).__name__}"
    return checks


async def count_jobs(services: Services) -> None:
    """Sets `dinamis_jobs` from the queue: its depth and its failures, shared by every worker."""
    async with services.database.pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2"
        )
        rows = await cursor.fetchall()
    JOBS.clear()
    for queue, status, n in rows:
        JOBS.labels(queue, status).set(n)


bearer = HTTPBearer(auto_error=False, description="DINAMIS_METRICS_TOKEN")


async def require_scraper(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> None:
    expected = services_of(request).settings.observability.metrics_token
    if expected is None:
        raise PermissionDenied(
            _(
                "Les métriques ne sont pas servies : définissez DINAMIS_METRICS_TOKEN et "
                "envoyez-le comme jeton bearer."
            )
        )
    if credentials is None:
        raise AuthenticationRequired(
            _("Les métriques demandent `Authorization: Bearer <jeton des métriques>`.")
        )
    if not same(credentials.credentials, expected.get_secret_value()):
        raise PermissionDenied(_("Le jeton des métriques n'est pas valide."))


def observability_router() -> APIRouter:
    router = APIRouter(tags=["Operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @router.get(
        "/readyz",
        summary="Readiness: database reachable, migrations at head, job queue reachable",
        responses={503: {"description": "Not ready: the checks say what is wrong"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        checks = await readiness(services_of(request))
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
            headers={"Cache-Control": "no-store"},
        )

    @router.get("/metrics", include_in_schema=False, dependencies=[Security(require_scraper)])
    async def metrics(request: Request) -> Response:
        await count_jobs(services_of(request))
        return Response(
            generate_latest(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
        )

    return router
