"""Settings of the federated Airbus archive (OneAtlas)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

AIRBUS_AUTH = "https://authenticate.foundation.api.oneatlas.airbus.com"
AIRBUS_SEARCH = "https://search.foundation.api.oneatlas.airbus.com"
AIRBUS_ACCESS = "https://access.foundation.api.oneatlas.airbus.com"
AIRBUS_DATA = "https://data.api.oneatlas.airbus.com"
AIRBUS_TASKING = "https://order.api.oneatlas.airbus.com"


class OneAtlasSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_ONEATLAS_", extra="ignore")

    api_key: SecretStr | None = None
    """An Airbus OneAtlas API key; without one, `dinamis serve` starts the simulator."""
    auth_url: str = AIRBUS_AUTH
    search_url: str = AIRBUS_SEARCH
    access_url: str = AIRBUS_ACCESS
    data_url: str = AIRBUS_DATA
    """Archive orders: contracts, prices, orders and their deliveries."""
    tasking_url: str = AIRBUS_TASKING
    """Tasking: feasibility studies and taskings, and their deliveries."""
    simulated: bool = False
    """Set by `dinamis serve` when it points the product at its simulator (said to users)."""
    timeout_seconds: float = Field(default=10.0, gt=0)
    """Upper bound of one search or order call, retries included: the commandable part then
    fails clearly."""
    download_timeout_seconds: float = Field(default=600.0, gt=0)
    """Upper bound of one delivery download (products are large), retries included."""
    retries: int = Field(default=2, ge=0)
    """Attempts after the first, on 429, 5xx and network errors, within the timeout."""
    breaker_threshold: int = Field(default=5, ge=1)
    """Consecutive failures that open the circuit: searches then fail at once…"""
    breaker_seconds: float = Field(default=30.0, gt=0)
    """…for this long, before one search tries the upstream again."""
    page_size_max: int = 500

    @property
    def enabled(self) -> bool:
        return self.api_key is not None
