"""Plugins: optional parts of the product (the registry, the ordering desk).

Each plugin is a `Plugin` found through the `dinamis.plugins` entry point group and loaded
only when its name is in the allow-list `DINAMIS_PLUGINS`. Each extension point is one hook
that returns a value (as datasette's hooks do); the core calls them while it builds the app
and the services, and plugins reach each other only through what the core defines (identity,
rights, mail, jobs, the hooks by which the others follow a registry event: an entity merge,
`entity_merged`, and what one lends another's pages: the words of `request_statuses`, the
default quotas of `free_quotas`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from extensions.entry_points import GROUP

if TYPE_CHECKING:
    from fastapi import APIRouter
    from procrastinate import Blueprint
    from pydantic_settings import BaseSettings
    from sqlalchemy.ext.asyncio import AsyncSession
    from typer import Typer

    from extensions.access import AccessPolicy
    from extensions.database import Database
    from extensions.identity import IdentityProvider
    from extensions.services import Services
    from extensions.settings import Settings
    from pgstac.migrate import MigrationReport, MigrationSource

DEFAULT_PLUGINS = ("registry", "ordering")


class Plugin:
    """The hooks a plugin may implement; each has a do-nothing default."""

    name = ""
    settings_model: type[BaseSettings] | None = None
    """Its settings (read from the environment with the others): `settings.plugin(Model)`."""

    def migrations(self) -> MigrationSource | None:
        """The plugin's schema and Alembic history, upgraded by `dinamis db migrate`."""
        return None

    def initialize(self, dsn: str) -> list[str]:
        """Load the reference data the plugin needs, after its migrations (idempotent);
        returns what changed."""
        return []

    def templates(self) -> Path | None:
        """A folder of Jinja2 templates (pages and mails) added to the shared environment."""
        return None

    def template_filters(self) -> dict[str, Callable[..., Any]]:
        """Jinja2 filters its templates use."""
        return {}

    def jobs(self) -> Blueprint | None:
        """Background tasks, run by the in-process worker or `dinamis worker`: a new
        blueprint at each call (procrastinate binds a blueprint to one queue). Tasks read
        the services from their context (`extensions.services.job_services`)."""
        return None

    def routers(self) -> list[APIRouter]:
        """Its routes and pages."""
        return []

    def links(self, base_url: str) -> list[dict[str, Any]]:
        """Links the landing page gives to its APIs (`base_url` ends with a slash)."""
        return []

    def licence_links(self, codes: Sequence[str], base_url: str) -> list[dict[str, Any]]:
        """`license` links to the documents of these licences (a collection's
        `dinamis:licences`), when the plugin publishes them."""
        return []

    def commands(self) -> Typer | None:
        """A group of `dinamis` commands (its name is the Typer's: `dinamis accounts …`)."""
        return None

    def identity_provider(self, settings: Settings, database: Database) -> IdentityProvider | None:
        """Who is calling (the first plugin answering is used)."""
        return None

    def access_policy(self, settings: Settings, database: Database) -> AccessPolicy | None:
        """What a caller may download (the first plugin answering is used)."""
        return None

    async def startup(self, services: Services) -> None:
        """Checks to run once the database is reachable; raise to refuse to start."""

    def request_statuses(self) -> dict[str, str]:
        """The statuses of the imagery requests it keeps, each with its label (French, marked
        for translation): how the registry's statistics and relay pages name them."""
        return {}

    def free_quotas(self, settings: Settings) -> dict[str, float]:
        """The free quota (km²) per sensor family and year it gives an entity that has none
        set: what the registry's statistics count for such an entity."""
        return {}

    async def entity_holdings(self, session: AsyncSession, entity_id: int) -> dict[str, int]:
        """How many rows of each kind the plugin keeps for a registry entity: what merging
        it into another would carry (shown before an instructor confirms a merge)."""
        return {}

    async def entity_merged(
        self,
        services: Services,
        session: AsyncSession,
        source_id: int,
        target_id: int,
        target_name: str,
    ) -> dict[str, Any]:
        """The registry merged the entity `source_id` into `target_id`: carry what the plugin
        keeps for the source over to the target, in the merge's own transaction (`session`,
        committed by the registry with the merge, or rolled back with it). Returns what it
        did, for the merge's audit row."""
        return {}


def load_plugins(allowed: Sequence[str]) -> list[Plugin]:
    """The installed plugins named in the allow-list, in the order of the list."""
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    plugins = []
    for name in allowed:
        if name in found:
            loaded = found[name].load()
            plugins.append(loaded() if isinstance(loaded, type) else loaded)
    return plugins


def migration_sources(plugins: Sequence[Plugin]) -> tuple[MigrationSource, ...]:
    """The schemas to migrate: the core's, then each plugin's that has one."""
    from pgstac.migrate import CORE_MIGRATIONS

    return (CORE_MIGRATIONS, *(s for p in plugins if (s := p.migrations())))


def migrate_all(dsn: str, plugins: Sequence[Plugin]) -> tuple[MigrationReport, list[str]]:
    """Migrate pgstac, the core and each plugin's schema, then load the core's gazetteer and
    the plugins' reference data; returns the report and what changed."""
    from extensions.places import load_places
    from pgstac.migrate import migrate

    report = migrate(dsn, migration_sources(plugins))
    changes = load_places(dsn)
    changes += [line for plugin in plugins for line in plugin.initialize(dsn)]
    return report, changes
