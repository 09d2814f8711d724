"""What clients send to the ordering desk: request bodies of the API and the pages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, Field, field_validator

from extensions.i18n import _
from ordering_plugin.vocabulary import FAMILIES, PROJECT_KINDS, THEMES


class ProjectForm(BaseModel):
    """« Nouveau projet »."""

    title: str = Field(min_length=3, max_length=200)
    kind: str = Field("SCI", description=", ".join(f"{k} ({v})" for k, v in PROJECT_KINDS.items()))
    themes: list[str] = Field(default_factory=list, max_length=6)
    end_date: date
    description: str = Field(min_length=10, max_length=5000)
    objectives: str = Field("", max_length=5000)
    methodology: str = Field("", max_length=5000)
    expected_results: str = Field("", max_length=5000)
    publications: str = Field("", max_length=5000)
    members: list[str] = Field(default_factory=list, description="Members' e-mail addresses")

    @field_validator("kind")
    @classmethod
    def known_kind(cls, value: str) -> str:
        if value not in PROJECT_KINDS:
            raise ValueError(
                _("Type de projet inconnu : l'un de %(value)s.", value=", ".join(PROJECT_KINDS))
            )
        return value

    @field_validator("themes")
    @classmethod
    def known_themes(cls, value: list[str]) -> list[str]:
        if unknown := [t for t in value if t not in THEMES]:
            raise ValueError(
                _(
                    "Thèmes inconnus (%(value)s) : parmi %(value2)s.",
                    value=", ".join(unknown),
                    value2=", ".join(THEMES),
                )
            )
        return value

    @field_validator("end_date")
    @classmethod
    def in_future(cls, value: date) -> date:
        if value < datetime.now(UTC).date():
            raise ValueError(_("La date de fin est passée."))
        return value

    @field_validator("members")
    @classmethod
    def emails(cls, value: list[str]) -> list[str]:
        members = {v.strip().lower() for v in value if v.strip()}
        if wrong := sorted(m for m in members if not is_address(m)):
            raise ValueError(
                _(
                    "%(value)s : pas une adresse e-mail (prenom.nom@exemple.fr)",
                    value=", ".join(wrong),
                )
            )
        return sorted(members)


def is_address(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


class OpportunityBody(BaseModel):
    datetime: str = Field(examples=["2026-12-01T00:00:00Z/2027-01-15T00:00:00Z"])
    geometry: dict[str, Any] | None = None
    bbox: list[float] | None = None
    filter: dict[str, Any] | None = None
    max_cloud_cover: float = Field(20, ge=0, le=100)
    max_incidence_angle: float = Field(30, ge=0, le=60)
    acquisition_mode: str = Field("mono", pattern="^(mono|stereo|tristereo)$")
    limit: int = Field(10, ge=1, le=100)


class OrderBody(BaseModel):
    """A STAPI order payload; `bbox` may replace `geometry`; for archives, `datetime` and
    `geometry` default to the scenes' acquisition period and footprints."""

    datetime: str | None = Field(None, examples=["2026-12-01T00:00:00Z/2027-01-15T00:00:00Z"])
    geometry: dict[str, Any] | None = None
    bbox: list[float] | None = None
    filter: dict[str, Any] | None = None
    order_parameters: dict[str, Any]


class ActionBody(BaseModel):
    reason: str | None = Field(None, max_length=5000)


class MessageBody(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)


class QuotaBody(BaseModel):
    entity_id: int
    family: str = Field(pattern=f"^({'|'.join(FAMILIES)})$")
    year: int = Field(ge=2000, le=2100)
    allowed_km2: float = Field(ge=0)
