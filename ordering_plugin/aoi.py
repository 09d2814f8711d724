"""Areas of interest: a GeoJSON geometry, a bbox or a file (GeoJSON, KML, zipped shapefile),
checked, in EPSG:4326, with their geodesic area."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import box, mapping, shape
from shapely.validation import explain_validity

from extensions.errors import InvalidRequest, UnsupportedMediaType

SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".kml": "KML", ".zip": "shapefile"}


def from_geojson(value: dict[str, Any]) -> shapely.Geometry:
    """A GeoJSON geometry, Feature or FeatureCollection as one (multi)polygon."""
    kind = value.get("type")
    if kind == "FeatureCollection":
        parts = [from_geojson(f) for f in value.get("features") or []]
        if not parts:
            raise InvalidRequest("The area of interest holds no feature.")
        return checked(shapely.union_all(parts))
    if kind == "Feature":
        return from_geojson(value.get("geometry") or {})
    try:
        geometry = shape(value)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise InvalidRequest(f"The area of interest is not a GeoJSON geometry: {exc}") from exc
    return checked(geometry)


def from_bbox(values: list[float]) -> shapely.Geometry:
    if len(values) != 4:
        raise InvalidRequest("A bbox is four numbers: west, south, east, north.")
    west, south, east, north = values
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidRequest("The bbox must be west < east and south < north, in degrees.")
    return box(west, south, east, north)


def from_file(name: str, content: bytes, max_bytes: int) -> shapely.Geometry:
    """An uploaded file: GeoJSON, KML or a zipped shapefile, read with GDAL (pyogrio),
    reprojected to EPSG:4326 and merged into one geometry."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedMediaType(
            f"{name}: an area of interest is a GeoJSON, KML or zipped shapefile file."
        )
    if len(content) > max_bytes:
        raise InvalidRequest(f"{name} is over {max_bytes // 2**20} MB.")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"aoi{suffix}"
        path.write_bytes(content)
        if suffix == ".zip":
            path = _shapefile(path)
        try:
            geometries, crs = _read(path)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise InvalidRequest(f"{name} cannot be read as {SUFFIXES[suffix]}: {exc}") from exc
    if not geometries:
        raise InvalidRequest(f"{name} holds no geometry.")
    geometry = shapely.union_all(geometries)
    if crs and crs.upper() not in ("EPSG:4326", "OGC:CRS84"):
        transformer = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
        geometry = shapely.transform(
            geometry, lambda xy: np.column_stack(transformer.transform(*xy.T))
        )
    return checked(geometry)


def _read(path: Path) -> tuple[list[shapely.Geometry], str | None]:
    meta, _index, wkb, _fields = pyogrio.raw.read(path)
    geometries = [g for g in shapely.from_wkb([w for w in wkb if w is not None]) if g is not None]
    return geometries, meta.get("crs")


def _shapefile(archive: Path) -> Path:
    try:
        with zipfile.ZipFile(archive) as zipped:
            names = [
                n
                for n in zipped.namelist()
                if not n.startswith(("__MACOSX", "/")) and ".." not in n
            ]
            shp = [n for n in names if n.lower().endswith(".shp")]
            if len(shp) != 1:
                raise InvalidRequest(
                    "A zipped shapefile holds exactly one .shp (with its .shx, .dbf, .prj)."
                )
            zipped.extractall(archive.parent / "shp", members=names)
    except zipfile.BadZipFile as exc:
        raise InvalidRequest(f"Not a zip file: {exc}") from exc
    return archive.parent / "shp" / shp[0]


def checked(geometry: shapely.Geometry) -> shapely.Geometry:
    """A polygonal, valid geometry in longitude/latitude, or a clear error."""
    if geometry.is_empty:
        raise InvalidRequest("The area of interest is empty.")
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        if geometry.geom_type == "GeometryCollection":
            polygons = [g for g in geometry.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            if polygons:
                return checked(shapely.union_all(polygons))
        raise InvalidRequest(
            f"The area of interest must be a polygon or multipolygon, not a {geometry.geom_type}."
        )
    if not geometry.is_valid:
        raise InvalidRequest(
            f"The area of interest is not a valid polygon: {explain_validity(geometry)}."
        )
    west, south, east, north = geometry.bounds
    if not (west >= -180 and east <= 180 and south >= -90 and north <= 90):
        raise InvalidRequest(
            "The area of interest must be in longitude/latitude degrees (EPSG:4326)."
        )
    return geometry


def as_geojson(geometry: shapely.Geometry) -> dict[str, Any]:
    return dict(mapping(shapely.set_precision(geometry, 1e-7)))
