"""The ordering plugin: its hooks for the core."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from extensions.plugins import Plugin
from ordering_plugin.settings import OrderingSettings

if TYPE_CHECKING:
    from fastapi import APIRouter
    from procrastinate import Blueprint
    from sqlalchemy.ext.asyncio import AsyncSession

    from extensions.services import Services
    from extensions.settings import Settings
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

    def template_filters(self) -> dict[str, Callable[..., Any]]:
        from extensions.viewer.pages import messages

        return {"viewer_messages": messages}  # its forms' map speaks with the viewer's words

    def routers(self) -> list[APIRouter]:
        from ordering_plugin.api import router
        from ordering_plugin.pages import router as pages

        return [router, pages]

    def request_statuses(self) -> dict[str, str]:
        from ordering_plugin.domain.workflow import LABELS

        return {status.value: label for status, label in LABELS.items()}

    def free_quotas(self, settings: Settings) -> dict[str, float]:
        return settings.plugin(OrderingSettings).free_quota_km2

    async def entity_holdings(self, session: AsyncSession, entity_id: int) -> dict[str, int]:
        from ordering_plugin.domain.entities import holdings

        return await holdings(session, entity_id)

    async def entity_merged(
        self,
        services: Services,
        session: AsyncSession,
        source_id: int,
        target_id: int,
        target_name: str,
    ) -> dict[str, Any]:
        """The merged entity's projects, requests and free quotas go to the one it was merged
        into (`ordering_plugin.domain.entities.merge_entity` says how quotas are joined)."""
        from ordering_plugin.domain.entities import merge_entity

        settings = services.settings.plugin(OrderingSettings)
        return await merge_entity(session, settings, source_id, target_id, target_name)

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
