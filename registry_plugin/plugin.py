"""The registry plugin: its hooks for the core."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from extensions.plugins import Plugin
from registry_plugin.settings import RegistrySettings

if TYPE_CHECKING:
    from fastapi import APIRouter
    from procrastinate import Blueprint
    from typer import Typer

    from extensions.access import AccessPolicy
    from extensions.database import Database
    from extensions.identity import IdentityProvider
    from extensions.services import Services
    from extensions.settings import Settings
    from pgstac.migrate import MigrationSource

HERE = Path(__file__).parent


class RegistryPlugin(Plugin):
    name = "registry"
    settings_model = RegistrySettings

    def migrations(self) -> MigrationSource:
        from pgstac.migrate import MigrationSource

        return MigrationSource("registry", "registry", HERE / "migrations")

    def initialize(self, dsn: str) -> list[str]:
        from registry_plugin.domain.licences import publish_licences

        return asyncio.run(publish_licences(dsn))

    def jobs(self) -> Blueprint:
        """The lifecycle of accounts, missions and adhesions, every hour."""
        import procrastinate

        from registry_plugin.domain.lifecycle import register_tasks

        blueprint = procrastinate.Blueprint()
        register_tasks(blueprint)
        return blueprint

    def commands(self) -> Typer:
        from registry_plugin.cli import accounts_app

        return accounts_app

    def templates(self) -> Path:
        return HERE / "templates"

    def template_filters(self) -> dict[str, Callable[..., Any]]:
        from registry_plugin.pages.common import FILTERS

        return FILTERS

    def routers(self) -> list[APIRouter]:
        from registry_plugin import api
        from registry_plugin.pages import routers

        return [api.auth_router, api.router, *routers]

    def links(self, base_url: str) -> list[dict[str, Any]]:
        return [
            {
                "rel": "licences",
                "href": f"{base_url}registry/licences",
                "type": "application/json",
                "title": "The charter and the licences that grant downloads",
            },
            {
                "rel": "token",
                "href": f"{base_url}auth/token",
                "type": "application/json",
                "method": "POST",
                "title": "Sign in (OAuth2 password form): a bearer token",
            },
        ]

    def licence_links(self, codes: Sequence[str], base_url: str) -> list[dict[str, Any]]:
        from registry_plugin.domain.licences import CHARTER

        titles = licence_titles()
        return [
            {
                "rel": "license",
                "href": f"{base_url}registry/licences/{code}",
                "type": "text/plain",
                "title": titles.get(code, code),
            }
            for code in dict.fromkeys([CHARTER, *codes])
        ]

    def identity_provider(self, settings: Settings, database: Database) -> IdentityProvider:
        from registry_plugin.identity import RegistryIdentityProvider

        return RegistryIdentityProvider(settings.plugin(RegistrySettings).oidc, database)

    def access_policy(self, settings: Settings, database: Database) -> AccessPolicy:
        from registry_plugin.domain.rights import RegistryAccessPolicy

        return RegistryAccessPolicy(database)

    async def startup(self, services: Services) -> None:
        """Production refuses to start while the demo accounts (whose password is public)
        exist."""
        from registry_plugin.domain.accounts import demo_accounts

        if not services.settings.production:
            return
        async with services.database.session() as session:
            found = await demo_accounts(session)
        if found:
            raise RuntimeError(
                "Production mode refuses to start: the demo accounts "
                f"{', '.join(sorted(found))} exist (their password is public). "
                "Use a database without the demo data."
            )


@cache
def licence_titles() -> dict[str, str]:
    from registry_plugin.domain.licences import read_licences

    return {entry["code"]: entry["title"] for entry in read_licences()}
