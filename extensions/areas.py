"""Geometries users bring: GeoJSON, a bbox, or a file (GeoJSON, KML, zipped shapefile) read
with GDAL (pyogrio) and reprojected to EPSG:4326.

The readers are shared: the catalogue's `POST /geometries` turns a file into an `intersects`
filter for /search and /aggregate (points, lines and polygons alike, as STAC allows), and the
ordering desk adds its own rules for areas of interest (polygons only) on top.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import pyogrio
import shapely
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError
from shapely.geometry import box, mapping, shape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from extensions.bodies import accepts_file, size
from extensions.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from extensions.geodesy import area_km2
from extensions.i18n import _
from extensions.services import ServicesDep

if TYPE_CHECKING:
    from extensions.settings import Settings

SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".kml": "KML", ".zip": "zipped shapefile"}
GEOJSON_TYPES = {
    "FeatureCollection",
    "Feature",
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}
LONLAT = ("EPSG:4326", "OGC:CRS84")
# A shapefile is its .shp with these siblings; the .prj is required: without it, the
# coordinates could be in any system and would be silently misplaced.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
SHAPEFILE_REQUIRED = (".shp", ".shx", ".prj")
UNZIPPED_MAX_BYTES = 100 * 2**20
"""A zipped shapefile's parts once unzipped: more is a zip bomb, not an area."""
ZIP_MAX_MEMBERS = 1000
"""Files in a zipped shapefile: a shapefile is a handful, a folder of them a few dozen."""
CHUNK = 2**20
# Simplification steps, in metres on the ground (a degree of latitude is 111.32 km; a degree
# of longitude is shorter, so the displacement is never more than stated).
TOLERANCES_M = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
METRES_PER_DEGREE = 111_320
GEOMETRIES_PATH = "/geometries"


class GeometrySettings(BaseSettings):
    """Imported geometry files (`POST /geometries`)."""

    model_config = SettingsConfigDict(env_prefix="DINAMIS_GEOMETRIES_", extra="ignore")

    max_mb: float = Field(default=10.0, gt=0)
    """Largest file accepted; larger ones get a 413."""
    max_vertices: int = Field(default=10_000, ge=100)
    """Above this many vertices (after merging the features) the geometry is simplified, so
    that the `intersects` filter stays a reasonable request for the API and the database."""

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 2**20)


# -- GeoJSON and bbox --------------------------------------------------------------------------


def geojson_geometries(value: Any) -> list[shapely.Geometry]:
    """The geometries of a GeoJSON geometry, Feature or FeatureCollection (in EPSG:4326, as
    RFC 7946 says), one per feature that has one."""
    if not isinstance(value, dict):
        raise InvalidRequest(_("Ce n'est pas un objet GeoJSON."))
    kind = value.get("type")
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list):
            raise InvalidRequest(_("Une FeatureCollection GeoJSON a une liste `features`."))
        return [g for f in features for g in geojson_geometries(f)]
    if kind == "Feature":
        geometry = value.get("geometry")
        return [] if geometry is None else geojson_geometries(geometry)
    try:
        geometry = shape(value)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise InvalidRequest(
            _(
                "Ce n'est pas une géométrie GeoJSON : %(problem)s.",
                problem=exc or type(exc).__name__,
            )
        ) from exc
    return [] if geometry.is_empty else [geometry]


def from_bbox(values: list[float]) -> shapely.Geometry:
    if len(values) != 4:
        raise InvalidRequest(_("Une bbox, ce sont quatre nombres : ouest, sud, est, nord."))
    west, south, east, north = values
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidRequest(_("La bbox doit avoir ouest < est et sud < nord, en degrés."))
    return box(west, south, east, north)


def as_geojson(geometry: shapely.Geometry) -> dict[str, Any]:
    """GeoJSON rounded to 1e-7° (about 1 cm): what GDAL and reprojection add beyond is noise."""
    return dict(mapping(shapely.set_precision(geometry, 1e-7)))


def in_degrees(geometry: shapely.Geometry) -> shapely.Geometry:
    """The geometry if its coordinates are longitudes and latitudes, or a clear error."""
    west, south, east, north = geometry.bounds
    if not (west >= -180 and east <= 180 and south >= -90 and north <= 90):
        raise InvalidRequest(
            _("La géométrie doit être en degrés de longitude et de latitude (EPSG:4326).")
        )
    return geometry


# -- files -------------------------------------------------------------------------------------


def file_kind(name: str) -> str:
    """What a file name says it is (GeoJSON, KML, zipped shapefile), or 415."""
    suffix = Path(name).suffix.lower()
    if suffix in SHAPEFILE_PARTS:
        raise UnsupportedMediaType(
            _(
                "%(name)s : un shapefile s'envoie en un seul .zip qui contient ses .shp, .shx, "
                ".dbf et .prj.",
                name=name,
            )
        )
    if suffix not in SUFFIXES:
        raise UnsupportedMediaType(
            _(
                "%(name)s : un fichier de géométrie est en GeoJSON (.geojson, .json), en KML "
                "(.kml) ou un shapefile zippé (.zip).",
                name=name,
            )
        )
    return SUFFIXES[suffix]


