"""The gazetteer's sources, read without a network: what `make install` fetched from the npm
registry and copied into this package (`data/npm/`, scripts/package-npm-data.sh, so that the
wheel carries it) and the boundaries file shipped in `data/`.

- `@etalab/decoupage-administratif`: the INSEE Code officiel géographique (names, codes,
  hierarchy) and legal populations (Licence Ouverte 2.0).
- `world-atlas`: Natural Earth 1:10m country boundaries as TopoJSON (public domain); French
  names from the iso-codes translations that pycountry carries.
- `data/boundaries.txt.gz`: communes, départements and régions outlines derived from IGN
  ADMIN EXPRESS COG (Licence Ouverte), written by `extensions.places.build`.
"""

from __future__ import annotations

import gettext
import gzip
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycountry
from pydantic_settings import BaseSettings, SettingsConfigDict

HERE = Path(__file__).parent
BOUNDARIES_FILE = HERE / "data" / "boundaries.txt.gz"
DECOUPAGE = "@etalab/decoupage-administratif"
WORLD_ATLAS = "world-atlas"
# Coordinates of the boundaries file are rounded to 1e-4 degree (about 11 m).
PRECISION = 4

# Kinds, from the most to the least important: a name shared by several places resolves to
# the first kind, then to the most populous.
KINDS = ("country", "territory", "region", "departement", "commune")


class PlacesSettings(BaseSettings):
    """Where the gazetteer's npm packages are (copied into this package by `make install`)."""

    model_config = SettingsConfigDict(env_prefix="DINAMIS_PLACES_", extra="ignore")

    sources: Path = HERE / "data" / "npm"


class SourceMissing(FileNotFoundError):
    """The set-up step (`make install`: `npm ci`, then the copy into the package) has not run."""


# -- names ---------------------------------------------------------------------------------

_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize(text: str) -> str:
    """The search key of a name: lower case, no accents, words separated by one space, so that
    "Saint-Étienne", "saint etienne" and "St Etienne" meet."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    words = _NOT_ALNUM.sub(" ", bare).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


# -- polylines (Google's encoded polyline algorithm, lat/lon order) ------------------------


def encode_ring(coordinates: list[tuple[float, float]], precision: int = PRECISION) -> str:
    """One ring of (lon, lat) as an encoded polyline: small deltas take one or two bytes."""
    factor = 10**precision
    chunks: list[str] = []
    last_lat = last_lon = 0
    for lon, lat in coordinates:
        ilat, ilon = round(lat * factor), round(lon * factor)
        for delta in (ilat - last_lat, ilon - last_lon):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                chunks.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            chunks.append(chr(value + 63))
        last_lat, last_lon = ilat, ilon
    return "".join(chunks)


def decode_ring(text: str, precision: int = PRECISION) -> list[tuple[float, float]]:
    """The (lon, lat) of an encoded polyline."""
    factor = 10.0**precision
    values: list[int] = []
    shift = result = 0
    for char in text:
        byte = ord(char) - 63
        result |= (byte & 0x1F) << shift
        if byte >= 0x20:
            shift += 5
            continue
        values.append(~(result >> 1) if result & 1 else result >> 1)
        shift = result = 0
    coordinates = []
    lat = lon = 0
    for i in range(0, len(values) - 1, 2):
        lat += values[i]
        lon += values[i + 1]
        coordinates.append((lon / factor, lat / factor))
    return coordinates


# A multipolygon is its polygons separated by ";", each polygon its rings separated by ","
# (characters the polyline alphabet, 63-126, never uses).
def encode_multipolygon(polygons: list[list[list[tuple[float, float]]]]) -> str:
    return ";".join(",".join(encode_ring(ring) for ring in polygon) for polygon in polygons)


def decode_multipolygon(text: str) -> list[list[list[tuple[float, float]]]]:
    return [[decode_ring(ring) for ring in polygon.split(",")] for polygon in text.split(";")]


def read_boundaries(path: Path = BOUNDARIES_FILE) -> Iterator[tuple[str, str, str]]:
    """(kind, code, encoded multipolygon) of each line of the boundaries file."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#") or not line.strip():
                continue
            kind, code, encoded = line.rstrip("\n").split("\t")
            yield kind, code, encoded


# -- the INSEE geography (@etalab/decoupage-administratif) ---------------------------------


@dataclass
class Place:
    """One place of the gazetteer, before it is written to `places.places`."""

    kind: str
    code: str
    name: str
    context: str | None = None
    population: int | None = None
    aliases: list[str] = field(default_factory=list)
    geometry: dict[str, Any] | None = None
    """GeoJSON (countries and territories); the others' outlines come from the boundaries file."""

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.code}"


def package_dir(name: str, settings: PlacesSettings | None = None) -> Path:
    folder = (settings or PlacesSettings()).sources / name.rpartition("/")[2]
    if not (folder / "package.json").is_file():
        raise SourceMissing(f"{folder} is missing: run `make install` first")
    return folder


