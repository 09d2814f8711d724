"""The registry plugin: its hooks for the core."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from extensions.plugins import Plugin

if TYPE_CHECKING:
    from fastapi import FastAPI

    from pgstac.migrate import MigrationSource

HERE = Path(__file__).parent


class RegistryPlugin(Plugin):
    name = "registry"

    def migrations(self) -> MigrationSource:
        from pgstac.migrate import MigrationSource

        return MigrationSource("registry", "registry", HERE / "migrations")

    def templates(self) -> Path:
        return HERE / "templates"

    def initialize(self, dsn: str) -> list[str]:
        from registry_plugin.demo import initialize

        return asyncio.run(initialize(dsn))

    def register(self, app: FastAPI) -> None:
        from registry_plugin import api
        from registry_plugin.access import RegistryAccessPolicy
        from registry_plugin.identity import RegistryIdentityProvider
        from registry_plugin.pages import routers
        from registry_plugin.pages.common import FILTERS
        from registry_plugin.settings import RegistrySettings

        app.state.registry_settings = RegistrySettings()
        app.state.identity_provider = RegistryIdentityProvider()
        app.state.access_policy = RegistryAccessPolicy()
        app.state.templates.env.filters.update(FILTERS)
        app.include_router(api.auth_router)
        app.include_router(api.router)
        for router in routers:
            app.include_router(router)

    async def startup(self, app: FastAPI) -> None:
        """Production refuses to start while the demo accounts (whose password is public)
        exist."""
        from sqlalchemy import select

        from registry_plugin.demo import DEMO_EMAILS
        from registry_plugin.models import Account

        if app.state.web_settings.mode != "production":
            return
        async with app.state.sessions() as session:
            found = list(
                await session.scalars(select(Account.email).where(Account.email.in_(DEMO_EMAILS)))
            )
        if found:
            raise RuntimeError(
                "Production mode refuses to start: the demo accounts "
                f"{', '.join(sorted(found))} exist (their password is public). "
                "Use a database without the demo data."
            )

    def load_demo(self, dsn: str) -> list[str]:
        from registry_plugin.demo import load_demo

        return asyncio.run(load_demo(dsn))
