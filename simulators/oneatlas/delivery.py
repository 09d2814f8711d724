"""The products the simulated OneAtlas delivers: a zip holding one small but real DIMAP V2
product (SPOT 6/7, Pléiades or Pléiades Neo) that `ingest/` reads like any other.

- `DIM_<name>.XML`, modelled on Airbus' own files (see the samples the ingest tests read):
  the scene's mission, datastrip (`Dataset_Sources/.../SOURCE_ID`, which becomes the item's
  `dinamis:datastrip_id`, so that the scene leaves the commandable listing once ingested),
  acquisition time, angles, cloud and snow cover, and the ordered processing options;
- `IMG_<name>_R1C1.TIF`, a Cloud-Optimized GeoTIFF (deflate, 128-pixel tiles, an overview) of
  at most 256 pixels a side over the ordered area ∩ the scene: 4 bands (R, G, B, NIR) or 1
  (panchromatic), uint16 below 4096 (12 bits) or uint8 (8 bits, display). Projected and ortho
  products are in the ordered CRS (UTM by default), primary ones in EPSG:4326 (Airbus' are in
  sensor geometry with RPCs; this stands in for them). Outside the area, pixels are nodata (0);
- `PREVIEW_<name>.JPG` and `ICON_<name>.JPG`.

The product's extent (its DIMAP footprint, so the item's geometry) is what was delivered: the
ordered area within the scene. The pixels are coarser than the product's resolution (which the
metadata gives): a stand-in, small and fast (well under a second), and the same bytes for the
same delivery.

Names follow Airbus': `SPOT6_PMS_202012141415240_ORT_5588528101` (platform, spectral mode,
acquisition time to the tenth of a second, level, job number), `PNEO3_<time>_PMS_ORT_<job>`.
Deliveries of a bundle hold its multispectral half only (one product per delivery).
"""

from __future__ import annotations

import hashlib
import io
import math
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from lxml import etree
from PIL import Image
from pyproj import Transformer
from rasterio.features import geometry_mask
from rasterio.transform import from_origin
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from extensions.geodesy import area_km2
from ingest.dimap.bands import nominal_bands
from pgstac.missions import AIRBUS_PLATFORMS
from simulators.archive.rasters import REFLECTANCE, smooth_noise

MAX_PIXELS = 256
BLOCK = 128
EARTH_RADIUS_KM = 6371.0
GROUND_SPEED_KM_S = 7.0
SPECTRAL = {"pansharpened": "PMS", "multispectral": "MS", "bundle": "MS", "panchromatic": "P"}
# Order processing level → DIMAP PROCESSING_LEVEL, the level in the name, GEOMETRIC_PROCESSING.
LEVELS = {
    "PRIMARY": ("SENSOR", "SEN", "SENSOR"),
    "PROJECTED": ("ORTHO", "PRJ", "PROJECTED"),
    "ORTHO": ("ORTHO", "ORT", "ORTHO"),
}
CLOUD_REFLECTANCE = 0.55


@dataclass(frozen=True)
class Options:
    """The production options of an order (OneAtlas' names and values)."""

    product_type: str = "pansharpened"
    processing_level: str = "ORTHO"
    radiometric_processing: str = "BASIC"
    pixel_coding: str = "12bits"
    image_format: str = "image/geotiff"
    crs_epsg: int | None = None  # None: the UTM zone of the area

    @classmethod
    def from_order(cls, product: dict[str, Any]) -> Options:
        """The options of one product of an archive order (validated by the simulator)."""
        code = product.get("crsCode")
        return cls(
            product_type=product["productType"],
            processing_level=product["processingLevel"],
            radiometric_processing=product["radiometricProcessing"],
            pixel_coding=product["pixelCoding"],
            image_format=product["imageFormat"],
            crs_epsg=int(str(code).rsplit(":", 1)[-1]) if code else None,
        )


