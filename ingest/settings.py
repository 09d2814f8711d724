"""Settings of the harvesters."""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict


class S3Settings(BaseSettings):
    """S3-compatible object storage. Credentials come from the standard AWS variables
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or boto3's usual configuration."""

    model_config = SettingsConfigDict(env_prefix="DINAMIS_S3_", extra="ignore")

    endpoint_url: str | None = None
    """For S3-compatible storage other than AWS (MinIO, Ceph, OVH, Scaleway…)."""
    region_name: str | None = None

    def client_options(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}
