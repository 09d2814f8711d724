"""What the registry accepts, for the JSON API and the pages alike.

Each step of the adhesion wizard is one model; the pages validate a step with its model and
show the French messages next to the fields (`field_errors`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Self

from annotated_types import Interval
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from extensions.i18n import N_, _
from registry_plugin.security import password_problems
from registry_plugin.vocabulary import (
    CATEGORIES,
    INTEREST_DOMAINS,
    PRIVATE_CATEGORIES,
    SENSORS,
    countries,
)

ROW_ID_MAX = 2**31 - 1
RowId = Annotated[int, Interval(ge=1, le=ROW_ID_MAX)]
"""The id of a registry row (a PostgreSQL integer): any other number is refused as a bad
value before it reaches the database, in paths, queries, bodies and forms alike."""
ROW_IDS: TypeAdapter[int] = TypeAdapter(RowId)


def row_id(value: Any) -> int | None:
    """A form's row id, or None when the value is not one."""
    try:
        return ROW_IDS.validate_python(str(value), strict=False)
    except ValidationError:
        return None


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _empty_to_none(value: Any) -> Any:
    value = _strip(value)
    return None if value == "" else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=300)]
Short = Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=80)]
Optional = Annotated[Annotated[str, Field(max_length=300)] | None, BeforeValidator(_empty_to_none)]
OptionalDate = Annotated[date | None, BeforeValidator(_empty_to_none)]
Email = Annotated[EmailStr, BeforeValidator(_lower)]
Phone = Annotated[
    str, BeforeValidator(_strip), Field(min_length=2, max_length=40, pattern=r"^[0-9+ ().-]+$")
]


def _same_email(value: str, info: ValidationInfo) -> str:
    if "email" in info.data and value != info.data["email"]:
        raise ValueError(_("Les deux adresses e-mail ne sont pas identiques."))
    return value


def _same_password(value: str, info: ValidationInfo) -> str:
    """Checked with the other fields (a model check would wait until they are all right)."""
    if "password" in info.data and value != info.data["password"]:
        raise ValueError(_("Les deux mots de passe ne sont pas identiques."))
    return value


def _country(value: str) -> str:
    if value not in countries():
        raise ValueError(_("Choisissez un pays de la liste."))
    return value


def bbox_polygon(north: float, south: float, east: float, west: float) -> dict[str, Any]:
    """A GeoJSON polygon of an extent (WGS 84)."""
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


