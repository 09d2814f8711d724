"""Settings of the ordering desk."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OrderingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_ORDERING_", extra="ignore")

    instruction_email: str = "instruction@dinamis.example"
    """The instructors' shared mailbox: told of every new request and requester message."""
    free_quota_km2: dict[str, float] = Field(
        default_factory=lambda: {"SPOT": 10_000.0, "PLEIADES": 10_000.0, "PLEIADES-NEO": 5_000.0}
    )
    """Free quota (« quota de gratuité ») of an entity per sensor family and calendar year,
    when no quota was set for it; above it a request is warned it may be rejected."""
    poll_seconds: float = Field(default=10.0, gt=0)
    """Delay between two status checks of an order placed at Airbus."""
    upload_max_mb: int = 10
    """Largest area-of-interest file (GeoJSON, KML, zipped shapefile)."""
    max_area_km2: float = 200_000.0
    """Larger areas are refused as mistakes (a whole country drawn instead of a site)."""
