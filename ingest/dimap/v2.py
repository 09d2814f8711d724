"""DIMAP V2 (`DIM_*.XML`): SPOT 6/7, Pléiades 1A/1B, Pléiades Neo.

The texts the reader needs are read by a few `Record`s, each one XPath evaluation in libxml2
for many fields: a harvest reads thousands of files a second, and a path search or a walk over
children per field, from Python, cost it more than the XML parse did.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ingest.dimap.bands import common_name, nominal_bands
from ingest.dimap.scene import (
    MEDIA_TYPES,
    Band,
    DataFile,
    MissingField,
    MissingFootprint,
    Scene,
    mission,
    parse_time,
)

Element = Any  # lxml element
Fields = dict[str, str]
SEPARATOR = "\ue000"
"""Between a record's texts: a private-use character, which no DIMAP field holds."""


class Record:
    """The stripped texts at several XPath paths under a node, by name, the empty ones left
    out; each path gives the text of the first node it selects."""

    def __init__(self, **paths: str) -> None:
        self.names = tuple(paths)
        joined = f", '{SEPARATOR}', ".join(f"string({path})" for path in paths.values())
        self.xpath = etree.XPath(f"concat({joined})")

    def __call__(self, node: Element) -> Fields:
        texts = self.xpath(node).split(SEPARATOR)
        if len(texts) != len(self.names):
            raise MissingField(f"a field holds the character U+E000 ({', '.join(self.names)})")
        return {
            name: value
            for name, text in zip(self.names, texts, strict=False)
            if (value := text.strip())
        }


# Located_Geometric_Values/LOCATION_TYPE of the scene centre, exactly (the others vary:
# "Top Center" in Pléiades, "TopCenter" in SPOT 6 and Pléiades Neo).
CENTER = "Center"
STRIP = "(Dataset_Sources/Source_Identification[Strip_Source])[1]"
CENTRE = f"(Geometric_Data/Use_Area/Located_Geometric_Values[LOCATION_TYPE='{CENTER}'])[1]"
SETTINGS = "(Processing_Information/Product_Settings)[1]"
FACILITY = "(Processing_Information/Production_Facility)[1]"
INSERT = "(Geoposition/Geoposition_Insert)[1]"
DIMENSIONS = "(Raster_Data/Raster_Dimensions)[1]"
PRODUCT = Record(
    strips=f"count({STRIP})",
    MISSION=f"{STRIP}/Strip_Source/MISSION",
    MISSION_INDEX=f"{STRIP}/Strip_Source/MISSION_INDEX",
    IMAGING_DATE=f"{STRIP}/Strip_Source/IMAGING_DATE",
    IMAGING_TIME=f"{STRIP}/Strip_Source/IMAGING_TIME",
    SOURCE_ID=f"{STRIP}/SOURCE_ID",
    TIME=f"{CENTRE}/TIME",
    INCIDENCE_ANGLE=f"{CENTRE}/Acquisition_Angles/INCIDENCE_ANGLE",
    VIEWING_ANGLE=f"{CENTRE}/Acquisition_Angles/VIEWING_ANGLE",
    AZIMUTH_ANGLE=f"{CENTRE}/Acquisition_Angles/AZIMUTH_ANGLE",
    SUN_AZIMUTH=f"{CENTRE}/Solar_Incidences/SUN_AZIMUTH",
    SUN_ELEVATION=f"{CENTRE}/Solar_Incidences/SUN_ELEVATION",
    START="(Geometric_Data/Refined_Model/Time/Time_Range)[1]/START",
    END="(Geometric_Data/Refined_Model/Time/Time_Range)[1]/END",
    VELOCITY_XYZ="Geometric_Data/Refined_Model/Ephemeris/Point_List/Point/VELOCITY_XYZ",
    CLOUD_COVERAGE="(Dataset_Content)[1]/CLOUD_COVERAGE",
    SNOW_COVERAGE="(Dataset_Content)[1]/SNOW_COVERAGE",
    PROCESSING_LEVEL=f"{SETTINGS}/PROCESSING_LEVEL",
    SPECTRAL_PROCESSING=f"{SETTINGS}/SPECTRAL_PROCESSING",
    RESAMPLING_SPACING=f"{SETTINGS}/Sampling_Settings/RESAMPLING_SPACING",
    PROCESSING_CENTER=f"{FACILITY}/PROCESSING_CENTER",
    SOFTWARE=f"{FACILITY}/SOFTWARE",
    SOFTWARE_VERSION=f"{FACILITY}/SOFTWARE/@version",
    PRODUCTION_DATE="(Product_Information/Delivery_Identification)[1]/PRODUCTION_DATE",
    NROWS=f"{DIMENSIONS}/NROWS",
    NCOLS=f"{DIMENSIONS}/NCOLS",
    NBANDS=f"{DIMENSIONS}/NBANDS",
    PROJECTED_CRS_CODE="Coordinate_Reference_System/Projected_CRS/PROJECTED_CRS_CODE",
    ULXMAP=f"{INSERT}/ULXMAP",
    ULYMAP=f"{INSERT}/ULYMAP",
    XDIM=f"{INSERT}/XDIM",
    YDIM=f"{INSERT}/YDIM",
    PIXEL_ORIENTATION="Geoposition/Raster_CRS/PIXEL_ORIENTATION",
    DATA_FILE_FORMAT="Raster_Data/Data_Access/DATA_FILE_FORMAT",
    DATASET_QL_PATH="(Dataset_Identification/DATASET_QL_PATH)[1]/@href",
    DATASET_TN_PATH="(Dataset_Identification/DATASET_TN_PATH)[1]/@href",
)
VERTEX = Record(LON="LON", LAT="LAT")
SPECTRAL_RANGE = Record(
    BAND_ID="BAND_ID",
    MIN="MIN",
    MAX="MAX",
    FWHM_MIN="FWHM/MIN",
    FWHM_MAX="FWHM/MAX",
    MEASURE_UNIT="MEASURE_UNIT",
)
RASTER_INDEX = Record(BAND_ID="BAND_ID", BAND_INDEX="BAND_INDEX")
LOCATED_TIMES = etree.XPath("Geometric_Data/Use_Area/Located_Geometric_Values/TIME/text()")
VERTICES = etree.XPath("Dataset_Content/Dataset_Extent/Vertex")
# Pléiades Neo nests MIN/MAX under FWHM, and some files put the list one level higher.
SPECTRAL_RANGES = etree.XPath("Radiometric_Data/Radiometric_Calibration//Band_Spectral_Range")
DISPLAY_ORDER = etree.XPath("Raster_Data/Raster_Display/Band_Display_Order/*")


