"""What a DIMAP file says about a product, independent of the DIMAP version, and its STAC item.

Both readers (V1 for SPOT 1-5, V2 for SPOT 6/7, Pléiades, Pléiades Neo) fill a `Scene`;
`scene_to_item` turns it into a STAC 1.1 item with the eo, view, sat, proj and processing
extensions, listing only the extensions whose fields the item carries.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pgstac.missions import Mission, Platform, UnknownPlatform, dimap_platform


class DimapError(Exception):
    """A product that cannot be read; `reason` is a stable code for reports."""

    reason = "invalid"


class NotDimap(DimapError):
    reason = "not-dimap"


class MalformedXml(DimapError):
    reason = "malformed-xml"


class TruncatedFile(DimapError):
    reason = "truncated"


class MissingFootprint(DimapError):
    reason = "missing-footprint"


class UnknownMission(DimapError):
    reason = "unknown-mission"


class MissingField(DimapError):
    reason = "missing-field"


EXTENSIONS = {
    "eo": "https://stac-extensions.github.io/eo/v2.0.0/schema.json",
    "view": "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "proj": "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "sat": "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
    "processing": "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
}
MEDIA_TYPES = {
    "image/jp2": "image/jp2",
    "image/jpeg2000": "image/jp2",
    "image/tiff": "image/tiff; application=geotiff",
    "image/geotiff": "image/tiff; application=geotiff",
    "image/jpeg": "image/jpeg",
    "image/png": "image/png",
}


def mission(name: str, index: str) -> tuple[Mission, Platform]:
    """The mission and platform of a DIMAP MISSION and MISSION_INDEX; UnknownMission for
    anything the missions table does not have."""
    try:
        return dimap_platform(name, index)
    except UnknownPlatform as exc:
        raise UnknownMission(str(exc)) from exc


@dataclass(frozen=True)
class Band:
    name: str
    common_name: str | None
    minimum_um: float | None  # spectral range, micrometres
    maximum_um: float | None

    def as_stac(self) -> dict[str, Any]:
        band: dict[str, Any] = {"name": self.name}
        if self.common_name:
            band["eo:common_name"] = self.common_name
        if self.minimum_um is not None and self.maximum_um is not None:
            band["eo:center_wavelength"] = round((self.minimum_um + self.maximum_um) / 2, 4)
            band["eo:full_width_half_max"] = round(self.maximum_um - self.minimum_um, 4)
        return band


@dataclass(frozen=True)
class DataFile:
    """One image file of the product (a band group, or a tile R<row>C<col>)."""

    path: str  # relative to the metadata file's folder
    media_type: str
    bands: tuple[Band, ...]


@dataclass
class Scene:
    """The fields of a product the catalogue cares about."""

    id: str
    mission: Mission
    platform: Platform
    metadata_path: str  # file name of the DIMAP file
    acquired: datetime  # the centre of the acquisition
    footprint: list[tuple[float, float]]
    start: datetime | None = None
    end: datetime | None = None
    level: str | None = None
    spectral_mode: str | None = None
    gsd: float | None = None
    cloud_cover: float | None = None
    snow_cover: float | None = None
    incidence: float | None = None
    off_nadir: float | None = None
    azimuth: float | None = None
    sun_azimuth: float | None = None
    sun_elevation: float | None = None
    epsg: int | None = None
    shape: tuple[int, int] | None = None  # rows, columns
    transform: tuple[float, ...] | None = None
    datastrip_id: str | None = None
    orbit_state: str | None = None
    absolute_orbit: int | None = None
    processing_facility: str | None = None
    processing_software: dict[str, str] | None = None
    production_datetime: datetime | None = None
    data_files: list[DataFile] = field(default_factory=list)
    quicklook: str | None = None
    thumbnail: str | None = None


TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(value: str | None, day: str | None = None) -> datetime | None:
    """A DIMAP timestamp, in UTC: any number of fractional digits, `Z` or not.

    `day` allows the V1 form where the date and the time are separate fields.
    """
    if not value:
        return None
    text = value.strip()
    if day and "T" not in text:
        text = f"{day.strip()}T{text}"
    match = TIME.match(text)
    if not match:
        raise MissingField(f"unreadable time {value!r}")
    date, hours, minutes, seconds, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    moment = datetime.fromisoformat(f"{date}T{hours}:{minutes}:{seconds}").replace(
        microsecond=micro, tzinfo=UTC
    )
    if zone and zone != "Z":
        moment = datetime.fromisoformat(f"{date}T{hours}:{minutes}:{seconds}{zone}").replace(
            microsecond=micro
        )
    return moment.astimezone(UTC)


def isoformat(moment: datetime) -> str:
    """RFC 3339 in UTC with the `Z` STAC expects, keeping the file's microseconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def closed_ring(points: list[tuple[float, float]]) -> list[list[float]]:
    """The footprint as a closed, counter-clockwise GeoJSON ring (the right-hand rule)."""
    ring = [list(p) for p in points]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    area = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))
    return ring if area > 0 else ring[::-1]


