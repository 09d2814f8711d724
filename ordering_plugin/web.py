"""Request-side helpers shared by the API and the pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends

from extensions.bodies import size
from extensions.i18n import _
from extensions.identity import SignedIn
from extensions.services import DbSession, ServicesDep
from ordering_plugin.domain.desk import Desk
from ordering_plugin.settings import OrderingSettings

if TYPE_CHECKING:
    from extensions.settings import Settings


def desk_for(services: ServicesDep, session: DbSession, identity: SignedIn) -> Desk:
    return Desk(
        session=session,
        settings=services.settings.plugin(OrderingSettings),
        mails=services.templates.env,
        identity=identity,
        queue=services.jobs,
        languages=services.identity.languages if services.identity else None,
        airbus=services.airbus,
        catalogue=services.database,
    )


DeskDep = Annotated[Desk, Depends(desk_for)]


def aoi_file(settings: Settings) -> tuple[int, str]:
    """The area of interest files accepted (`accepts_file`), and the refusal of a larger one."""
    max_bytes = settings.plugin(OrderingSettings).upload_max_mb * 2**20
    return max_bytes, _("Un fichier de zone d'intérêt fait au plus %(size)s.", size=size(max_bytes))