class Step(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class EntityInfo(Step):
    """2 - Informations de l'Entité."""

    acronym: Short
    name: Text
    nationality: Short
    parent_establishment: Optional = None
    address: Text
    postal_code: Annotated[str, BeforeValidator(_strip), Field(min_length=2, max_length=20)]
    city: Text

    _country = field_validator("nationality")(_country)

    @field_validator("postal_code")
    @classmethod
    def french_postal_code(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("nationality") == "France" and not (value.isdigit() and len(value) == 5):
            raise ValueError(_("Un code postal français a 5 chiffres."))
        return value


class Sector(Step):
    """3 - Secteur d'activité."""

    interest_domain: Text
    activity_sector: Literal["public", "private"]
    category: str
    entity_type: Optional = None

    @field_validator("interest_domain")
    @classmethod
    def known_domain(cls, value: str) -> str:
        if value not in INTEREST_DOMAINS:
            raise ValueError(_("Choisissez un domaine de la liste."))
        return value

    @field_validator("category")
    @classmethod
    def known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(_("Choisissez une catégorie éligible de la liste."))
        return value

    @model_validator(mode="after")
    def category_fits_sector(self) -> Self:
        private = self.category in PRIVATE_CATEGORIES
        if private != (self.activity_sector == "private"):
            raise ValueError(
                _("category: Cette catégorie ne correspond pas au secteur d'activité choisi.")
            )
        return self


class SensorPeriod(Step):
    sensor: str
    valid_from: date
    valid_to: date

    @field_validator("sensor")
    @classmethod
    def known_sensor(cls, value: str) -> str:
        if value not in SENSORS:
            raise ValueError(_("Choisissez un capteur de la liste."))
        return value

    @model_validator(mode="after")
    def ordered(self) -> Self:
        if self.valid_to < self.valid_from:
            raise ValueError(_("valid_to: La fin de période précède son début."))
        return self


class MissionInfo(Step):
    """Mission de l'Entité (private entities): period, extent, sensors."""

    title: Text
    valid_from: date
    valid_to: date
    north: float = Field(ge=-90, le=90)
    south: float = Field(ge=-90, le=90)
    east: float = Field(ge=-180, le=180)
    west: float = Field(ge=-180, le=180)
    sensors: list[SensorPeriod] = Field(min_length=1)

    @model_validator(mode="after")
    def consistent(self) -> Self:
        if self.valid_to < self.valid_from:
            raise ValueError(_("valid_to: La fin de la période de validité précède son début."))
        if self.north <= self.south:
            raise ValueError(_("north: Le nord doit être au-dessus du sud."))
        if self.east <= self.west:
            raise ValueError(_("east: L'est doit être à droite de l'ouest."))
        return self

    @property
    def area(self) -> dict[str, Any]:
        return bbox_polygon(self.north, self.south, self.east, self.west)


class Partner(Step):
    """Entité publique partenaire (private contractors of a public order)."""

    public_entity_id: RowId


class Person(Step):
    first_name: Short
    last_name: Short
    function: Text
    nationality: Short

    _country = field_validator("nationality")(_country)


class LegalRepresentative(Person):
    """4 - Représentant Légal."""

    email: Email
    email_confirmation: Email

    _confirmed = field_validator("email_confirmation")(_same_email)


class NewPassword(Step):
    password: Annotated[str, Field(min_length=1, max_length=200)]
    password_confirmation: str

    _password_confirmed = field_validator("password_confirmation")(_same_password)

    def check_password(self, email: str) -> None:
        if problems := password_problems(self.password, email):
            raise ValueError(
                _(
                    "password: Le mot de passe doit avoir %(problems)s.",
                    problems=", ".join(problems),
                )
            )


class ReferentInfo(Person):
    """5 - Référent DINAMIS (the future RD: a person with an account)."""

    phone: Phone
    address: Optional = None
    postal_code: Optional = None
    city: Optional = None


class Referent(ReferentInfo, NewPassword):
    """The referent with the password of the account, as the API takes it."""


class AdhesionForm(BaseModel):
    """The whole adhesion but the referent's password (the pages keep only its hash)."""

    model_config = ConfigDict(extra="forbid")

    entity: EntityInfo
    sector: Sector
    mission: MissionInfo | None = None
    partner: Partner | None = None
    legal_representative: LegalRepresentative
    referent: ReferentInfo
    avenant: Optional = None  # filed by a relay partner: the partnership's avenant

    @model_validator(mode="after")
    def steps_of_the_flow(self) -> Self:
        category = self.sector.category
        if category in PRIVATE_CATEGORIES and self.mission is None:
            raise ValueError(_("mission: Une entité privée décrit sa mission."))
        if category == "private_contractor" and self.partner is None:
            raise ValueError(_("partner: Choisissez l'entité publique partenaire."))
        return self


class AdhesionRequest(AdhesionForm):
    """The whole adhesion, as the API takes it."""

    referent: Referent


class AccountInfo(Step):
    """Nouveau compte utilisateur associé à une Entité adhérente."""

    first_name: Short
    last_name: Short
    function: Text
    phone: Phone
    email: Email
    email_confirmation: Email
    nationality: Short
    address: Optional = None
    postal_code: Optional = None
    city: Optional = None
    certifications: list[str] = Field(default_factory=list)

    _country = field_validator("nationality")(_country)

    _confirmed = field_validator("email_confirmation")(_same_email)


class AccountRequest(AccountInfo, NewPassword):
    """The account request with its password, from the API or the page."""

    @model_validator(mode="after")
    def strong_password(self) -> Self:
        self.check_password(self.email)
        return self


# -- French messages for the pages ---------------------------------------------------------

MESSAGES = {
    "missing": N_("Ce champ est obligatoire."),
    "string_too_short": N_("Ce champ est obligatoire."),
    "string_too_long": N_("Ce texte est trop long."),
    "string_pattern_mismatch": N_("Ce format n'est pas valide."),
    "literal_error": N_("Choisissez une valeur de la liste."),
    "date_from_datetime_parsing": N_("Date attendue au format JJ/MM/AAAA."),
    "date_parsing": N_("Date attendue au format JJ/MM/AAAA."),
    "date_type": N_("Date attendue au format JJ/MM/AAAA."),
    "float_parsing": N_("Nombre attendu (degrés décimaux, par exemple 43.61)."),
    "float_type": N_("Nombre attendu."),
    "int_parsing": N_("Choisissez une valeur de la liste."),
    "greater_than_equal": N_("Valeur hors limites."),
    "less_than_equal": N_("Valeur hors limites."),
    "greater_than": N_("Choisissez une valeur de la liste."),
    "too_short": N_("Ajoutez au moins un élément."),
}


def field_errors(error: ValidationError | ValueError) -> dict[str, str]:
    """Pydantic's errors as {field: French message}; a model-level message says its field
    by starting with `field: `."""
    if not isinstance(error, ValidationError):
        return _split_message(str(error))
    found: dict[str, str] = {}
    for item in error.errors():
        location = [str(p) for p in item.get("loc", ())]
        message = str(item.get("msg", ""))
        if item["type"] == "value_error":
            text = message.removeprefix("Value error, ")
            if "email" in message.casefold() and ":" not in text.split(" ")[0]:
                found[".".join(location) or "email"] = _("Adresse e-mail invalide.")
                continue
            for key, value in _split_message(text).items():
                field = ".".join([*location, key] if key != "__all__" else location) or "__all__"
                found.setdefault(field, value)
            continue
        field = ".".join(location) or "__all__"
        kind = item["type"]
        if kind in ("too_short", "too_long") and isinstance(item.get("input"), str):
            kind = f"string_{kind}"  # a text constrained after a validator that strips it
        found.setdefault(field, _(MESSAGES[kind]) if kind in MESSAGES else message)
    return found


def _split_message(text: str) -> dict[str, str]:
    head, sep, rest = text.partition(": ")
    if sep and head.isidentifier():
        return {head: rest}
    return {"__all__": text}
