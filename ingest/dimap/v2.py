"""DIMAP V2 (`DIM_*.XML`): SPOT 6/7, Pléiades 1A/1B, Pléiades Neo.

Each small element the reader needs (the strip source, the centre location, a vertex, a
band…) is read once into a dict of its children's texts (`fields`): a harvest reads
thousands of files a second, and a path search per field would cost more than the XML parse.
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

# Located_Geometric_Values/LOCATION_TYPE of the scene centre, exactly (the others vary:
# "Top Center" in Pléiades, "TopCenter" in SPOT 6 and Pléiades Neo).
CENTER = "Center"
CENTRE = etree.XPath(f"Geometric_Data/Use_Area/Located_Geometric_Values[LOCATION_TYPE='{CENTER}']")
LOCATED_TIMES = etree.XPath("Geometric_Data/Use_Area/Located_Geometric_Values/TIME/text()")


def fields(node: Element | None) -> Fields:
    """The texts of a node's children and grandchildren by tag path (`A`, `A/B`); the first
    occurrence of a path wins."""
    found: Fields = {}
    if node is None:
        return found
    for child in node:
        tag = child.tag
        if not isinstance(tag, str):  # comments, processing instructions
            continue
        if (value := (child.text or "").strip()) and tag not in found:
            found[tag] = value
        for grandchild in child:
            if isinstance(grandchild.tag, str) and (value := (grandchild.text or "").strip()):
                found.setdefault(f"{tag}/{grandchild.tag}", value)
    return found


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
    strip = root.find("Dataset_Sources/Source_Identification[Strip_Source]")
    if strip is None:
        raise MissingField("no Dataset_Sources/Source_Identification/Strip_Source")
    source = fields(strip.find("Strip_Source"))
    family, platform = mission(source.get("MISSION", ""), source.get("MISSION_INDEX", ""))

    centre = fields(next(iter(CENTRE(root)), None))
    time_range = fields(root.find("Geometric_Data/Refined_Model/Time/Time_Range"))
    start, end = parse_time(time_range.get("START")), parse_time(time_range.get("END"))
    if start is None:  # ortho products have no Refined_Model: the corners' times bound it
        times = {t for t in map(parse_time, LOCATED_TIMES(root)) if t}
        if len(times) > 1:
            start, end = min(times), max(times)
    when = parse_time(centre.get("TIME")) or parse_time(
        source.get("IMAGING_TIME"), day=source.get("IMAGING_DATE")
    )
    if when is None:
        raise MissingField("no acquisition time (Located_Geometric_Values or IMAGING_TIME)")

    content = fields(root.find("Dataset_Content"))
    settings = fields(root.find("Processing_Information/Product_Settings"))
    facility = root.find("Processing_Information/Production_Facility")
    delivery = fields(root.find("Product_Information/Delivery_Identification"))
    dimensions = fields(root.find("Raster_Data/Raster_Dimensions"))
    scene = Scene(
        id=item_id(file_name),
        mission=family,
        platform=platform,
        metadata_path=file_name.rsplit("/", 1)[-1],
        acquired=when,
        start=start,
        end=end,
        footprint=footprint(root),
        level=settings.get("PROCESSING_LEVEL"),
        spectral_mode=settings.get("SPECTRAL_PROCESSING"),
        gsd=as_number(settings, "Sampling_Settings/RESAMPLING_SPACING"),
        cloud_cover=as_number(content, "CLOUD_COVERAGE"),
        snow_cover=as_number(content, "SNOW_COVERAGE"),
        incidence=as_number(centre, "Acquisition_Angles/INCIDENCE_ANGLE"),
        off_nadir=as_number(centre, "Acquisition_Angles/VIEWING_ANGLE"),
        azimuth=as_number(centre, "Acquisition_Angles/AZIMUTH_ANGLE"),
        sun_azimuth=as_number(centre, "Solar_Incidences/SUN_AZIMUTH"),
        sun_elevation=as_number(centre, "Solar_Incidences/SUN_ELEVATION"),
        datastrip_id=text(strip, "SOURCE_ID"),
        orbit_state=orbit_state(root),
        processing_facility=text(facility, "PROCESSING_CENTER") if facility is not None else None,
        processing_software=software(facility.find("SOFTWARE") if facility is not None else None),
        production_datetime=parse_time(delivery.get("PRODUCTION_DATE")),
        quicklook=href(root, "Dataset_Identification/DATASET_QL_PATH"),
        thumbnail=href(root, "Dataset_Identification/DATASET_TN_PATH"),
    )
    rows, cols = as_number(dimensions, "NROWS"), as_number(dimensions, "NCOLS")
    if rows and cols:
        scene.shape = (int(rows), int(cols))
    if code := text(root, "Coordinate_Reference_System/Projected_CRS/PROJECTED_CRS_CODE"):
        try:
            scene.epsg = int(code.rstrip(":").rsplit(":", 1)[-1])
        except ValueError as exc:
            raise MissingField(f"PROJECTED_CRS_CODE {code!r} is not an EPSG code") from exc
        scene.transform = geotransform(root)
    product_bands = bands(root) or nominal_bands(
        family.constellation, scene.spectral_mode, int(as_number(dimensions, "NBANDS") or 0)
    )
    scene.data_files = data_files(root, product_bands)
    return scene


def footprint(root: Element) -> list[tuple[float, float]]:
    points = []
    for vertex in root.iterfind("Dataset_Content/Dataset_Extent/Vertex"):
        values = fields(vertex)
        lon, lat = as_number(values, "LON"), as_number(values, "LAT")
        if lon is None or lat is None:
            raise MissingFootprint("a Dataset_Extent vertex lacks LON or LAT")
        points.append((lon, lat))
    if len(points) < 3:
        raise MissingFootprint("no footprint: Dataset_Content/Dataset_Extent has no polygon")
    return points


def software(node: Element | None) -> dict[str, str] | None:
    """`<SOFTWARE version="V2.9">DRS-MM V2.9</SOFTWARE>` → {"DRS-MM": "V2.9"}; Pléiades Neo
    lists several programs separated by `;`, in the text and in the version alike."""
    if node is None or not (node.text or "").strip():
        return None
    names = [n.strip() for n in node.text.split(";")]
    versions = [v.strip() for v in (node.get("version") or "").split(";")]
    versions += [""] * (len(names) - len(versions))
    return {(n.removesuffix(v).strip() or n): v for n, v in zip(names, versions, strict=False)}


def orbit_state(root: Element) -> str | None:
    """Descending or ascending, from the direction of the satellite's velocity (ECEF z)."""
    velocity = text(root, "Geometric_Data/Refined_Model/Ephemeris/Point_List/Point/VELOCITY_XYZ")
    try:
        z = float((velocity or "").split()[2])
    except (IndexError, ValueError):
        return None
    return "descending" if z < 0 else "ascending"