@dataclass(frozen=True)
class ProductSpec:
    """What a delivered product says, fixed when the order or the tasking is placed."""

    key: str
    """The delivery's id: it seeds the pixels and numbers the job."""
    platform: str  # OneAtlas' name: SPOT6, PHR1A, PNEO3…
    datastrip: str
    acquired: datetime
    extent: dict[str, Any]  # GeoJSON (EPSG:4326): the ordered area within the scene
    cloud_cover: float
    snow_cover: float
    incidence: float
    azimuth: float
    sun_azimuth: float
    sun_elevation: float
    produced: datetime
    options: Options = field(default_factory=Options)
    order_reference: str = ""

    @property
    def mission(self) -> tuple[str, str, str]:
        """DIMAP MISSION and MISSION_INDEX, and the STAC constellation."""
        family, satellite = AIRBUS_PLATFORMS[self.platform]
        return family.dimap[0], satellite.dimap_index, family.constellation

    @property
    def job(self) -> int:
        """Airbus' JOB_ID, ten digits."""
        digest = hashlib.sha256(self.key.encode()).digest()
        return 1_000_000_000 + int.from_bytes(digest[:8], "big") % 9_000_000_000

    @property
    def spectral(self) -> str:
        mode = SPECTRAL[self.options.product_type]
        return "PAN" if mode == "P" and self.mission[0] == "PNEO" else mode

    @property
    def name(self) -> str:
        """The product's name: its DIMAP file is `DIM_<name>.XML`, its item id `<name>`."""
        stamp = self.acquired.strftime("%Y%m%d%H%M%S") + str(self.acquired.microsecond // 100_000)
        level = LEVELS[self.options.processing_level][1]
        if self.mission[0] == "PNEO":
            return f"{self.platform}_{stamp}_{self.spectral}_{level}_{self.job}"
        return f"{self.platform}_{self.spectral}_{stamp}_{level}_{self.job}"

    @property
    def gsd(self) -> float:
        pan, ms = AIRBUS_PLATFORMS[self.platform][1].gsd
        return ms if self.spectral == "MS" else pan


def scene_spec(
    feature: dict[str, Any],
    options: Options,
    extent: BaseGeometry,
    key: str,
    produced: datetime,
    order_reference: str = "",
) -> ProductSpec:
    """The product of a scene of the simulated archive (a OneAtlas feature), cut to `extent`."""
    props = feature["properties"]
    return ProductSpec(
        key=key,
        platform=props["platform"],
        datastrip=props["acquisitionIdentifier"],
        acquired=parse_iso(props["acquisitionDate"]),
        extent=mapping(extent),
        cloud_cover=float(props.get("cloudCover") or 0.0),
        snow_cover=float(props.get("snowCover") or 0.0),
        incidence=float(props.get("incidenceAngle") or 0.0),
        azimuth=float(props.get("azimuthAngle") or 0.0),
        sun_azimuth=float(props.get("illuminationAzimuthAngle") or 0.0),
        sun_elevation=float(props.get("illuminationElevationAngle") or 0.0),
        produced=produced,
        options=options,
        order_reference=order_reference,
    )


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def isoformat(moment: datetime, digits: int = 6) -> str:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond:06d}"[: len(text) + 1 + digits] + "Z"


