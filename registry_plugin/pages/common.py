"""What the registry's pages share: showing a form's errors, the identity, the draft cookie."""

from __future__ import annotations

import unicodedata
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature
from pydantic import BaseModel, ValidationError

from extensions.errors import AuthenticationRequired
from extensions.i18n import N_, _, language
from extensions.identity import Identity
from extensions.services import services_of
from extensions.web import signer
from registry_plugin.schemas import field_errors
from registry_plugin.vocabulary import country_name

DRAFT_COOKIE = "dinamis_draft"
M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], values: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """The model, or the French message of each wrong field."""
    try:
        return model.model_validate(values), {}
    except ValidationError as exc:
        return None, field_errors(exc)


def identity_of(request: Request) -> Identity:
    """The signed-in identity; the sign-in page otherwise."""
    identity: Identity | None = request.scope.get("identity")
    if identity is None:
        raise AuthenticationRequired(_("Connectez-vous pour continuer."))
    return identity


def set_draft_cookie(response: Response, request: Request, draft_id: str) -> None:
    response.set_cookie(
        DRAFT_COOKIE,
        signer(request, "draft").dumps(draft_id),
        max_age=48 * 3600,
        httponly=True,
        samesite="lax",
        secure=services_of(request).settings.secure_cookies,
    )


def draft_id(request: Request) -> str | None:
    raw = request.cookies.get(DRAFT_COOKIE)
    if not raw:
        return None
    try:
        value: str = signer(request, "draft").loads(raw)
    except BadSignature:
        return None
    return value


ROLE_LABELS = {
    "user": N_("utilisateur"),
    "referent": N_("Référent DINAMIS"),
    "legal_representative": N_("représentant légal"),
    "instructor": N_("instructeur"),
    "admin": N_("administrateur"),
    "relay": N_("partenaire relais"),
}


def role_label(role: str) -> str:
    return _(ROLE_LABELS.get(role, role))


def of(name: str) -> str:
    """« de » before a name, elided before a vowel or a mute h: « d'Alfred », « de Jane »
    (in English: « of Jane »)."""
    if language() != "fr":
        return f"of {name}"
    first = unicodedata.normalize("NFD", name.strip()[:1]).casefold()[:1]
    return f"d'{name}" if first and first in "aeiouyh" else f"de {name}"


OUTBOX_STATUS = {
    "queued": N_("En attente d'envoi"),
    "sent": N_("Envoyé"),
    "stored": N_("Conservé ici (pas de SMTP)"),
    "failed": N_("Échec de l'envoi"),
}


def outbox_status(status: str) -> str:
    return _(OUTBOX_STATUS.get(status, status))


def mission_box(mission: Any) -> dict[str, float]:
    """A mission's extent: the form's four values, or the bounds of its stored polygon."""
    if isinstance(mission, dict) and "north" in mission:
        return {k: mission[k] for k in ("north", "south", "east", "west")}
    area = mission["area"] if isinstance(mission, dict) else mission.area
    xs = [x for x, _ in area["coordinates"][0]]
    ys = [y for _, y in area["coordinates"][0]]
    return {"north": max(ys), "south": min(ys), "east": max(xs), "west": min(xs)}


FILTERS = {
    "role_label": role_label,
    "mission_box": mission_box,
    "of": of,
    "outbox_status": outbox_status,
    "country_name": country_name,
}
