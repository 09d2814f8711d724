"""DIMAP V1 (`METADATA.DIM`): SPOT 1-5 scenes, as archived by SPOT World Heritage.

Paths follow the DIMAP V1 dictionary (SPOT Scene profile), as GDAL, OTB and SNAP read them.
Real files range from complete to stripped: every field but the mission, the date and the
footprint is optional.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from ingest.dimap.bands import V1_BANDS
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
from ingest.dimap.v2 import Element, href, number, text

GRID = re.compile(r"^\s*(\d{3})\D?(\d{3})")
# Product ground sample distance by spectral mode (SPOT 1-4 and SPOT 5 HRG), for files
# without THEORETICAL_RESOLUTION.
MODE_GSD = {
    "X": 20.0,
    "XS": 20.0,
    "XI": 20.0,
    "I": 20.0,
    "P": 10.0,
    "M": 10.0,
    "M+X": 10.0,
    "M+I": 10.0,
    "P+X": 10.0,
}
SPOT5_MODE_GSD = {
    "X": 10.0,
    "J": 10.0,
    "I": 10.0,
    "A": 5.0,
    "B": 5.0,
    "HM": 5.0,
    "HM+X": 5.0,
    "T": 2.5,
    "T+X": 2.5,
}
BAND_ALIASES = {"XS4": "SWIR", "P": "PAN", "PAN": "PAN", "MIR": "SWIR"}


def read_v1(root: Element, file_name: str) -> Scene:
    information = root.find("Dataset_Sources/Source_Information[Scene_Source]")
    if information is None:
        raise MissingField("no Dataset_Sources/Source_Information/Scene_Source")
    source = information.find("Scene_Source")
    family, platform = mission(text(source, "MISSION") or "", text(source, "MISSION_INDEX") or "")
    if named := text(source, "INSTRUMENT"):  # SPOT 5 carries HRG or HRS
        platform = replace(platform, instrument=named.lower())
    day = text(source, "IMAGING_DATE")
    if day is None:
        raise MissingField("no Scene_Source/IMAGING_DATE")
    # The scene centre when the data strip gives it; else the imaging time (UTC).
    when = parse_time(text(root, "Data_Strip/Sensor_Configuration/Time_Stamp/SCENE_CENTER_TIME"))
    when = when or parse_time(text(source, "IMAGING_TIME") or "00:00:00", day=day)
    assert when is not None
    level = text(root, "Data_Processing/PROCESSING_LEVEL") or text(source, "SCENE_PROCESSING_LEVEL")
    mode = text(root, "Data_Processing/SPECTRAL_PROCESSING") or text(source, "SENSOR_CODE")
    instrument = (named or "") + (text(source, "INSTRUMENT_INDEX") or "")
    grid = GRID.match(text(source, "GRID_REFERENCE") or "")
    incidence = number(source, "INCIDENCE_ANGLE")
    viewing = number(source, "VIEWING_ANGLE")

    scene = Scene(
        id=scene_id(platform.id, when, grid, instrument, mode, level),
        mission=family,
        platform=platform,
        metadata_path=file_name.rsplit("/", 1)[-1],
        acquired=when,
        footprint=footprint(root),
        level=level,
        spectral_mode=mode,
        gsd=number(source, "THEORETICAL_RESOLUTION") or mode_gsd(platform.id, mode),
        incidence=abs(incidence) if incidence is not None else None,  # signed by side
        off_nadir=abs(viewing) if viewing is not None else None,  # SPOT 5 only
        sun_azimuth=number(source, "SUN_AZIMUTH"),
        sun_elevation=number(source, "SUN_ELEVATION"),
        datastrip_id=text(information, "SOURCE_ID"),
        processing_facility=text(root, "Production/Production_Facility/PROCESSING_CENTER"),
        processing_software=software(root),
        production_datetime=production_date(text(root, "Production/DATASET_PRODUCTION_DATE")),
        quicklook=href(root, "Dataset_Id/DATASET_QL_PATH"),
        thumbnail=href(root, "Dataset_Id/DATASET_TN_PATH"),
    )
    if (orbit := number(information, "Imaging_Parameters/REVOLUTION_NUMBER")) is not None:
        scene.absolute_orbit = int(orbit)
    rows, cols = number(root, "Raster_Dimensions/NROWS"), number(root, "Raster_Dimensions/NCOLS")
    if rows and cols:
        scene.shape = (int(rows), int(cols))
    projection(root, scene)
    scene.data_files = data_files(root, bands(root, platform.instrument))
    return scene


def scene_id(
    platform: str,
    when: datetime,
    grid: re.Match[str] | None,
    instrument: str,
    mode: str | None,
    level: str | None,
) -> str:
    """SPOT 1-5 files are all called METADATA.DIM: the id says what the scene is — platform,
    time, GRS grid reference (K-J), instrument, spectral mode and processing level, e.g.
    `SPOT4_20010301T103855_037-262_HRVIR2_I_1A`."""
    parts = [
        platform.upper().replace("-", ""),
        when.strftime("%Y%m%dT%H%M%S"),
        f"{grid.group(1)}-{grid.group(2)}" if grid else None,
        instrument or None,
        mode,
        level,
    ]
    return "_".join(re.sub(r"[^A-Za-z0-9-]+", "-", p).strip("-") for p in parts if p)


def mode_gsd(platform: str, mode: str | None) -> float | None:
    table = SPOT5_MODE_GSD if platform == "spot-5" else MODE_GSD
    return table.get((mode or "").upper())


def production_date(value: str | None) -> datetime | None:
    """`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`."""
    if not value:
        return None
    return parse_time(value if re.search(r"\d[T ]\d", value) else f"{value}T00:00:00")


def software(root: Element) -> dict[str, str] | None:
    name = text(root, "Production/Production_Facility/SOFTWARE_NAME")
    return (
        {name: text(root, "Production/Production_Facility/SOFTWARE_VERSION") or ""}
        if name
        else None
    )


def footprint(root: Element) -> list[tuple[float, float]]:
    points = []
    for vertex in root.iterfind("Dataset_Frame/Vertex"):
        lon, lat = number(vertex, "FRAME_LON"), number(vertex, "FRAME_LAT")
        if lon is None or lat is None:
            raise MissingFootprint("a Dataset_Frame vertex lacks FRAME_LON or FRAME_LAT")
        points.append((lon, lat))
    if len(points) < 3:
        raise MissingFootprint("no footprint: the file has no Dataset_Frame")
    return points


def projection(root: Element, scene: Scene) -> None:
    """Level 2A scenes are projected (UTM); levels 1A and 1B are not."""
    code = text(root, "Coordinate_Reference_System/Horizontal_CS/HORIZONTAL_CS_CODE") or ""
    epsg = re.search(r"(\d+)$", code)
    if not epsg or epsg.group(1) == "4326" or scene.level in ("0", "1A", "1B"):
        return
    scene.epsg = int(epsg.group(1))
    insert = root.find("Geoposition/Geoposition_Insert")
    if insert is not None:
        x, y = number(insert, "ULXMAP"), number(insert, "ULYMAP")
        dx, dy = number(insert, "XDIM"), number(insert, "YDIM")
        if x is not None and y is not None and dx and dy:
            scene.transform = (dx, 0.0, x, 0.0, -dy, y)  # ULXMAP: outer corner, as GDAL


def bands(root: Element, instrument: str) -> list[Band]:
    """Bands by BAND_INDEX, with the instrument's nominal ranges (V1 files carry none)."""
    nominal = V1_BANDS.get(instrument, {})
    infos = sorted(
        root.iterfind("Image_Interpretation/Spectral_Band_Info"),
        key=lambda node: number(node, "BAND_INDEX") or 0,
    )
    found = []
    for info in infos:
        name = (text(info, "BAND_DESCRIPTION") or text(info, "BAND_INDEX") or "").upper()
        name = BAND_ALIASES.get(name, name)
        found.append(nominal.get(name) or Band(name, None, None, None))
    return found


def data_files(root: Element, product_bands: list[Band]) -> list[DataFile]:
    declared = (text(root, "Data_Access/DATA_FILE_FORMAT") or "").lower()
    files = []
    for node in root.iterfind("Data_Access/Data_File"):
        if path := href(node, "DATA_FILE_PATH"):
            tiff = "tif" in declared or path.lower().endswith((".tif", ".tiff"))
            media_type = (
                MEDIA_TYPES["image/tiff"]
                if tiff
                else MEDIA_TYPES.get(declared, "application/octet-stream")
            )
            files.append(DataFile(path, media_type, tuple(product_bands)))
    return files