def geotransform(root: Element) -> tuple[float, ...] | None:
    """proj:transform from Geoposition_Insert. ULXMAP/ULYMAP are the outer corner of the
    upper-left pixel (PIXEL_ORIENTATION UL, as in the SPOT 6 sample, whose first vertex lies
    half a pixel inside), or its centre when PIXEL_ORIENTATION says CENTER."""
    insert = fields(root.find("Geoposition/Geoposition_Insert"))
    x, y = as_number(insert, "ULXMAP"), as_number(insert, "ULYMAP")
    dx, dy = as_number(insert, "XDIM"), as_number(insert, "YDIM")
    if x is None or y is None or not dx or not dy:
        return None
    if (text(root, "Geoposition/Raster_CRS/PIXEL_ORIENTATION") or "UL").upper() == "CENTER":
        x, y = x - dx / 2, y + dy / 2
    return (dx, 0.0, x, 0.0, -dy, y)


def bands(root: Element) -> list[Band]:
    """The product's bands with their spectral ranges, in the order the image files hold
    them: the display order (R, G, B, NIR for SPOT 6/7 and Pléiades, as OTB and EOReader read
    them), else the order of the spectral ranges."""
    ranges: dict[str, Band] = {}
    # Pléiades Neo nests MIN/MAX under FWHM, and some files put the list one level higher.
    for measure in root.iterfind("Radiometric_Data/Radiometric_Calibration//Band_Spectral_Range"):
        values = fields(measure)
        band_id = values.get("BAND_ID", "")
        low = as_number(values, "MIN") if "MIN" in values else as_number(values, "FWHM/MIN")
        high = as_number(values, "MAX") if "MAX" in values else as_number(values, "FWHM/MAX")
        unit = values.get("MEASURE_UNIT", "micrometers").lower()
        scale = 0.001 if unit.startswith("nano") or unit == "nm" else 1.0
        ranges[band_id] = Band(
            band_id,
            common_name(band_id),
            round(low * scale, 6) if low is not None else None,
            round(high * scale, 6) if high is not None else None,
        )
    order: list[str] = []
    for channel in root.iterfind("Raster_Data/Raster_Display/Band_Display_Order/*"):
        band_id = (channel.text or "").strip()
        if band_id and band_id not in order:
            order.append(band_id)
    order += [b for b in ranges if b not in order]
    return [ranges.get(b) or Band(b, common_name(b), None, None) for b in order]


def data_files(root: Element, product_bands: list[Band]) -> list[DataFile]:
    """Every image file. Pléiades Neo 6-band products have two Data_Files blocks (R, G, B
    and NIR, red edge, deep blue), each listing its bands in Raster_Index_List."""
    media_type = MEDIA_TYPES.get(
        (text(root, "Raster_Data/Data_Access/DATA_FILE_FORMAT") or "").lower(),
        "application/octet-stream",
    )
    by_id = {b.name: b for b in product_bands}
    files = []
    for block in root.iterfind("Raster_Data/Data_Access/Data_Files"):
        indexed = sorted(
            (fields(n) for n in block.iterfind("Raster_Display/Raster_Index_List/Raster_Index")),
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