def read_file(name: str, content: bytes) -> list[shapely.Geometry]:
    """The geometries of an uploaded file, one per feature, 2D, in EPSG:4326.

    The name's suffix says what the file should be and its content must agree (415 for a
    suffix that is not accepted, 400 for content that is not what the suffix says); every
    layer is read (a KML's folders are layers), and the file's coordinate system is
    reprojected to EPSG:4326.
    """
    kind = file_kind(name)
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        if kind == "GeoJSON":
            _check_geojson(name, content)
        elif kind == "KML":
            _check_kml(name, content)
        path.write_bytes(content)
        if kind == "zipped shapefile":
            path = _unzip_shapefile(name, path)
        try:
            geometries = _read_layers(path)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            message = str(exc).replace(str(path), name).replace(folder, "")
            raise InvalidRequest(
                _(
                    "%(name)s ne se lit pas comme %(kind)s : %(problem)s",
                    name=name,
                    kind=kind,
                    problem=message,
                )
            ) from exc
        except (CRSError, ProjError) as exc:
            raise InvalidRequest(
                _("%(name)s : son système de coordonnées n'est pas compris.", name=name)
            ) from exc
    if not geometries:
        raise InvalidRequest(_("%(name)s ne contient aucune géométrie.", name=name))
    bounds = shapely.bounds(geometries)  # NaN for coordinates the projection could not map
    west, south = bounds[:, :2].min(axis=0)
    east, north = bounds[:, 2:].max(axis=0)
    if not np.isfinite([west, south, east, north]).all():
        raise InvalidRequest(
            _(
                "%(name)s : des coordonnées hors de la zone où son système de coordonnées est "
                "défini.",
                name=name,
            )
        )
    if not (west >= -180 and east <= 180 and south >= -90 and north <= 90):
        raise InvalidRequest(
            _(
                "%(name)s : les coordonnées ne sont pas des longitudes et latitudes ; un fichier "
                "dans un autre système de coordonnées doit le nommer (le .prj d'un shapefile, "
                "le membre `crs` d'un GeoJSON).",
                name=name,
            )
        )
    return geometries


def _check_geojson(name: str, content: bytes) -> None:
    try:
        value = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            _("%(name)s n'est pas du GeoJSON : pas du texte UTF-8.", name=name)
        ) from exc
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            _("%(name)s n'est pas du GeoJSON : pas du JSON (%(problem)s).", name=name, problem=exc)
        ) from exc
    if not isinstance(value, dict) or value.get("type") not in GEOJSON_TYPES:
        raise InvalidRequest(
            _(
                "%(name)s est du JSON mais pas du GeoJSON : son `type` doit être "
                "FeatureCollection, Feature ou un type de géométrie.",
                name=name,
            )
        )


