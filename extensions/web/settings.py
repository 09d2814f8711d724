"""Settings of the web pages and of the links the product sends."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "development-secret-do-not-use-in-production"  # noqa: S105 - refused in production


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_", extra="ignore", populate_by_name=True)

    secret_key: SecretStr = SecretStr(DEV_SECRET)
    """Signs links (e-mail verification, RL validation), flash messages, sessions and asset
    URLs; production mode refuses the default."""
    public_url: str = "http://127.0.0.1:8080"
    """Where users reach the site: the base of links sent by e-mail; `https://…` makes
    cookies Secure."""
