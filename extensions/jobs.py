"""Background work on a PostgreSQL-backed job queue (procrastinate), in its `jobs` schema.

Mail delivery, Airbus polling and deliveries run as jobs: in a worker inside the API process
by default, or in separate `dinamis worker` processes (DINAMIS_JOBS_WORKER=none on the API).
A task reads the services of the process running it from its context
(`extensions.services.job_services`).
"""

from __future__ import annotations

from typing import Literal

import procrastinate
from pydantic_settings import BaseSettings, SettingsConfigDict

SCHEMA = "jobs"


class JobSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_JOBS_", extra="ignore")

    worker: Literal["in-process", "none"] = "in-process"
    concurrency: int = 2
    shutdown_seconds: float = 30.0
    """How long a stopping worker waits for its running jobs before cancelling them (a
    cancelled job runs again later)."""


STALLED_SECONDS = 60
"""A job whose worker has sent no heartbeat for this long is run again."""


async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    """A job whose worker died (killed, its machine lost) stays `doing` for ever: run it again
    (tasks are written to be run again safely: deliveries and submissions check what is
    done)."""
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_SECONDS):
        await manager.retry_job(job)


def queue_tasks() -> procrastinate.Blueprint:
    """The queue's own upkeep, on a new blueprint."""
    blueprint = procrastinate.Blueprint()
    retry = blueprint.task(
        name="retry_stalled_jobs", queueing_lock="retry_stalled_jobs", pass_context=True
    )
    blueprint.periodic(cron="* * * * *")(retry(retry_stalled_jobs))
    return blueprint


def make_jobs(blueprints: dict[str, procrastinate.Blueprint]) -> procrastinate.App:
    """The queue, with each part's tasks namespaced by its name (`core:deliver_mail`,
    `ordering:submit`); it is opened on the application lane's pool
    (`jobs.open_async(database.pool)`). Each blueprint must be new: procrastinate binds a
    blueprint to the one queue it is added to."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector())
    for name, blueprint in {"queue": queue_tasks(), **blueprints}.items():
        app.add_tasks_from(blueprint, namespace=name)
    return app
