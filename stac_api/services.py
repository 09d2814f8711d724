"""`open_services(settings)`: the one place where the product's services are built, for the
API (its lifespan), `dinamis worker` and the commands that need them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from extensions.assets import AssetHrefs, make_storage
from extensions.database import Database
from extensions.facets import facets_tasks
from extensions.federation.client import OneAtlasClient
from extensions.federation.search import Federation
from extensions.jobs import make_jobs
from extensions.mail import mail_tasks
from extensions.observability import carry_request_ids, observe_airbus
from extensions.plugins import Plugin, load_plugins
from extensions.ratelimit import RateLimiter
from extensions.search.plan import known_collections, known_queryables
from extensions.services import Services
from extensions.settings import Settings
from extensions.signing import Signer
from extensions.viewer.pages import TEMPLATES as VIEWER_TEMPLATES
from extensions.web import make_templates

AIRBUS_SERVICES = ("auth", "search", "access", "data", "tasking")


@asynccontextmanager
async def open_services(
    settings: Settings, name: str = "dinamis-api", plugins: list[Plugin] | None = None
) -> AsyncIterator[Services]:
    """Open the database lanes and the job queue, build everything else; close all after."""
    plugins = load_plugins(settings.plugins) if plugins is None else plugins
    signer = Signer(settings.web.secret_keys, settings.signing)
    templates = make_templates(
        [VIEWER_TEMPLATES, *(folder for p in plugins if (folder := p.templates()))],
        settings.web.public_url,
        {k: f for p in plugins for k, f in p.template_filters().items()},
    )
    own = {"core": mail_tasks(), "facets": facets_tasks()}
    jobs = make_jobs({**own, **{p.name: bp for p in plugins if (bp := p.jobs())}})
    carry_request_ids(jobs)
    airbus = OneAtlasClient(settings.oneatlas)
    observe_airbus(
        airbus.http, {getattr(settings.oneatlas, f"{n}_url"): n for n in AIRBUS_SERVICES}
    )
    async with Database.open(settings.database, name) as database:
        try:
            async with jobs.open_async(database.pool):
                yield Services(
                    settings=settings,
                    database=database,
                    jobs=jobs,
                    templates=templates,
                    signer=signer,
                    hrefs=AssetHrefs(signer, make_storage(settings.storage)),
                    airbus=airbus,
                    federation=Federation(airbus, signer, database),
                    collections=known_collections(database),
                    queryables=known_queryables(database),
                    rate_limiter=RateLimiter(settings.rate_limits, database),
                    identity=next(
                        (i for p in plugins if (i := p.identity_provider(settings, database))),
                        None,
                    ),
                    access=next(
                        (a for p in plugins if (a := p.access_policy(settings, database))), None
                    ),
                    plugins=tuple(plugins),
                )
        finally:
            await airbus.close()
