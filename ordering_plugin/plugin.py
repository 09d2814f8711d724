"""The ordering plugin: its hooks for the core."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from extensions.plugins import Plugin
from ordering_plugin.settings import OrderingSettings

if TYPE_CHECKING:
    from fastapi import APIRouter
    from procrastinate import Blueprint

    from pgstac.migrate import MigrationSource

HERE = Path(__file__).parent


class OrderingPlugin(Plugin):
    name = "ordering"
    settings_model = OrderingSettings

    def migrations(self) -> MigrationSource:
        from pgstac.migrate import MigrationSource

        return MigrationSource("ordering", "ordering", HERE / "migrations")

    def templates(self) -> Path:
        return HERE / "templates"

    def jobs(self) -> Blueprint:
        import procrastinate

        from ordering_plugin.domain.connector import register_tasks

        blueprint = procrastinate.Blueprint()
        register_tasks(blueprint)
        return blueprint

    def routers(self) -> list[APIRouter]:
        from ordering_plugin.api import router
        from ordering_plugin.pages import router as pages

        return [router, pages]

    def links(self, base_url: str) -> list[dict[str, Any]]:
        from ordering_plugin.api import PREFIX

        return [
            {
                "rel": "ordering",
                "href": base_url + PREFIX.lstrip("/"),
                "type": "application/json",
                "title": "Ordering API (STAPI): archive and tasking requests",
            }
        ]
