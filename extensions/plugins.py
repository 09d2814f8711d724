"""Plugins: optional parts of the product (the registry, the ordering desk).

Each plugin is a `Plugin` found through the `dinamis.plugins` entry point group and loaded
only when its name is in the allow-list `DINAMIS_PLUGINS`. The core calls these hooks, and
plugins reach each other only through the core's interfaces (identity, mail, jobs).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BeforeValidator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from fastapi import FastAPI
    from procrastinate import Blueprint

    from pgstac.migrate import MigrationReport, MigrationSource

GROUP = "dinamis.plugins"


def _names(value: object) -> object:
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


class PluginSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_", extra="ignore")

    plugins: Annotated[list[str], NoDecode, BeforeValidator(_names)] = ["registry", "ordering"]
    """The plugins to load, by entry-point name; a name not installed is skipped."""


class Plugin:
    """The hooks a plugin may implement; each has a do-nothing default."""

    name = ""

    def migrations(self) -> MigrationSource | None:
        """The plugin's schema and Alembic history, upgraded by `dinamis db migrate`."""
        return None

    def templates(self) -> Path | None:
        """A folder of Jinja2 templates (pages and mails) added to the shared environment."""
        return None

    def jobs(self) -> Blueprint | None:
        """Background tasks, run by the in-process worker or `dinamis worker`: a new
        blueprint at each call (procrastinate binds a blueprint to one queue)."""
        return None

    def initialize(self, dsn: str) -> list[str]:
        """Load the reference data the plugin needs, after its migrations (idempotent);
        returns what changed."""
        return []

    def register(self, app: FastAPI) -> None:
        """Mount routes and pages; set the identity provider when the plugin has one."""

    async def startup(self, app: FastAPI) -> None:
        """Checks to run once the database is reachable; raise to refuse to start."""

    def load_demo(self, dsn: str) -> list[str]:
        """Load the plugin's demo data (idempotently); returns lines to show the user."""
        return []


def load_plugins(allowed: Sequence[str] | None = None) -> list[Plugin]:
    """The installed plugins named in the allow-list, in the order of the list."""
    allowed = PluginSettings().plugins if allowed is None else allowed
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    plugins = []
    for name in allowed:
        if name in found:
            loaded = found[name].load()
            plugins.append(loaded() if isinstance(loaded, type) else loaded)
    return plugins


def migrate_all(
    dsn: str, plugins: Sequence[Plugin] | None = None
) -> tuple[MigrationReport, list[str]]:
    """Migrate pgstac, the core and each plugin's schema, then load the core's gazetteer and
    the plugins' reference data; returns the report and what changed."""
    from extensions.places import load_places
    from pgstac.migrate import CORE_MIGRATIONS, migrate

    plugins = load_plugins() if plugins is None else plugins
    report = migrate(dsn, [CORE_MIGRATIONS, *[s for p in plugins if (s := p.migrations())]])
    changes = load_places(dsn)
    changes += [line for plugin in plugins for line in plugin.initialize(dsn)]
    return report, changes
