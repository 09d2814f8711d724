"""Settings of the registry."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class OidcSettings(BaseSettings):
    """An external OpenID Connect provider whose access tokens (JWT) are accepted as bearer
    tokens; the token's e-mail claim names the DINAMIS account, when the provider says it
    verified that address."""

    model_config = SettingsConfigDict(env_prefix="DINAMIS_OIDC_", extra="ignore")

    issuer: str | None = None
    jwks_url: str | None = None
    audience: str | None = None
    """Required: the client id (or API audience) tokens must be issued for; without it, a
    token the provider issued to any other of its clients would be taken."""
    email_claim: str = "email"
    email_verified_claim: str | None = "email_verified"
    """The claim that must be `true` for the e-mail to name an account; None only for a
    provider that issues verified addresses alone (an institution's own directory)."""
    algorithms: list[str] = ["RS256", "ES256"]

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.jwks_url)

    @model_validator(mode="after")
    def require_an_audience(self) -> Self:
        if self.enabled and not self.audience:
            raise ValueError(
                "DINAMIS_OIDC_AUDIENCE must be set with DINAMIS_OIDC_ISSUER: the client id "
                "DINAMIS tokens are issued for"
            )
        return self


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DINAMIS_REGISTRY_", extra="ignore", populate_by_name=True
    )

    link_hours: int = 48
    """Validity of links sent by e-mail (verification, legal representative)."""
    sign_in_ceiling: str = "50/hour"
    """Sign-in attempts on one account from every address together (the limiter's notation);
    past it, only addresses the account signed in from before are let through, so that
    guesses spread over many addresses are bounded and still cannot lock the owner out."""
    session_hours: int = 12
    bearer_minutes: int = 60
    upload_max_mb: int = 25
    password_min_length: int = 10
    oidc: OidcSettings = Field(default_factory=OidcSettings)
