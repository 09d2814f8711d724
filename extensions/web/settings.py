"""Settings of the web pages and of the links the product sends."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pgstac.settings import kept_secret

SECRET_KEY_FILE = "secret-key"  # noqa: S105 - a file name


def installation_secret() -> SecretStr:
    """Without DINAMIS_SECRET_KEY, a key made for this installation (never a published one,
    which would let anyone forge sessions and signed URLs); production mode wants its own."""
    return SecretStr(kept_secret(SECRET_KEY_FILE))


def _secrets(value: object) -> object:
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_", extra="ignore", populate_by_name=True)

    secret_key: SecretStr = Field(default_factory=installation_secret)
    """Signs links (e-mail verification, RL validation), flash messages, sessions and asset
    URLs; production mode requires it, set."""
    previous_secret_keys: Annotated[list[SecretStr], NoDecode, BeforeValidator(_secrets)] = []
    """Keys replaced by `secret_key` (comma-separated), still accepted for what they signed:
    rotate by moving the key here and setting a new one, and remove it once what it signed
    has expired (signed URLs: DINAMIS_SIGNING_MAX_TTL_SECONDS; sessions and e-mailed links:
    their own lifetimes)."""
    public_url: str = "http://127.0.0.1:8080"
    """Where users reach the site: the base of links sent by e-mail; `https://…` makes
    cookies Secure."""

    @property
    def secret_keys(self) -> list[str]:
        """The keys, the signing one first."""
        return [k.get_secret_value() for k in (self.secret_key, *self.previous_secret_keys)]
