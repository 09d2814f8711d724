"""Request-side helpers shared by the API and the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from extensions.identity import SignedIn
from extensions.services import DbSession, ServicesDep
from ordering_plugin.domain.desk import Desk
from ordering_plugin.settings import OrderingSettings


def desk_for(services: ServicesDep, session: DbSession, identity: SignedIn) -> Desk:
    return Desk(
        session=session,
        settings=services.settings.plugin(OrderingSettings),
        mails=services.templates.env,
        identity=identity,
        queue=services.jobs,
        airbus=services.airbus,
        catalogue=services.database,
    )


DeskDep = Annotated[Desk, Depends(desk_for)]
