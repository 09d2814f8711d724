"""Where asset files are stored: a local folder, or an S3 bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pgstac.settings import HOME_ALIASES, default_home


class S3Settings(BaseSettings):
    """S3-compatible object storage. Credentials come from the standard AWS variables
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or boto3's usual configuration."""

    model_config = SettingsConfigDict(env_prefix="DINAMIS_S3_", extra="ignore")

    endpoint_url: str | None = None
    """For S3-compatible storage other than AWS (MinIO, Ceph, OVH, Scaleway…)."""
    region_name: str | None = None

    def client_options(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class StorageSettings(BaseSettings):
    """Asset storage. Items keep hrefs relative to this root, so the same product can move
    between storages without touching the catalogue."""

    model_config = SettingsConfigDict(
        env_prefix="DINAMIS_STORAGE_", extra="ignore", populate_by_name=True
    )

    home: Path = Field(default_factory=default_home, validation_alias=HOME_ALIASES)
    root: Path | None = None
    """Local folder holding the asset files; `<home>/storage` by default."""
    s3_url: str | None = Field(default=None, pattern=r"^s3://[^/]+(/.*)?$")
    """`s3://bucket/prefix`: the asset files live there instead (read through presigned URLs)."""

    @property
    def local_root(self) -> Path:
        return (self.root or self.home / "storage").absolute()
