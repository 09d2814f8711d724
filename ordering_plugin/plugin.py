"""The ordering plugin: its hooks for the core."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from extensions.plugins import Plugin

if TYPE_CHECKING:
    from fastapi import FastAPI
    from procrastinate import Blueprint

    from pgstac.migrate import MigrationSource

HERE = Path(__file__).parent


class OrderingPlugin(Plugin):
    name = "ordering"

    def migrations(self) -> MigrationSource:
        from pgstac.migrate import MigrationSource

        return MigrationSource("ordering", "ordering", HERE / "migrations")

    def templates(self) -> Path:
        return HERE / "templates"

    def jobs(self) -> Blueprint:
        import procrastinate

        from ordering_plugin.connector import register_tasks

        blueprint = procrastinate.Blueprint()
        register_tasks(blueprint)
        return blueprint

    def register(self, app: FastAPI) -> None:
        from ordering_plugin.api import router
        from ordering_plugin.pages import router as pages
        from ordering_plugin.settings import OrderingSettings

        app.state.ordering_settings = OrderingSettings()
        app.include_router(router)
        app.include_router(pages)
