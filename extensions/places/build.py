"""How `data/boundaries.txt.gz` was made (run once by a maintainer, never at set-up or run time).

    python -m extensions.places.build <france-geojson checkout>

The input is gregoiredavid/france-geojson (IGN ADMIN EXPRESS COG 2018, simplified, Licence
Ouverte): `departements/*/communes-*.geojson`, 35,357 communes of 2018 with their INSEE
codes. The communes merged since then are regrouped under the commune that carries them in
the current Code officiel géographique (`@etalab/decoupage-administratif`: communes
déléguées and associées, `anciensCodes`); départements and régions are the union of their
communes. Outlines are then simplified to about 100 m and rounded to 1e-4 degree: enough
to pick the scenes over a place, and a file of a few megabytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from extensions.places.sources import (
    BOUNDARIES_FILE,
    DECOUPAGE,
    PRECISION,
    encode_multipolygon,
    package_dir,
    package_version,
)

# Douglas-Peucker tolerance in degrees per kind (0.0008° is 90 m of latitude, 60 m of
# longitude at 45° N); larger places need less detail.
TOLERANCE = {"commune": 0.0008, "departement": 0.0012, "region": 0.002}
GRID = 10.0**-PRECISION


def current_codes(communes: list[dict[str, Any]]) -> dict[str, str]:
    """Every commune code known to the COG → the code of the current commune holding it."""
    mapping: dict[str, str] = {}
    for c in communes:
        if c["type"] == "commune-actuelle":
            mapping[c["code"]] = c["code"]
    for c in communes:
        if c["type"] in ("commune-deleguee", "commune-associee") and c.get("chefLieu"):
            mapping.setdefault(c["code"], c["chefLieu"])
        for old in c.get("anciensCodes") or []:
            if c["type"] == "commune-actuelle":
                mapping.setdefault(old, c["code"])
    return mapping


def polygons_of(geometry: Any) -> list[list[list[tuple[float, float]]]]:
    """The rings of a (multi)polygon as coordinate lists, exterior ring first."""
    if isinstance(geometry, Polygon):
        parts = [geometry]
    elif isinstance(geometry, MultiPolygon):
        parts = list(geometry.geoms)
    else:  # a collection left by set_precision: keep its polygons
        parts = [g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon)]
    return [
        [list(p.exterior.coords), *[list(r.coords) for r in p.interiors]]
        for p in parts
        if not p.is_empty
    ]


def simplified(geometry: Any, kind: str) -> Any:
    thinner = geometry.simplify(TOLERANCE[kind], preserve_topology=True)
    return shapely.set_precision(thinner, GRID)


def build(source: Path, output: Path) -> dict[str, int]:
    decoupage = package_dir(DECOUPAGE)
    communes = json.loads((decoupage / "data" / "communes.json").read_text())
    holder = current_codes(communes)
    current = {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}
    departements = {
        d["code"]: d for d in json.loads((decoupage / "data" / "departements.json").read_text())
    }

    parts: dict[str, list[Any]] = defaultdict(list)
    unmatched = []
    for path in sorted(source.glob("departements/*/communes-*.geojson")):
        for feature in json.loads(path.read_text())["features"]:
            code = feature["properties"]["code"]
            geometry = shapely.make_valid(shape(feature["geometry"]))
            if code in holder:
                parts[holder[code]].append(geometry)
            else:
                unmatched.append(code)
    outlines = {
        code: shapely.union_all(pieces) if len(pieces) > 1 else pieces[0]
        for code, pieces in parts.items()
    }

    by_departement: dict[str, list[Any]] = defaultdict(list)
    for code, geometry in outlines.items():
        by_departement[current[code]["departement"]].append(geometry)
    departement_outlines = {d: shapely.union_all(g) for d, g in by_departement.items()}
    by_region: dict[str, list[Any]] = defaultdict(list)
    for code, geometry in departement_outlines.items():
        by_region[departements[code]["region"]].append(geometry)
    region_outlines = {r: shapely.union_all(g) for r, g in by_region.items()}

    lines = [
        "# Outlines of the French communes, départements and régions (code of the current",
        f"# Code officiel géographique, {DECOUPAGE} {package_version(decoupage)}).",
        "# Derived from IGN ADMIN EXPRESS COG 2018 through gregoiredavid/france-geojson,",
        "# Licence Ouverte / Open Licence (Etalab); simplified to about 100 m by",
        "# extensions/places/build.py. Lines: kind, code, polygons as encoded polylines",
        f"# (precision {PRECISION}, lat/lon) with rings separated by ',' and polygons by ';'.",
    ]
    counts: dict[str, int] = {}
    for kind, table in (
        ("region", region_outlines),
        ("departement", departement_outlines),
        ("commune", outlines),
    ):
        for code in sorted(table):
            polygons = polygons_of(simplified(table[code], kind))
            if polygons:
                lines.append(f"{kind}\t{code}\t{encode_multipolygon(polygons)}")
                counts[kind] = counts.get(kind, 0) + 1
    output.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same input gives the same bytes.
    with (
        output.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as zipped,
    ):
        zipped.write(("\n".join(lines) + "\n").encode("utf-8"))
    missing = sorted(c for c in current if c not in outlines and current[c]["zone"] != "com")
    counts["unmatched 2018 codes"] = len(unmatched)
    counts["current communes without outline"] = len(missing)
    names = ", ".join(f"{c} {current[c]['nom']}" for c in missing)
    print(f"current communes without an outline: {names or 'none'}", file=sys.stderr)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="a checkout of gregoiredavid/france-geojson")
    parser.add_argument("--output", type=Path, default=BOUNDARIES_FILE)
    args = parser.parse_args(argv)
    counts = build(args.source, args.output)
    size = args.output.stat().st_size
    print(json.dumps(counts), f"{size / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