def utm_epsg(lon: float, lat: float) -> int:
    zone = min(60, int((lon + 180) // 6) + 1)
    return (32600 if lat >= 0 else 32700) + zone


def viewing_angle(incidence: float, altitude_km: float) -> float:
    """The angle at the satellite of a ground incidence (spherical Earth)."""
    ratio = EARTH_RADIUS_KM / (EARTH_RADIUS_KM + altitude_km)
    return math.degrees(math.asin(ratio * math.sin(math.radians(incidence))))


# -- the zip -----------------------------------------------------------------------------------


def build_zip(spec: ProductSpec) -> bytes:
    """The delivery: `<name>/DIM_<name>.XML`, the image, its preview and icon."""
    raster = render(spec)
    name = spec.name
    files = {
        f"DIM_{name}.XML": (dimap(spec, raster), zipfile.ZIP_DEFLATED),
        raster.file_name: (raster.cog, zipfile.ZIP_STORED),  # compressed already; ranges work
        f"PREVIEW_{name}.JPG": (jpeg(raster.rgb, 512), zipfile.ZIP_STORED),
        f"ICON_{name}.JPG": (jpeg(raster.rgb, 128), zipfile.ZIP_STORED),
    }
    when = spec.produced.astimezone(UTC).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for file_name, (content, method) in files.items():
            info = zipfile.ZipInfo(f"{name}/{file_name}", date_time=when)
            info.compress_type = method
            archive.writestr(info, content)
    return out.getvalue()


@dataclass
class Raster:
    file_name: str
    cog: bytes
    rgb: np.ndarray  # (3, rows, cols) uint8, for the preview
    epsg: int
    transform: tuple[float, float, float, float, float, float]  # dx, 0, x0, 0, -dy, y0
    shape: tuple[int, int]
    bands: int
    nbits: int


def render(spec: ProductSpec) -> Raster:
    """The image over the product's extent, in its CRS, as a COG."""
    area = shape(spec.extent)
    centre = area.centroid
    primary = spec.options.processing_level == "PRIMARY"
    epsg = 4326 if primary else spec.options.crs_epsg or utm_epsg(centre.x, centre.y)
    if epsg == 4326:
        projected = area
        pixel_floor = spec.gsd / 111_320
    else:
        to = Transformer.from_crs(4326, epsg, always_xy=True)
        projected = shapely.transform(
            shapely.segmentize(area, 0.005),
            lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])),
        )
        pixel_floor = spec.gsd
    west, south, east, north = projected.bounds
    pixel = max((east - west) / MAX_PIXELS, (north - south) / MAX_PIXELS, pixel_floor)
    cols = max(1, math.ceil((east - west) / pixel))
    rows = max(1, math.ceil((north - south) / pixel))
    transform = from_origin(west, north, pixel, pixel)

    seed = np.frombuffer(hashlib.sha256(spec.key.encode()).digest()[:16], dtype=np.uint32)
    rng = np.random.default_rng(seed)
    reflectance = landscape(rng, rows, cols, spec.cloud_cover)  # (4, rows, cols): R, G, B, NIR
    inside = geometry_mask([projected], (rows, cols), transform, invert=True, all_touched=True)
    eight_bits = spec.options.pixel_coding == "8bits"
    if spec.spectral in ("P", "PAN"):
        reflectance = reflectance[:3].mean(axis=0, keepdims=True)
    if eight_bits:  # display: a stretch for the eye, 1-255
        low, high = np.percentile(reflectance[:, inside] if inside.any() else reflectance, (1, 99))
        scaled = (reflectance - low) / max(high - low, 1e-6) * 254 + 1
        image = np.clip(scaled, 1, 255).astype(np.uint8)
    else:
        image = np.clip(reflectance * (4095 / 0.6), 1, 4095).astype(np.uint16)
    image[:, ~inside] = 0

    file_name = f"IMG_{spec.name}_R1C1.TIF"
    profile = {
        "driver": "COG",
        "width": cols,
        "height": rows,
        "count": image.shape[0],
        "dtype": image.dtype.name,
        "crs": f"EPSG:{epsg}",
        "transform": transform,
        "nodata": 0,
        "compress": "deflate",
        "blocksize": BLOCK,
        "overview_resampling": "average",
    }
    with tempfile.TemporaryDirectory(prefix="dinamis-delivery-") as folder:
        path = Path(folder) / file_name
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(image)
            dst.descriptions = ("pan",) if image.shape[0] == 1 else ("red", "green", "blue", "nir")
        cog = path.read_bytes()
    return Raster(
        file_name=file_name,
        cog=cog,
        rgb=display(image),
        epsg=epsg,
        transform=(pixel, 0.0, west, 0.0, -pixel, north),
        shape=(rows, cols),
        bands=image.shape[0],
        nbits=8 if eight_bits else 12,
    )