def _check_kml(name: str, content: bytes) -> None:
    head = content[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<") or not re.search(rb"<([\w.-]+:)?kml[\s>/]", head):
        raise InvalidRequest(
            _("%(name)s n'est pas du KML : pas d'élément <kml> à son début.", name=name)
        )


def _unzip_shapefile(name: str, archive: Path) -> Path:
    """The archive's one shapefile, extracted under fixed names (no path from the archive is
    ever used on disk), or a clear error."""
    unzipped_too_large = _(
        "%(name)s dépasse %(size)s une fois dézippé.", name=name, size=size(UNZIPPED_MAX_BYTES)
    )
    try:
        with zipfile.ZipFile(archive) as zipped:
            if len(zipped.infolist()) > ZIP_MAX_MEMBERS:
                raise PayloadTooLarge(
                    _(
                        "%(name)s contient plus de %(count)s fichiers : un shapefile zippé "
                        "contient ses .shp, .shx, .dbf et .prj.",
                        name=name,
                        count=ZIP_MAX_MEMBERS,
                    )
                )
            members = [
                m
                for m in zipped.infolist()
                if not m.is_dir() and not m.filename.startswith("__MACOSX/")
            ]
            shps = [m for m in members if m.filename.lower().endswith(".shp")]
            if not shps:
                found = ", ".join(m.filename for m in members[:10]) or _("rien")
                raise InvalidRequest(
                    _(
                        "%(name)s ne contient aucun shapefile (.shp) mais %(found)s : un "
                        "shapefile zippé contient ses .shp, .shx, .dbf et .prj.",
                        name=name,
                        found=found,
                    )
                )
            if len(shps) > 1:
                raise InvalidRequest(
                    _(
                        "%(name)s contient %(count)s shapefiles (%(names)s) : envoyez-en un "
                        "par fichier.",
                        name=name,
                        count=len(shps),
                        names=", ".join(m.filename for m in shps[:5]),
                    )
                )
            stem = shps[0].filename[:-4].lower()
            parts = {
                PurePosixPath(m.filename).suffix.lower(): m
                for m in members
                if m.filename[:-4].lower() == stem
                and PurePosixPath(m.filename).suffix.lower() in SHAPEFILE_PARTS
            }
            missing = [s for s in SHAPEFILE_REQUIRED if s not in parts]
            if missing:
                shp = PurePosixPath(shps[0].filename).name
                why = _(" (son système de coordonnées)") if ".prj" in missing else ""
                raise InvalidRequest(
                    _(
                        "%(name)s : le shapefile %(shp)s vient sans ses %(missing)s%(why)s ; "
                        "zippez-le avec tous ses fichiers.",
                        name=name,
                        shp=shp,
                        missing=", ".join(missing),
                        why=why,
                    )
                )
            # The sizes the archive declares first, then the bytes counted as they are
            # unzipped: the headers may lie.
            if sum(m.file_size for m in parts.values()) > UNZIPPED_MAX_BYTES:
                raise PayloadTooLarge(unzipped_too_large)
            folder = archive.parent / "shapefile"
            folder.mkdir()
            budget = UNZIPPED_MAX_BYTES
            for suffix, member in parts.items():
                with zipped.open(member) as source, (folder / f"layer{suffix}").open("wb") as out:
                    while chunk := source.read(CHUNK):
                        budget -= len(chunk)
                        if budget < 0:
                            raise PayloadTooLarge(unzipped_too_large)
                        out.write(chunk)
    # RuntimeError: an encrypted member; NotImplementedError: an unknown compression.
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        RuntimeError,
        EOFError,
        zlib.error,
    ) as exc:
        raise InvalidRequest(
            _("%(name)s n'est pas une archive zip lisible : %(problem)s", name=name, problem=exc)
        ) from exc
    return folder / "layer.shp"


def _read_layers(path: Path) -> list[shapely.Geometry]:
    geometries: list[shapely.Geometry] = []
    for layer in pyogrio.list_layers(path)[:, 0]:
        meta, _index, wkb, _fields = pyogrio.raw.read(path, layer=layer, columns=[])
        read = shapely.from_wkb(wkb, on_invalid="ignore")  # None stays None
        found = read[~shapely.is_missing(read) & ~shapely.is_empty(read)]
        if not len(found):
            continue
        crs = meta.get("crs")
        if crs and crs.upper() not in LONLAT:
            geometries.extend(_to_lonlat(found, crs))  # 2D, as reprojected
        else:
            geometries.extend(shapely.force_2d(found))
    return geometries


def _to_lonlat(geometries: Any, crs: str) -> list[shapely.Geometry]:
    transformer = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
    return list(
        shapely.transform(geometries, lambda xy: np.column_stack(transformer.transform(*xy.T)))
    )


# -- one geometry for an `intersects` filter ---------------------------------------------------


class ImportedGeometry(BaseModel):
    """A file turned into one geometry, to post as `intersects` to /search or /aggregate."""

    intersects: dict[str, Any]
    """The union of the file's features, a GeoJSON geometry in EPSG:4326."""
    bbox: list[float]
    area_km2: float
    """Geodesic area of its polygons (points and lines count for nothing)."""
    features: int
    """Features with a geometry read from the file."""
    name: str
    vertices: int
    simplified: bool = False
    tolerance_m: int | None = None
    """When simplified: the largest displacement allowed, in metres."""
    repaired: bool = False
    """Invalid polygons (e.g. self-intersecting) were made valid."""
    notes: list[str] = Field(default_factory=list)
    """What was done to the geometry, in words for the viewer to show."""


def merged(geometries: list[shapely.Geometry]) -> tuple[shapely.Geometry, bool]:
    """The union of the geometries, invalid polygons made valid first (since a union of invalid
    polygons fails or is wrong); and whether any needed it."""
    repaired = False
    valid = []
    for geometry in geometries:
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry, method="structure", keep_collapsed=False)
            repaired = True
        if not geometry.is_empty:
            valid.append(geometry)
    try:
        union = shapely.union_all(valid)
    except shapely.errors.GEOSException as exc:
        raise InvalidRequest(
            _("Les géométries ne peuvent pas être fusionnées : %(problem)s.", problem=exc)
        ) from exc
    if union.is_empty:
        raise InvalidRequest(_("Les géométries sont vides une fois rendues valides."))
    return union, repaired


