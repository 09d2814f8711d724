"""Settings of the catalogue viewer: its online basemaps and how many footprints a tile holds."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

IGN_WMTS = (
    "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&STYLE=normal"
    "&TILEMATRIXSET=PM&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
)


class Basemap(BaseModel):
    """An online raster basemap (XYZ tiles), offered beside the embedded offline one."""

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    name_en: str | None = None
    tiles: str = Field(description="URL template with {z}, {x}, {y}")
    attribution: str = ""
    max_zoom: int = Field(default=19, ge=0, le=24)


DEFAULT_BASEMAPS = [
    Basemap(
        id="osm",
        name="OpenStreetMap",
        tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        attribution="© les contributeurs d'OpenStreetMap",
    ),
    Basemap(
        id="ign-plan",
        name="IGN Plan",
        name_en="IGN map",
        tiles=IGN_WMTS + "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&FORMAT=image/png",
        attribution="© IGN Géoplateforme",
    ),
    Basemap(
        id="ign-ortho",
        name="IGN Orthophotos",
        name_en="IGN orthophotos",
        tiles=IGN_WMTS + "&LAYER=ORTHOIMAGERY.ORTHOPHOTOS&FORMAT=image/jpeg",
        attribution="© IGN Géoplateforme",
    ),
]


class ViewerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_VIEWER_", extra="ignore")

    basemaps: list[Basemap] = Field(default_factory=lambda: list(DEFAULT_BASEMAPS))
    """Online basemaps, as JSON (`[{"id": …, "name": …, "tiles": …}]`); `[]` offers only the
    embedded offline one, which is always the default: the viewer asks no other host unless
    the user picks one of these."""
    footprints_per_tile: int = Field(default=10_000, ge=100, le=100_000)
    """Footprints a tile of the result set holds at most (tipg's default limit too)."""