def landscape(rng: np.random.Generator, rows: int, cols: int, cloud_cover: float) -> np.ndarray:
    """Surface reflectance (R, G, B, NIR) of water, forest, fields and towns, with clouds
    over about `cloud_cover` % of it."""
    size = max(rows, cols, 8)
    elevation, moisture, density, clouds = (smooth_noise(rng, size)[:rows, :cols] for _ in range(4))
    water = elevation < 0.22
    forest = ~water & (moisture > 0.58)
    town = ~water & ~forest & (density > 0.78)
    parcel = (np.arange(rows)[:, None] // 12) * 97 + (np.arange(cols)[None, :] // 16)
    vigour = rng.uniform(0.3, 1.2, parcel.max() + 1)[parcel]
    cloudy = clouds > np.quantile(clouds, 1 - cloud_cover / 100) if cloud_cover > 0 else None
    image = np.empty((4, rows, cols))
    for index, band in enumerate(("red", "green", "blue", "nir")):
        layer = REFLECTANCE["field"][band] * (vigour if band == "nir" else 1.5 - 0.6 * vigour)
        layer = np.where(forest, REFLECTANCE["forest"][band], layer)
        layer = np.where(town, REFLECTANCE["town"][band], layer)
        layer = np.where(water, REFLECTANCE["water"][band], layer)
        if cloudy is not None:
            layer = np.where(cloudy, CLOUD_REFLECTANCE, layer)
        image[index] = layer * (1 + rng.normal(0, 0.04, (rows, cols)))
    return image


def display(image: np.ndarray) -> np.ndarray:
    """8-bit true colour of the image (grey for a panchromatic one)."""
    rgb = np.repeat(image, 3, axis=0) if image.shape[0] == 1 else image[:3]
    valid = rgb[:, rgb.max(axis=0) > 0]
    low, high = np.percentile(valid, (2, 98)) if valid.size else (0, 1)
    scaled = (rgb.astype(np.float64) - low) / max(float(high - low), 1e-6)
    return (np.clip(scaled, 0, 1) * 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, size: int) -> bytes:
    picture = Image.fromarray(np.moveaxis(rgb, 0, -1))
    picture.thumbnail((size, size))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80)
    return out.getvalue()


# -- the DIMAP file -----------------------------------------------------------------------------


def element(parent: Any, tag: str, text: Any = None, **attributes: str) -> Any:
    node = etree.SubElement(parent, tag, **attributes)
    if text is not None:
        node.text = str(text)
    return node


def group(parent: Any, tag: str, **children: Any) -> Any:
    node = etree.SubElement(parent, tag)
    for name, value in children.items():
        element(node, name, value)
    return node


