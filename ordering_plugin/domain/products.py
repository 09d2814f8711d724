"""The products the desk orders: Airbus archive and tasking for SPOT 6/7, Pléiades and
Pléiades Neo, with their production options and the constraints between them.

The options are a pydantic model: its JSON Schema is what `/order-parameters` publishes, and
its validators are what orders are checked with, so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from extensions.errors import InvalidFields
from extensions.i18n import _
from pgstac.missions import MISSIONS, Mission, Ordering

AIRBUS_PROVIDER: dict[str, Any] = {
    "name": "Airbus DS",
    "roles": ["producer", "licensor"],
    "url": "https://www.intelligence-airbusds.com/",
}


@dataclass(frozen=True)
class Product:
    """An order product of a mission of the missions table (its `ordering` terms)."""

    id: str
    kind: Literal["A", "P"]  # archive or tasking (programmation)
    mission: Mission

    @property
    def terms(self) -> Ordering:
        assert self.mission.ordering is not None
        return self.mission.ordering

    @property
    def family(self) -> str:
        """Quota family, and the last part of request ids."""
        return self.terms.family

    @property
    def constellation(self) -> str:
        """OneAtlas' name of the mission."""
        assert self.mission.oneatlas is not None
        return self.mission.oneatlas

    @property
    def collection(self) -> str:
        """Where deliveries are catalogued."""
        return self.mission.collection

    @property
    def sensor_title(self) -> str:
        return self.mission.label

    @property
    def title(self) -> str:
        """In the reader's language."""
        if self.kind == "A":
            return _("%(mission)s – archive", mission=self.mission.label)
        return _("%(mission)s – programmation", mission=self.mission.label)

    @property
    def minimum_km2(self) -> float:
        return self.terms.min_archive_km2 if self.kind == "A" else self.terms.min_tasking_km2

    @property
    def parameters(self) -> type[BaseModel]:
        return ArchiveParameters if self.kind == "A" else TaskingParameters


ORDERED = {m.ordering.key: m for m in MISSIONS if m.ordering and m.oneatlas}
"""The missions the desk orders, by product key (spot, pleiades, pleiades-neo)."""
PRODUCTS = {
    **{f"airbus-archive-{k}": Product(f"airbus-archive-{k}", "A", m) for k, m in ORDERED.items()},
    **{f"airbus-tasking-{k}": Product(f"airbus-tasking-{k}", "P", m) for k, m in ORDERED.items()},
}
ARCHIVE_PRODUCT = {m.oneatlas: f"airbus-archive-{k}" for k, m in ORDERED.items()}


class ProcessingLevel(StrEnum):
    primary = "primary"
    projected = "projected"
    ortho = "ortho"


class SpectralProcessing(StrEnum):
    bundle = "bundle"  # panchromatic + multispectral
    pansharpened = "pansharpened"
    multispectral = "multispectral"
    panchromatic = "panchromatic"


class RadiometricProcessing(StrEnum):
    basic = "basic"
    reflectance = "reflectance"
    display = "display"


class PixelCoding(StrEnum):
    bits8 = "8bits"
    bits12 = "12bits"


class ImageFormat(StrEnum):
    jpeg2000 = "JPEG2000"
    geotiff = "GeoTIFF"


class Dem(StrEnum):
    srtm = "SRTM"
    worlddem = "WorldDEM"
    reference3d = "Reference3D"


class AcquisitionMode(StrEnum):
    mono = "mono"
    stereo = "stereo"
    tristereo = "tristereo"


PROJECTIONS = {
    "EPSG:2154",
    "EPSG:4326",
    "EPSG:32630",
    "EPSG:32631",
    "EPSG:32632",
    "EPSG:2972",
    "EPSG:2975",
    "EPSG:5490",
    "EPSG:4471",
}


class ProductionOptions(BaseModel):
    """Options of the images Airbus produces (« Options de production »)."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    project_id: str = Field(description="The project the request belongs to (e.g. 2025-034-SCI)")
    processing_level: ProcessingLevel = Field(
        ProcessingLevel.ortho, description="Niveau de traitement"
    )
    spectral_processing: SpectralProcessing = Field(
        SpectralProcessing.bundle, description="Traitement spectral"
    )
    radiometric_processing: RadiometricProcessing = Field(
        RadiometricProcessing.reflectance, description="Traitement radiométrique"
    )
    pixel_coding: PixelCoding = Field(
        PixelCoding.bits12,
        description="Codage des pixels: 8 bits only with display, 12 bits with basic or reflectance",
    )
    image_format: ImageFormat = Field(ImageFormat.geotiff, description="Format de l'image")
    projection: str = Field("EPSG:2154", description="Projection of projected and ortho products")
    dem: Dem | None = Field(Dem.worlddem, description="DEM of the orthorectification (ortho only)")
    comment: str = Field("", max_length=2000, description="Anything the instructor should know")

    @model_validator(mode="after")
    def consistent(self) -> ProductionOptions:
        display = self.radiometric_processing == RadiometricProcessing.display
        # Each error's type names the field it is about, for the forms to show it beside it.
        if self.pixel_coding == PixelCoding.bits8 and not display:
            raise PydanticCustomError(
                "pixel_coding",
                _("Le codage 8 bits va seulement avec le traitement radiométrique « Affichage »."),
            )
        if self.pixel_coding == PixelCoding.bits12 and display:
            raise PydanticCustomError(
                "pixel_coding",
                _(
                    "Le codage 12 bits va seulement avec le traitement radiométrique « Basique » "
                    "ou « Réflectance »."
                ),
            )
        if self.projection not in PROJECTIONS:
            raise PydanticCustomError(
                "projection",
                _(
                    "Projection inconnue : l'une de %(value)s.",
                    value=", ".join(sorted(PROJECTIONS)),
                ),
            )
        if self.processing_level == ProcessingLevel.ortho and self.dem is None:
            raise PydanticCustomError("dem", _("Un produit ortho demande un MNT."))
        if self.processing_level != ProcessingLevel.ortho and self.dem is not None:
            self.dem = None  # only orthorectification uses one
        return self


class ArchiveParameters(ProductionOptions):
    item_ids: list[str] = Field(
        min_length=1,
        max_length=20,
        description="Scenes of the commandable collection (airbus-archive) to order",
    )


class TaskingParameters(ProductionOptions):
    max_cloud_cover: float = Field(20, ge=0, le=100, description="Couverture nuageuse max (%)")
    max_incidence_angle: float = Field(30, ge=0, le=60, description="Angle d'incidence max (°)")
    acquisition_mode: AcquisitionMode = Field(
        AcquisitionMode.mono, description="Mono, stéréo ou tristéréo"
    )


def tasking_window(start: datetime, end: datetime, now: datetime | None = None) -> None:
    """A tasking window: in the future, at least 2 days, at most a year; an error of the
    `datetime` field otherwise."""
    now = now or datetime.now(UTC)
    if end <= now:
        raise InvalidFields(
            {"datetime": _("La fenêtre de programmation doit finir dans le futur.")}
        )
    if end - start < timedelta(days=2):
        raise InvalidFields({"datetime": _("La fenêtre de programmation dure au moins 2 jours.")})
    if end - max(start, now) > timedelta(days=366):
        raise InvalidFields({"datetime": _("La fenêtre de programmation dure au plus un an.")})


def order_parameters_schema(product: Product) -> dict[str, Any]:
    schema = product.parameters.model_json_schema()
    schema["title"] = f"Order parameters of {product.title}"
    return schema