def as_number(values: Fields, key: str) -> float | None:
    if (value := values.get(key)) is None:
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise MissingField(f"{key}: {value!r} is not a number") from exc


def text(node: Element, path: str) -> str | None:
    value = node.findtext(path)
    return value.strip() if value and value.strip() else None


def number(node: Element, path: str) -> float | None:
    return as_number({path: v} if (v := text(node, path)) else {}, path)


def href(node: Element, path: str) -> str | None:
    found = node.find(path)
    return found.get("href") if found is not None and found.get("href") else None


def item_id(file_name: str) -> str:
    """`DIM_<id>.XML` → `<id>`: the file name, which is unique per product, unlike the
    DATASET_NAME shared by the panchromatic and multispectral halves of a bundle."""
    stem = file_name.rsplit("/", 1)[-1]
    stem = stem[:-4] if stem.upper().endswith(".XML") else stem
    return stem[4:] if stem.upper().startswith("DIM_") else stem


def read_v2(root: Element, file_name: str) -> Scene:
    values = PRODUCT(root)
    if values["strips"] == "0":
        raise MissingField("no Dataset_Sources/Source_Identification/Strip_Source")
    family, platform = mission(values.get("MISSION", ""), values.get("MISSION_INDEX", ""))

    start, end = parse_time(values.get("START")), parse_time(values.get("END"))
    if start is None:  # ortho products have no Refined_Model: the corners' times bound it
        times = {t for t in map(parse_time, LOCATED_TIMES(root)) if t}
        if len(times) > 1:
            start, end = min(times), max(times)
    when = parse_time(values.get("TIME")) or parse_time(
        values.get("IMAGING_TIME"), day=values.get("IMAGING_DATE")
    )
    if when is None:
        raise MissingField("no acquisition time (Located_Geometric_Values or IMAGING_TIME)")

    scene = Scene(
        id=item_id(file_name),
        mission=family,
        platform=platform,
        metadata_path=file_name.rsplit("/", 1)[-1],
        acquired=when,
        start=start,
        end=end,
        footprint=footprint(root),
        level=values.get("PROCESSING_LEVEL"),
        spectral_mode=values.get("SPECTRAL_PROCESSING"),
        gsd=as_number(values, "RESAMPLING_SPACING"),
        cloud_cover=as_number(values, "CLOUD_COVERAGE"),
        snow_cover=as_number(values, "SNOW_COVERAGE"),
        incidence=as_number(values, "INCIDENCE_ANGLE"),
        off_nadir=as_number(values, "VIEWING_ANGLE"),
        azimuth=as_number(values, "AZIMUTH_ANGLE"),
        sun_azimuth=as_number(values, "SUN_AZIMUTH"),
        sun_elevation=as_number(values, "SUN_ELEVATION"),
        datastrip_id=values.get("SOURCE_ID"),
        orbit_state=orbit_state(values.get("VELOCITY_XYZ")),
        processing_facility=values.get("PROCESSING_CENTER"),
        processing_software=software(values.get("SOFTWARE"), values.get("SOFTWARE_VERSION")),
        production_datetime=parse_time(values.get("PRODUCTION_DATE")),
        quicklook=values.get("DATASET_QL_PATH"),
        thumbnail=values.get("DATASET_TN_PATH"),
    )
    rows, cols = as_number(values, "NROWS"), as_number(values, "NCOLS")
    if rows and cols:
        scene.shape = (int(rows), int(cols))
    if code := values.get("PROJECTED_CRS_CODE"):
        try:
            scene.epsg = int(code.rstrip(":").rsplit(":", 1)[-1])
        except ValueError as exc:
            raise MissingField(f"PROJECTED_CRS_CODE {code!r} is not an EPSG code") from exc
        scene.transform = geotransform(values)
    product_bands = bands(root) or nominal_bands(
        family.constellation, scene.spectral_mode, int(as_number(values, "NBANDS") or 0)
    )
    scene.data_files = data_files(root, values.get("DATA_FILE_FORMAT"), product_bands)
    return scene


