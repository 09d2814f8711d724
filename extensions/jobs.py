"""Background work on a PostgreSQL-backed job queue (procrastinate), in its `jobs` schema.

Mail delivery, Airbus polling and deliveries run as jobs: in a worker inside the API process
by default, or in separate `dinamis worker` processes (DINAMIS_JOBS_WORKER=none on the API).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import procrastinate
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from jinja2 import Environment
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from extensions.federation.client import OneAtlasClient

SCHEMA = "jobs"


class JobSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_JOBS_", extra="ignore")

    worker: Literal["in-process", "none"] = "in-process"
    concurrency: int = 2


@dataclass
class JobEnvironment:
    """What tasks need, set once by the process that runs them (API or `dinamis worker`)."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    settings: Any = None
    """The product's settings (stac_api.settings.Settings): database, storage, OneAtlas…"""
    mails: Environment | None = None
    """The templates of mails (the same environment as the pages)."""
    airbus: OneAtlasClient | None = None
    """The process's one OneAtlas client (its token and circuit breaker last across jobs)."""


environment: dict[str, JobEnvironment] = {}


def core_blueprint() -> procrastinate.Blueprint:
    """The core's tasks on a new blueprint: procrastinate binds a blueprint to the one queue
    it is added to, so each queue (API process, worker, test app) gets its own."""
    from extensions.mail.outbox import register_tasks

    blueprint = procrastinate.Blueprint()
    register_tasks(blueprint)
    return blueprint


def current() -> JobEnvironment:
    if "current" not in environment:
        raise RuntimeError("jobs run without a job environment: call use_environment() first")
    return environment["current"]


def use_environment(env: JobEnvironment) -> None:
    environment["current"] = env


def make_jobs(dsn: str, blueprints: dict[str, procrastinate.Blueprint]) -> procrastinate.App:
    """The queue: the core's tasks and each plugin's, namespaced by plugin name (a plugin's
    `jobs()` returns a new blueprint at each call)."""
    connector = procrastinate.PsycopgConnector(
        conninfo=dsn, kwargs={"options": f"-c search_path={SCHEMA}"}, min_size=1, max_size=4
    )
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(core_blueprint(), namespace="core")
    for name, blueprint in blueprints.items():
        app.add_tasks_from(blueprint, namespace=name)
    return app
