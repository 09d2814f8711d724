"""The product's settings: one object, read from the environment once per process and
passed to `create_app`, `dinamis worker` and the CLI; everything else reads it through the
services (`services.settings`).

One class per concern, each with its own `DINAMIS_…` prefix, defined next to the code it
configures; plugins declare their own class (`Plugin.settings_model`), read here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from stac_fastapi.pgstac.config import Settings as PgstacApiSettings
from stac_fastapi.pgstac.config import str_to_list

from extensions.areas import GeometrySettings
from extensions.assets.settings import StorageSettings
from extensions.bodies import BodySettings
from extensions.federation.settings import OneAtlasSettings
from extensions.jobs import JobSettings
from extensions.mail.settings import MailSettings
from extensions.observability import ObservabilitySettings
from extensions.plugins import DEFAULT_PLUGINS, load_plugins
from extensions.ratelimit import RateLimitSettings
from extensions.signing import SigningSettings
from extensions.viewer.settings import ViewerSettings
from extensions.web.settings import WebSettings
from pgstac.settings import DatabaseSettings

ListOfStr = Annotated[Sequence[str], BeforeValidator(str_to_list), NoDecode]
Mode = Literal["development", "production"]
T = TypeVar("T", bound=BaseSettings)

DESCRIPTION = (
    "Catalogue STAC de l'imagerie satellite très haute résolution (SPOT 1-7, Pléiades, "
    "Pléiades Neo) mise à disposition des acteurs publics par DINAMIS. "
    "STAC catalogue of very-high-resolution satellite imagery (SPOT 1-7, Pléiades, "
    "Pléiades Neo) for French public institutions: search, browse, and download under the "
    "licences your entity accepted."
)
MIN_SECRET_LENGTH = 32


class ApiSettings(PgstacApiSettings):
    """The STAC API: title, CORS, extensions, and the admin credential for transactions."""

    model_config = SettingsConfigDict(
        env_prefix="DINAMIS_API_", extra="ignore", env_file=None, populate_by_name=True
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
    cors_headers: ListOfStr = ("Content-Type", "Authorization", "X-API-Key", "Range", "If-Range")
    trusted_proxies: ListOfStr = ()
    """Addresses or networks of the reverse proxies in front of the API (e.g. `127.0.0.1`,
    `10.0.0.0/8`): only their `Forwarded` / `X-Forwarded-*` headers are read."""


def listed_names(value: str) -> list[str]:
    """A comma-separated environment value as its names (`DINAMIS_PLUGINS`)."""
    return [v.strip() for v in value.split(",") if v.strip()]


def _names(value: object) -> object:
    return listed_names(value) if isinstance(value, str) else value


class Settings(BaseSettings):
    """Everything the product reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="DINAMIS_", extra="ignore", arbitrary_types_allowed=True
    )

    mode: Mode = "development"
    """`production` refuses default and weak secrets (and the registry its demo accounts)."""
    api: ApiSettings = Field(default_factory=ApiSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    oneatlas: OneAtlasSettings = Field(default_factory=OneAtlasSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    geometries: GeometrySettings = Field(default_factory=GeometrySettings)
    body: BodySettings = Field(default_factory=BodySettings)
    viewer: ViewerSettings = Field(default_factory=ViewerSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    plugins: Annotated[list[str], NoDecode, BeforeValidator(_names)] = list(DEFAULT_PLUGINS)
    """The plugins to load, by entry-point name; a name not installed is skipped."""
    plugin_settings: dict[str, Any] = Field(default_factory=dict)
    """Each loaded plugin's settings (its `settings_model`), by plugin name."""

    def production_problems(self) -> list[str]:
        """What production mode refuses: the start-up check list (every problem at once)."""
        problems = []
        secret = self.web.secret_key.get_secret_value()
        if "secret_key" not in self.web.model_fields_set or len(secret) < MIN_SECRET_LENGTH:
            problems.append(
                f"DINAMIS_SECRET_KEY must be set ({MIN_SECRET_LENGTH}+ characters), the same "
                "for every process of the site"
            )
        token = self.api.admin_token
        if token is not None and len(token.get_secret_value()) < MIN_SECRET_LENGTH:
            problems.append(
                f"DINAMIS_API_ADMIN_TOKEN must be at least {MIN_SECRET_LENGTH} characters"
            )
        if not self.web.public_url.startswith("https://"):
            problems.append(
                "DINAMIS_PUBLIC_URL must be https:// (secure cookies, links sent by e-mail)"
            )
        if not self.mail.smtp_host:
            problems.append(
                "DINAMIS_MAIL_SMTP_HOST must be set: without it no single-use link (password, "
                "e-mail verification, RL e-validation) reaches its recipient"
            )
        if not self.rate_limits.enabled:
            problems.append("DINAMIS_RATE_LIMIT_ENABLED must stay true")
        if self.api.cors_credentials and "*" in self.api.cors_origins:
            problems.append(
                "DINAMIS_API_CORS_CREDENTIALS with every origin (`*`) would let any site act "
                "with a user's session: name the origins"
            )
        if self.oneatlas.simulated:
            problems.append("the Airbus simulator is for development: set DINAMIS_ONEATLAS_API_KEY")
        return problems

    @model_validator(mode="after")
    def refuse_unsafe_production(self) -> Self:
        if self.production and (problems := self.production_problems()):
            raise ValueError("production mode refuses these settings:\n- " + "\n- ".join(problems))
        return self

    @model_validator(mode="after")
    def read_plugin_settings(self) -> Self:
        for plugin in load_plugins(self.plugins):
            if plugin.settings_model is not None and plugin.name not in self.plugin_settings:
                self.plugin_settings[plugin.name] = plugin.settings_model()
        return self

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.production or self.web.public_url.startswith("https://")

    def plugin(self, model: type[T]) -> T:
        """The settings of the plugin that declared `model` (its defaults if not loaded)."""
        for value in self.plugin_settings.values():
            if isinstance(value, model):
                return value
        return model()
