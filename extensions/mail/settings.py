"""Settings of mail delivery."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MailSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_MAIL_", extra="ignore")

    smtp_host: str | None = None
    """Without one, mails stay in the outbox: instructors see them with their links masked,
    and in development the portal's development mailbox shows them whole."""
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    security: Literal["starttls", "ssl", "none"] = "starttls"
    sender_name: str = "DINAMIS"
    sender_address: str = "ne-pas-repondre@dinamis.example"
    timeout_seconds: float = 30
    max_attempts: int = 8