def scene_to_item(
    scene: Scene,
    collection: str,
    href_dir: str,
    providers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The STAC item of a scene; asset hrefs are `href_dir` + the product's file names."""
    if len(scene.footprint) < 3:
        raise MissingFootprint("footprint has fewer than 3 vertices")
    for lon, lat in scene.footprint:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90) or math.isnan(lon + lat):
            raise MissingFootprint(f"footprint vertex ({lon}, {lat}) is not a longitude/latitude")
    ring = closed_ring(scene.footprint)
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    platform = scene.platform
    properties: dict[str, Any] = {
        "title": " ".join(
            v
            for v in (
                platform.label,
                scene.spectral_mode,
                scene.acquired.date().isoformat(),
                scene.level,
            )
            if v
        ),
        "datetime": isoformat(scene.acquired),
        "platform": platform.id,
        "constellation": scene.mission.constellation,
        "instruments": [platform.instrument],
    }
    if scene.start and scene.end and scene.start <= scene.acquired <= scene.end:
        properties["start_datetime"] = isoformat(scene.start)
        properties["end_datetime"] = isoformat(scene.end)
    optional = {
        "gsd": scene.gsd,
        "eo:cloud_cover": scene.cloud_cover,
        "eo:snow_cover": scene.snow_cover,
        "view:incidence_angle": scene.incidence,
        "view:off_nadir": scene.off_nadir,
        "view:azimuth": scene.azimuth,
        "view:sun_azimuth": scene.sun_azimuth,
        "view:sun_elevation": scene.sun_elevation,
        "sat:orbit_state": scene.orbit_state,
        "sat:absolute_orbit": scene.absolute_orbit,
        "processing:level": scene.level,
        "processing:facility": scene.processing_facility,
        "processing:software": scene.processing_software,
        "processing:datetime": isoformat(scene.production_datetime)
        if scene.production_datetime
        else None,
        "proj:code": f"EPSG:{scene.epsg}" if scene.epsg else None,
        "proj:shape": list(scene.shape) if scene.shape else None,
        "proj:transform": list(scene.transform) if scene.transform else None,
        "dinamis:datastrip_id": scene.datastrip_id,
    }
    properties.update({k: v for k, v in optional.items() if v is not None})
    if providers:
        properties["providers"] = providers

    assets = product_assets(scene, href_dir)
    used = {key.split(":")[0] for key in properties if ":" in key}
    if any("bands" in a for a in assets.values()):
        used.add("eo")
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [url for prefix, url in EXTENSIONS.items() if prefix in used],
        "id": scene.id,
        "collection": collection,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "properties": properties,
        # A standalone item names its collection; the API regenerates this link when serving.
        "links": [{"rel": "collection", "href": "../collection.json", "type": "application/json"}],
        "assets": assets,
    }


def product_assets(scene: Scene, href_dir: str) -> dict[str, dict[str, Any]]:
    """Every image file, the metadata file, the quicklook and the thumbnail."""
    assets: dict[str, dict[str, Any]] = {}
    keys = data_keys([f.path for f in scene.data_files])
    for key, data in zip(keys, scene.data_files, strict=True):
        asset: dict[str, Any] = {
            "href": href_dir + data.path,
            "type": data.media_type,
            "title": "Image" if key == "data" else f"Image {key.removeprefix('data-')}",
            "roles": ["data"],
        }
        if data.bands:
            asset["bands"] = [b.as_stac() for b in data.bands]
        assets[key] = asset
    assets["metadata"] = {
        "href": href_dir + scene.metadata_path,
        "type": "application/xml",
        "title": "Métadonnées DIMAP",
        "roles": ["metadata"],
    }
    if scene.quicklook:
        assets["overview"] = {
            "href": href_dir + scene.quicklook,
            "type": media_type_of(scene.quicklook),
            "title": "Aperçu (quicklook)",
            "roles": ["overview"],
        }
    if scene.thumbnail:
        assets["thumbnail"] = {
            "href": href_dir + scene.thumbnail,
            "type": media_type_of(scene.thumbnail),
            "title": "Vignette",
            "roles": ["thumbnail"],
        }
    return assets


def data_keys(paths: list[str]) -> list[str]:
    """`data` for a single image file; otherwise `data-<what differs>` (R1C2, RGB_R1C1…)."""
    if len(paths) == 1:
        return ["data"]
    stems = [p.rsplit("/", 1)[-1].rsplit(".", 1)[0] for p in paths]
    prefix = len(_common_prefix(stems))
    keys = [f"data-{s[prefix:].strip('_-') or i}" for i, s in enumerate(stems, 1)]
    return keys if len(set(keys)) == len(keys) else [f"data-{i}" for i in range(1, len(paths) + 1)]


def _common_prefix(values: list[str]) -> str:
    first, last = min(values), max(values)
    size = 0
    while size < len(first) and first[size] == last[size]:
        size += 1
    # Back up to a separator so that `R1C1`/`R1C2` keep their whole name.
    while size and first[size - 1] not in "_-":
        size -= 1
    return first[:size]


def media_type_of(path: str) -> str:
    suffix = path.rsplit(".", 1)[-1].lower()
    return {
        "jp2": "image/jp2",
        "tif": "image/tiff; application=geotiff",
        "tiff": "image/tiff; application=geotiff",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "xml": "application/xml",
    }.get(suffix, "application/octet-stream")
