"""Where asset files are stored."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pgstac.settings import HOME_ALIASES, default_home


class StorageSettings(BaseSettings):
    """Asset storage. Items keep hrefs relative to this root, so the same product can move
    between storages without touching the catalogue."""

    model_config = SettingsConfigDict(
        env_prefix="DINAMIS_STORAGE_", extra="ignore", populate_by_name=True
    )

    home: Path = Field(default_factory=default_home, validation_alias=HOME_ALIASES)
    root: Path | None = None
    """Local folder holding the asset files; `<home>/storage` by default."""

    @property
    def local_root(self) -> Path:
        return (self.root or self.home / "storage").absolute()