def simplified(geometry: shapely.Geometry, max_vertices: int) -> tuple[shapely.Geometry, int]:
    """The geometry with at most `max_vertices`, simplified at the smallest tolerance of
    TOLERANCES_M that keeps its topology (no ring crossing itself or another) and gets there;
    the tolerance in metres, or 0 when nothing was simplified."""
    count = shapely.get_num_coordinates(geometry)
    if count <= max_vertices:
        return geometry, 0
    for metres in TOLERANCES_M:
        simple = shapely.simplify(geometry, metres / METRES_PER_DEGREE, preserve_topology=True)
        if shapely.get_num_coordinates(simple) <= max_vertices:
            if not simple.is_valid:
                simple = shapely.make_valid(simple)
            return simple, metres
    raise InvalidRequest(
        _(
            "La géométrie a %(count)s sommets, encore plus de %(max)s une fois simplifiée à "
            "%(metres)s m (beaucoup de parties ou de points séparés) : fusionnez-la ou "
            "simplifiez-la d'abord.",
            count=count,
            max=max_vertices,
            metres=TOLERANCES_M[-1],
        )
    )


def imported_geometry(name: str, content: bytes, max_vertices: int) -> ImportedGeometry:
    """A geometry file as one `intersects` geometry: all its features merged, invalid polygons
    repaired, simplified when too detailed, and what was done said."""
    geometries = read_file(name, content)
    geometry, repaired = merged(geometries)
    geometry, tolerance = simplified(geometry, max_vertices)
    notes = []
    if repaired:
        notes.append(_("Les polygones non valides ont été rendus valides (make_valid)."))
    if tolerance:
        notes.append(
            _(
                "Simplifiée à %(max)s sommets au plus avec une tolérance de %(metres)s m "
                "(%(degrees)s°), en gardant la topologie.",
                max=max_vertices,
                metres=tolerance,
                degrees=f"{tolerance / METRES_PER_DEGREE:.6f}",
            )
        )
    # Rounded to 1e-7° (about 1 cm) unless that empties it; rings counter-clockwise (RFC 7946).
    rounded = shapely.set_precision(geometry, 1e-7)
    rounded = shapely.orient_polygons(geometry if rounded.is_empty else rounded)
    intersects = json.loads(shapely.to_geojson(rounded))
    return ImportedGeometry(
        intersects=intersects,
        bbox=[round(v, 7) for v in rounded.bounds],
        area_km2=round(area_km2(rounded), 3),
        features=len(geometries),
        name=name,
        vertices=shapely.get_num_coordinates(rounded),
        simplified=bool(tolerance),
        tolerance_m=tolerance or None,
        repaired=repaired,
        notes=notes,
    )


def too_large(settings: Settings) -> tuple[int, str]:
    """The geometry files accepted, and the refusal of a larger one."""
    max_bytes = settings.geometries.max_bytes
    return max_bytes, _(
        "Le fichier dépasse les %(size)s acceptés pour les fichiers de géométrie.",
        size=size(max_bytes),
    )


@accepts_file(too_large)
async def import_geometry(request: Request, services: ServicesDep) -> ImportedGeometry:
    """Read a GeoJSON, KML or zipped shapefile file (multipart field `file`) into one geometry
    in EPSG:4326, to post as `intersects` to /search or /aggregate."""
    max_bytes, refusal = too_large(services.settings)
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidRequest(
                _(
                    "Envoyez le fichier dans le champ multipart/form-data `file` (GeoJSON, KML "
                    "ou shapefile zippé)."
                )
            )
        name = PurePosixPath((upload.filename or "upload").replace("\\", "/")).name
        if upload.size is not None and upload.size > max_bytes:
            raise PayloadTooLarge(_("%(where)s : %(problem)s", where=name, problem=refusal))
        content = await upload.read()
    if not content:
        raise InvalidRequest(_("%(name)s est vide.", name=name))
    max_vertices = services.settings.geometries.max_vertices
    return await run_in_threadpool(imported_geometry, name, content, max_vertices)


FILE_FORM: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "GeoJSON (.geojson, .json), KML (.kml) or zipped "
                        "shapefile (.zip with .shp, .shx, .dbf, .prj).",
                    }
                },
            }
        }
    },
}


def add_geometries(app: FastAPI) -> None:
    """Mount `POST /geometries` (public: it reads the caller's file, no catalogue data)."""
    router = APIRouter(prefix=getattr(app.state, "router_prefix", ""), tags=["Geometries"])
    router.add_api_route(
        GEOMETRIES_PATH,
        import_geometry,
        methods=["POST"],
        name="Import a geometry file",
        summary="Read a geometry file (GeoJSON, KML, zipped shapefile) for `intersects`",
        response_model=ImportedGeometry,
        openapi_extra={"requestBody": FILE_FORM},
        responses={
            400: {"description": "The file cannot be read, or holds no geometry."},
            413: {"description": "The file is over the size limit."},
            415: {"description": "Not a .geojson, .json, .kml or .zip file."},
        },
    )
    app.include_router(router)