def footprint(root: Element) -> list[tuple[float, float]]:
    points = []
    for vertex in VERTICES(root):
        values = VERTEX(vertex)
        lon, lat = as_number(values, "LON"), as_number(values, "LAT")
        if lon is None or lat is None:
            raise MissingFootprint("a Dataset_Extent vertex lacks LON or LAT")
        points.append((lon, lat))
    if len(points) < 3:
        raise MissingFootprint("no footprint: Dataset_Content/Dataset_Extent has no polygon")
    return points


def software(names: str | None, version: str | None) -> dict[str, str] | None:
    """`<SOFTWARE version="V2.9">DRS-MM V2.9</SOFTWARE>` → {"DRS-MM": "V2.9"}; Pléiades Neo
    lists several programs separated by `;`, in the text and in the version alike."""
    if not names:
        return None
    programs = [n.strip() for n in names.split(";")]
    versions = [v.strip() for v in (version or "").split(";")]
    versions += [""] * (len(programs) - len(versions))
    return {(n.removesuffix(v).strip() or n): v for n, v in zip(programs, versions, strict=False)}


def orbit_state(velocity: str | None) -> str | None:
    """Descending or ascending, from the direction of the satellite's velocity (ECEF z)."""
    try:
        z = float((velocity or "").split()[2])
    except (IndexError, ValueError):
        return None
    return "descending" if z < 0 else "ascending"


def geotransform(values: Fields) -> tuple[float, ...] | None:
    """proj:transform from Geoposition_Insert. ULXMAP/ULYMAP are the outer corner of the
    upper-left pixel (PIXEL_ORIENTATION UL, as in the SPOT 6 sample, whose first vertex lies
    half a pixel inside), or its centre when PIXEL_ORIENTATION says CENTER."""
    x, y = as_number(values, "ULXMAP"), as_number(values, "ULYMAP")
    dx, dy = as_number(values, "XDIM"), as_number(values, "YDIM")
    if x is None or y is None or not dx or not dy:
        return None
    if values.get("PIXEL_ORIENTATION", "UL").upper() == "CENTER":
        x, y = x - dx / 2, y + dy / 2
    return (dx, 0.0, x, 0.0, -dy, y)


def bands(root: Element) -> list[Band]:
    """The product's bands with their spectral ranges, in the order the image files hold
    them: the display order (R, G, B, NIR for SPOT 6/7 and Pléiades, as OTB and EOReader read
    them), else the order of the spectral ranges."""
    ranges: dict[str, Band] = {}
    for measure in SPECTRAL_RANGES(root):
        values = SPECTRAL_RANGE(measure)
        band_id = values.get("BAND_ID", "")
        low = as_number(values, "MIN") if "MIN" in values else as_number(values, "FWHM_MIN")
        high = as_number(values, "MAX") if "MAX" in values else as_number(values, "FWHM_MAX")
        unit = values.get("MEASURE_UNIT", "micrometers").lower()
        scale = 0.001 if unit.startswith("nano") or unit == "nm" else 1.0
        ranges[band_id] = Band(
            band_id,
            common_name(band_id),
            round(low * scale, 6) if low is not None else None,
            round(high * scale, 6) if high is not None else None,
        )
    order: list[str] = []
    for channel in DISPLAY_ORDER(root):
        band_id = (channel.text or "").strip()
        if band_id and band_id not in order:
            order.append(band_id)
    order += [b for b in ranges if b not in order]
    return [ranges.get(b) or Band(b, common_name(b), None, None) for b in order]


def data_files(root: Element, file_format: str | None, product_bands: list[Band]) -> list[DataFile]:
    """Every image file. Pléiades Neo 6-band products have two Data_Files blocks (R, G, B
    and NIR, red edge, deep blue), each listing its bands in Raster_Index_List."""
    media_type = MEDIA_TYPES.get((file_format or "").lower(), "application/octet-stream")
    by_id = {b.name: b for b in product_bands}
    files = []
    for block in root.iterfind("Raster_Data/Data_Access/Data_Files"):
        indexed = sorted(
            map(RASTER_INDEX, block.iterfind("Raster_Display/Raster_Index_List/Raster_Index")),
            key=lambda values: as_number(values, "BAND_INDEX") or 0,
        )
        block_bands = tuple(
            by_id.get(band_id) or Band(band_id, common_name(band_id), None, None)
            for band_id in (values.get("BAND_ID", "") for values in indexed)
        ) or tuple(product_bands)
        for data_file in block.iterfind("Data_File"):
            if path := href(data_file, "DATA_FILE_PATH"):
                files.append(DataFile(path, media_type, block_bands))
    return files
