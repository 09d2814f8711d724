"""What the product's parts share, built once per process from the settings
(`stac_api.services.open_services`): the API's routes get it through `ServicesDep`, jobs
through their context (`job_services`), the CLI from `open_services` itself.

This module only declares the container; the parts it holds are imported for typing only,
so that every part may depend on it without an import cycle.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    import procrastinate
    from fastapi.templating import Jinja2Templates

    from extensions.access import AccessPolicy
    from extensions.assets.hrefs import AssetHrefs
    from extensions.database import Database
    from extensions.federation.client import OneAtlasClient
    from extensions.federation.search import Federation
    from extensions.identity import IdentityProvider
    from extensions.plugins import Plugin
    from extensions.ratelimit import RateLimiter
    from extensions.search.plan import KnownNames
    from extensions.settings import Settings
    from extensions.signing import Signer


@dataclass(frozen=True)
class Services:
    settings: Settings
    database: Database
    """The catalogue lane (`read()`, `write()`) and the application lane (`session()`)."""
    jobs: procrastinate.App
    """The job queue: `jobs.configure_task(name).defer_async(…)`."""
    templates: Jinja2Templates
    """Pages and mails: the core's templates and each plugin's."""
    signer: Signer
    hrefs: AssetHrefs
    """Asset storage and how asset hrefs appear to each caller."""
    airbus: OneAtlasClient
    """The process's one OneAtlas client (its token and circuit breaker are shared)."""
    federation: Federation
    collections: KnownNames
    """The catalogue's collection ids, to refuse searches of unknown ones."""
    queryables: KnownNames
    """What searches may filter and sort on."""
    rate_limiter: RateLimiter
    identity: IdentityProvider | None
    """Who is calling (a plugin's); None: everybody is anonymous."""
    access: AccessPolicy | None
    """What a caller may download (a plugin's); None: nobody downloads."""
    plugins: tuple[Plugin, ...]


def services_of(request: Request) -> Services:
    """The services of the app serving this request."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(services_of)]


async def session_of(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    """One session of the application lane per request; the route commits what it changes."""
    async with services.database.session() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(session_of)]


def job_services(context: procrastinate.JobContext) -> Services:
    """The services of the worker running this job (`run_worker_async(additional_context=…)`)."""
    services: Services = context.additional_context["services"]
    return services