def package_version(folder: Path) -> str:
    return str(json.loads((folder / "package.json").read_text())["version"])


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def french_places(folder: Path) -> list[Place]:
    """Régions, départements and communes of the current Code officiel géographique, with
    legal populations (summed for départements and régions). The overseas collectivities
    (code ≥ 975) are territories, outlined from Natural Earth."""
    regions = {r["code"]: r for r in _json(folder / "data" / "regions.json")}
    departements = {d["code"]: d for d in _json(folder / "data" / "departements.json")}
    communes = [
        c for c in _json(folder / "data" / "communes.json") if c["type"] == "commune-actuelle"
    ]
    population_dep: dict[str, int] = {}
    population_reg: dict[str, int] = {}
    for c in communes:
        people = int(c.get("population") or 0)
        population_dep[c["departement"]] = population_dep.get(c["departement"], 0) + people
        population_reg[c["region"]] = population_reg.get(c["region"], 0) + people
    places = []
    for code, region in regions.items():
        if region["zone"] == "com":
            continue
        context = "France, outre-mer" if region["zone"] == "drom" else "France"
        places.append(
            Place("region", code, region["nom"], context, population_reg.get(code) or None)
        )
    for code, dep in departements.items():
        if dep["zone"] == "com":
            continue
        region_name = regions[dep["region"]]["nom"]
        places.append(
            Place("departement", code, dep["nom"], region_name, population_dep.get(code) or None)
        )
    for c in communes:
        if c["zone"] == "com":
            continue
        dep = departements[c["departement"]]
        region_name = regions[c["region"]]["nom"]
        # An overseas département is its own région: name it once.
        context = dep["nom"] if dep["nom"] == region_name else f"{dep['nom']}, {region_name}"
        places.append(Place("commune", c["code"], c["nom"], context, c.get("population")))
    return places


# -- countries and overseas collectivities (world-atlas, Natural Earth 1:10m) -------------

# Natural Earth features without an ISO code: merged into their country, or named here.
_NE_PARTS = {"Somaliland": "706", "N. Cyprus": "196", "Cyprus U.N. Buffer Zone": "196"}
_NE_EXTRA = {"Kosovo": ("XKX", "Kosovo")}
# The French overseas collectivities, by ISO numeric code (or Natural Earth name) → COG code.
OVERSEAS = {
    "666": "975",  # Saint-Pierre-et-Miquelon
    "652": "977",  # Saint-Barthélemy
    "663": "978",  # Saint-Martin
    "260": "984",  # Terres australes et antarctiques françaises
    "876": "986",  # Wallis-et-Futuna
    "258": "987",  # Polynésie française
    "540": "988",  # Nouvelle-Calédonie
    "Clipperton I.": "989",
}


def topojson_features(topology: dict[str, Any], name: str) -> Iterator[dict[str, Any]]:
    """The GeoJSON features of one object of a (quantized, delta-encoded) TopoJSON topology."""
    scale_x, scale_y = topology["transform"]["scale"]
    translate_x, translate_y = topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * scale_x + translate_x, y * scale_y + translate_y))
        arcs.append(points)

    def ring(indexes: list[int]) -> list[tuple[float, float]]:
        points: list[tuple[float, float]] = []
        for index in indexes:
            arc = arcs[index] if index >= 0 else arcs[~index][::-1]
            points.extend(arc if not points else arc[1:])
        return points

    for geometry in topology["objects"][name]["geometries"]:
        if geometry["type"] == "Polygon":
            polygons = [geometry["arcs"]]
        elif geometry["type"] == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            continue
        yield {
            "id": geometry.get("id"),
            "properties": geometry.get("properties") or {},
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": [[ring(r) for r in polygon] for polygon in polygons],
            },
        }


def _french_names() -> gettext.NullTranslations:
    try:
        return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    except OSError:  # a pycountry without its translations: English names only
        return gettext.NullTranslations()


def world_places(folder: Path, overseas_names: dict[str, str]) -> list[Place]:
    """Countries under their French name (English names as aliases), and the French overseas
    collectivities as territories under their COG name."""
    topology = _json(folder / "countries-10m.json")
    french = _french_names()
    merged: dict[str, list[Any]] = {}
    natural_earth_names: dict[str, str] = {}
    for feature in topojson_features(topology, "countries"):
        ne_name = str(feature["properties"].get("name", ""))
        key = feature["id"] or _NE_PARTS.get(ne_name) or ne_name
        if feature["id"] is None and ne_name not in {*_NE_PARTS, *_NE_EXTRA, *OVERSEAS}:
            continue  # disputed or minor areas without a country of their own
        merged.setdefault(key, []).extend(feature["geometry"]["coordinates"])
        if feature["id"] or key not in natural_earth_names:  # the country's own name wins
            natural_earth_names[key] = ne_name
    places = []
    for key, polygons in merged.items():
        geometry = {"type": "MultiPolygon", "coordinates": polygons}
        ne_name = natural_earth_names[key]
        if key in OVERSEAS:
            code = OVERSEAS[key]
            name = overseas_names.get(code, ne_name)
            aliases = [ne_name]
            if country := pycountry.countries.get(numeric=key):
                aliases += [country.name, french.gettext(country.name)]
            places.append(
                Place("territory", code, name, "France, outre-mer", None, aliases, geometry)
            )
            continue
        if key in _NE_EXTRA:
            code, name = _NE_EXTRA[key]
            places.append(Place("country", code, name, None, None, [], geometry))
            continue
        country = pycountry.countries.get(numeric=key)
        if country is None:
            continue
        english = [
            n
            for n in (getattr(country, "common_name", None), country.name, ne_name)
            if n is not None
        ]
        french_name = french.gettext(english[0])
        if french_name == english[0] and english[0] != country.name:
            french_name = french.gettext(country.name)
        places.append(
            Place(
                "country",
                country.alpha_3,
                french_name,
                None,
                None,
                [*english, getattr(country, "official_name", country.name)],
                geometry,
            )
        )
    return places


def overseas_names(folder: Path) -> dict[str, str]:
    """COG names of the overseas collectivities (975 Saint-Pierre-et-Miquelon…)."""
    return {
        r["code"]: r["nom"] for r in _json(folder / "data" / "regions.json") if r["zone"] == "com"
    }
