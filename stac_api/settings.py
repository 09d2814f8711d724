"""Settings of the API, one class per concern, each with its own `DINAMIS_…` prefix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Annotated, Literal, Self

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from stac_fastapi.pgstac.config import Settings as PgstacApiSettings
from stac_fastapi.pgstac.config import str_to_list

from extensions.areas import GeometrySettings
from extensions.assets import StorageSettings
from extensions.federation.settings import OneAtlasSettings
from extensions.jobs import JobSettings
from extensions.mail import MailSettings
from extensions.plugins import Plugin, load_plugins
from extensions.ratelimit import RateLimitSettings
from extensions.signing import SigningSettings
from extensions.web import WebSettings
from pgstac.settings import DatabaseSettings

ListOfStr = Annotated[Sequence[str], BeforeValidator(str_to_list), NoDecode]

DESCRIPTION = (
    "Catalogue STAC de l'imagerie satellite très haute résolution (SPOT 1-7, Pléiades, "
    "Pléiades Neo) mise à disposition des acteurs publics par DINAMIS. "
    "STAC catalogue of very-high-resolution satellite imagery (SPOT 1-7, Pléiades, "
    "Pléiades Neo) for French public institutions: search, browse, and download under the "
    "licences your entity accepted."
)
MIN_ADMIN_TOKEN_LENGTH = 32


class ApiSettings(PgstacApiSettings):
    """The STAC API: title, CORS, extensions, and the admin credential for transactions."""

    model_config = SettingsConfigDict(
        env_prefix="DINAMIS_API_", extra="ignore", env_file=None, populate_by_name=True
    )

    mode: Literal["development", "production"] = Field(
        default="development", validation_alias=AliasChoices("DINAMIS_MODE")
    )
    stac_fastapi_title: str = "DINAMIS STAC"
    stac_fastapi_description: str = DESCRIPTION
    stac_fastapi_version: str = version("dinamis-stac")
    stac_fastapi_landing_id: str = "dinamis-stac"
    # Transactions are mounted, and each call is refused without the admin credential.
    enable_transactions_extensions: bool = True
    admin_token: SecretStr | None = None
    """Bearer token required by the transaction endpoints; none means transactions refused."""

    cors_methods: ListOfStr = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    cors_headers: ListOfStr = ("Content-Type", "Authorization", "Range", "If-Range")

    @model_validator(mode="after")
    def refuse_weak_production_secrets(self) -> Self:
        token = self.admin_token.get_secret_value() if self.admin_token else None
        if self.mode == "production" and token is not None and len(token) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(
                f"DINAMIS_API_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LENGTH} "
                "characters in production mode"
            )
        return self


@dataclass
class Settings:
    """Everything `create_app` needs, read from the environment by default."""

    api: ApiSettings = field(default_factory=ApiSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    signing: SigningSettings = field(default_factory=SigningSettings)
    oneatlas: OneAtlasSettings = field(default_factory=OneAtlasSettings)
    web: WebSettings = field(default_factory=WebSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    geometries: GeometrySettings = field(default_factory=GeometrySettings)
    plugins: list[Plugin] = field(default_factory=load_plugins)