def dimap(spec: ProductSpec, raster: Raster) -> bytes:
    """The DIMAP V2 metadata of the product, in the order and with the names of Airbus' files."""
    mission, index, constellation = spec.mission
    level, _, geometric = LEVELS[spec.options.processing_level]
    name = spec.name
    area = shape(spec.extent)
    outline = area if area.geom_type == "Polygon" else area.convex_hull
    duration = timedelta(seconds=max(0.5, (area.bounds[3] - area.bounds[1]) * 111.0 / 7.0))
    start, end = spec.acquired - duration / 2, spec.acquired + duration / 2

    root = etree.Element("Dimap_Document", version="2.15")
    ident = group(root, "Metadata_Identification", METADATA_FORMAT="DIMAP")
    ident[0].set("version", "2.15")
    element(ident, "METADATA_PROFILE", f"{mission}_{'SENSOR' if level == 'SENSOR' else 'ORTHO'}")
    element(ident, "METADATA_SUBPROFILE", "PRODUCT")
    element(ident, "METADATA_LANGUAGE", "en")

    dataset = element(root, "Dataset_Identification")
    element(dataset, "DATASET_TYPE", "RASTER_SENSOR" if level == "SENSOR" else "RASTER_ORTHO")
    element(dataset, "DATASET_NAME", f"{spec.spectral}_{name}", version="1.0")
    element(dataset, "DATASET_TN_PATH", href=f"ICON_{name}.JPG")
    element(dataset, "DATASET_TN_FORMAT", "image/jpeg")
    element(dataset, "DATASET_QL_PATH", href=f"PREVIEW_{name}.JPG")
    element(dataset, "DATASET_QL_FORMAT", "image/jpeg")
    group(
        dataset,
        "Legal_Constraints",
        COPYRIGHT=f"Copyright (c) {spec.acquired.year} - AIRBUS DS - All rights reserved",
    )

    content = element(root, "Dataset_Content")
    element(content, "SURFACE_AREA", f"{area_km2(area):.3f}", unit="square km")
    element(content, "CLOUD_COVERAGE", f"{spec.cloud_cover:.2f}", unit="percent")
    element(content, "SNOW_COVERAGE", f"{spec.snow_cover:.2f}", unit="percent")
    extent = element(content, "Dataset_Extent")
    element(extent, "EXTENT_TYPE", "Polygon")
    for lon, lat in list(outline.exterior.coords)[:-1]:
        group(extent, "Vertex", LON=f"{lon:.10f}", LAT=f"{lat:.10f}")
    group(extent, "Center", LON=f"{area.centroid.x:.10f}", LAT=f"{area.centroid.y:.10f}")

    product = element(root, "Product_Information")
    delivery = group(
        product,
        "Delivery_Identification",
        PRODUCTION_DATE=isoformat(spec.produced, 3),
        JOB_ID=spec.job,
        PRODUCT_TYPE=spec.options.product_type.upper(),
        PRODUCT_INFO=mission,
        DELIVERY_TYPE="NETWORK",
    )
    group(
        delivery,
        "Order_Identification",
        CUSTOMER_REFERENCE="DINAMIS",
        INTERNAL_REFERENCE=spec.order_reference or spec.key,
        COMMENT="OneAtlas simulator",
    )

    crs = element(root, "Coordinate_Reference_System")
    if raster.epsg == 4326:
        group(
            crs,
            "Geodetic_CRS",
            GEODETIC_CRS_TYPE="GEOGRAPHIC2D",
            GEODETIC_CRS_NAME="WGS 84",
            GEODETIC_CRS_CODE="urn:ogc:def:crs:EPSG::4326",
        )
    else:
        group(
            crs,
            "Projected_CRS",
            PROJECTED_CRS_NAME=f"EPSG {raster.epsg}",
            PROJECTED_CRS_CODE=f"urn:ogc:def:crs:EPSG::{raster.epsg}",
        )
    group(crs, "Temporal_CRS", TEMPORAL_CRS_NAME="UTC")

    geoposition = element(root, "Geoposition")
    group(
        geoposition,
        "Raster_CRS",
        RASTER_GEOMETRY="SENSOR" if raster.epsg == 4326 else "GROUND",
        PIXEL_ORIENTATION="UL",
        PIXEL_CRS_TYPE="CELL",
        PIXEL_ORIGIN=1,
    )
    if raster.epsg != 4326:  # sensor products have RPCs instead (not simulated)
        dx, _, x0, _, dy, y0 = raster.transform
        group(
            geoposition,
            "Geoposition_Insert",
            ULXMAP=f"{x0:.3f}",
            ULYMAP=f"{y0:.3f}",
            XDIM=f"{dx:.6f}",
            YDIM=f"{-dy:.6f}",
        )

    processing = element(root, "Processing_Information")
    facility = element(processing, "Production_Facility")
    element(facility, "SOFTWARE", "OneAtlas simulator", version="1.0")
    element(facility, "PROCESSING_CENTER", "DINAMIS")
    settings = group(
        processing,
        "Product_Settings",
        PROCESSING_LEVEL=level,
        SPECTRAL_PROCESSING=spec.spectral,
    )
    group(
        settings,
        "Geometric_Settings",
        GEOMETRIC_PROCESSING=geometric,
        EPHEMERIS_USED="CORRECTED",
        ATTITUDES_USED="CORRECTED",
    )
    group(
        settings,
        "Radiometric_Settings",
        RADIOMETRIC_PROCESSING=spec.options.radiometric_processing,
    )
    sampling = element(settings, "Sampling_Settings")
    element(sampling, "RESAMPLING_SPACING", spec.gsd, unit="m")
    element(sampling, "RESAMPLING_KERNEL", "BICUBIC")

    bands = nominal_bands(constellation, spec.spectral, raster.bands)
    data = element(root, "Raster_Data")
    access = element(data, "Data_Access")
    element(access, "DATA_FILE_ORGANISATION", "BAND_COMPOSITE")
    element(access, "DATA_FILE_FORMAT", "image/geotiff")
    element(access, "DATA_FILE_TILES", "false")
    files = element(access, "Data_Files")
    data_file = element(files, "Data_File", tile_R="1", tile_C="1")
    element(data_file, "DATA_FILE_PATH", href=raster.file_name)
    group(
        data,
        "Raster_Dimensions",
        NROWS=raster.shape[0],
        NCOLS=raster.shape[1],
        NBANDS=raster.bands,
    )
    group(
        data,
        "Raster_Encoding",
        DATA_TYPE="INTEGER",
        NBITS=raster.nbits,
        SIGN="UNSIGNED",
        COMPRESSION_TYPE="LOSSLESS",
    )
    display_order = element(data, "Raster_Display")
    if len(bands) == 4:
        group(
            display_order,
            "Band_Display_Order",
            RED_CHANNEL=bands[0].name,
            GREEN_CHANNEL=bands[1].name,
            BLUE_CHANNEL=bands[2].name,
            ALPHA_CHANNEL=bands[3].name,
        )
    group(display_order, "Special_Value", SPECIAL_VALUE_TEXT="NODATA", SPECIAL_VALUE_COUNT=0)

    radiometry = element(root, "Radiometric_Data")
    group(radiometry, "Dynamic_Range", ACQUISITION_RANGE=12, PRODUCT_RANGE=raster.nbits)
    measures = element(
        element(element(radiometry, "Radiometric_Calibration"), "Instrument_Calibration"),
        "Band_Measurement_List",
    )
    for band in bands:
        group(
            measures,
            "Band_Spectral_Range",
            BAND_ID=band.name,
            MEASURE_UNIT="micrometers",
            MIN=band.minimum_um,
            MAX=band.maximum_um,
        )

    geometry = element(root, "Geometric_Data")
    if level == "SENSOR":
        model = element(geometry, "Refined_Model")
        element(model, "MODEL_USED", "SENSOR")
        group(
            element(model, "Time"),
            "Time_Range",
            START=isoformat(start),
            END=isoformat(end),
        )
    use_area = element(geometry, "Use_Area")
    viewing = viewing_angle(spec.incidence, AIRBUS_PLATFORMS[spec.platform][0].altitude_km)
    for location, moment in (
        ("Top Center", start),
        ("Center", spec.acquired),
        ("Bottom Center", end),
    ):
        located = group(use_area, "Located_Geometric_Values", LOCATION_TYPE=location)
        element(located, "TIME", isoformat(moment))
        group(
            located,
            "Acquisition_Angles",
            AZIMUTH_ANGLE=f"{spec.azimuth:.6f}",
            VIEWING_ANGLE=f"{viewing:.6f}",
            INCIDENCE_ANGLE=f"{spec.incidence:.6f}",
        )
        group(
            located,
            "Solar_Incidences",
            SUN_AZIMUTH=f"{spec.sun_azimuth:.6f}",
            SUN_ELEVATION=f"{spec.sun_elevation:.6f}",
        )

    sources = element(root, "Dataset_Sources")
    source = group(
        sources,
        "Source_Identification",
        SOURCE_ID=spec.datastrip,
        SOURCE_TYPE="Strip_Source",
        SOURCE_DESCRIPTION=f"{spec.platform} Data Strip",
    )
    strip = group(source, "Strip_Source", MISSION=mission, MISSION_INDEX=index)
    if mission != "PNEO":  # Pléiades Neo files have no INSTRUMENT
        element(strip, "INSTRUMENT", mission)
        element(strip, "INSTRUMENT_INDEX", index)
    element(strip, "IMAGING_DATE", start.strftime("%Y-%m-%d"))
    element(strip, "IMAGING_TIME", isoformat(start, 1).split("T")[1])
    element(strip, "BAND_MODE", "PX" if spec.spectral in ("P", "PAN") else spec.spectral)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
