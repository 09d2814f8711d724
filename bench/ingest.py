"""Harvest speed: DIMAP V2 products end to end, re-harvest, and the load stage vs pypgstac.

Writes N synthetic DIMAP V2 products made from the real samples (../shared/data/dimap/v2:
SPOT 6 ortho, Pléiades P and MS, Pléiades Neo), each with its own id, date, place, cloud
cover, angles and datastrip; then
1. harvests them end to end (listing, parsing on all cores, loading, fingerprints);
2. re-harvests the unchanged tree;
3. loads the same items with our load stage and with plain `pypgstac load`, and compares.

    .venv/bin/python bench/ingest.py --products 100000
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/ingest.py`, this folder would come first on sys.path and shadow the
# project's packages (this file is `ingest`): put the project's root there instead.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import json
import logging
import os
import random
import re
import resource
import subprocess
import time
from dataclasses import dataclass

import orjson
from lxml import etree

from bench.search import database
from ingest.harvest import ChunkLoader, HarvestOptions, Parsed, harvest
from ingest.sources import Candidate, SourceSpec
from pgstac.db import connect
from pgstac.migrate import migrate

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "dimap" / "v2"
RESULTS = Path(__file__).parent / "results"
MARKER = re.compile(r"@@(\w+)@@")


@dataclass(frozen=True)
class Template:
    """A real DIMAP file with markers where each synthetic product differs."""

    text: str
    stem: str  # the sample's id, e.g. SPOT6_PMS_202012141415240_ORT_5588528101
    date: str  # its acquisition day, YYYY-MM-DD
    vertices: int


def template(path: Path) -> Template:
    root = etree.parse(str(path)).getroot()
    stem = path.name[4:-4]
    strip = root.find("Dataset_Sources/Source_Identification/SOURCE_ID")
    datastrip = strip.text if strip is not None else ""
    date = root.findtext(".//Strip_Source/IMAGING_DATE")
    points = root.findall("Dataset_Content/Dataset_Extent/Vertex") + root.findall(
        "Dataset_Content/Dataset_Extent/Center"
    )
    for i, point in enumerate(points):
        point.find("LON").text = f"@@LON{i}@@"
        point.find("LAT").text = f"@@LAT{i}@@"
    for name in ("CLOUD_COVERAGE",):
        if (node := root.find(f"Dataset_Content/{name}")) is not None:
            node.text = "@@CLOUD@@"
    for node in root.iterfind(".//Located_Geometric_Values/Acquisition_Angles/INCIDENCE_ANGLE"):
        node.text = "@@INCIDENCE@@"
    text = etree.tostring(root, encoding="unicode")
    text = text.replace(stem, "@@ID@@").replace(datastrip, "@@DS@@").replace(date, "@@DATE@@")
    return Template(text, stem, date, len(points))


def write_products(root: Path, count: int, seed: int) -> int:
    """Write the products that are not there yet; returns how many exist."""
    templates = [template(p) for p in sorted(SAMPLES.glob("DIM_*.XML"))]
    for index in range(count):
        rng = random.Random(seed * 7919 + index)
        base = templates[index % len(templates)]
        year, day = rng.randint(2013, 2025), rng.randint(1, 365)
        date = time.strftime("%Y-%m-%d", time.strptime(f"{year} {day}", "%Y %j"))
        product_id = (
            base.stem.replace(base.date.replace("-", ""), date.replace("-", "")) + f"-B{index:07d}"
        )
        folder = root / str(year) / product_id
        path = folder / f"DIM_{product_id}.XML"
        if path.exists():
            continue
        lon, lat = rng.uniform(-4.5, 7.5), rng.uniform(43.0, 50.5)
        values = {
            "ID": product_id,
            "DS": f"DS_BENCH_{index:09d}",
            "DATE": date,
            "CLOUD": f"{rng.uniform(0, 100):.2f}",
            "INCIDENCE": f"{rng.uniform(0, 30):.6f}",
        }
        for i in range(base.vertices):
            values[f"LON{i}"] = f"{lon + 0.1 * (i in (1, 2)):.8f}"
            values[f"LAT{i}"] = f"{lat - 0.1 * (i in (2, 3)):.8f}"
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(MARKER.sub(lambda m, v=values: v[m.group(1)], base.text))
    return count


@dataclass(frozen=True)
class Cpu:
    """CPU seconds used so far by this process, its finished children (the parsing workers)
    and the database (its postmaster and the backends it has reaped: a harvest's connections
    are closed when it returns)."""

    main: float
    workers: float
    database: float

    @classmethod
    def now(cls, postmaster: int | None) -> Cpu:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        database = 0.0
        if postmaster is not None:
            fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
            database = sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        return cls(own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime, database)

    def per_product_ms(self, before: Cpu, products: int) -> dict[str, float]:
        return {
            stage: round((getattr(self, stage) - getattr(before, stage)) / products * 1000, 3)
            for stage in ("workers", "main", "database")
        }


def postmaster_pid(dsn: str) -> int | None:
    """The database's postmaster, when it runs on this machine (else its CPU is not counted)."""
    with connect(dsn) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    pid_file = Path(row[0]) / "postmaster.pid" if row else None
    if pid_file is None or not pid_file.exists():
        return None
    return int(pid_file.read_text().split()[0])


def forget(dsn: str, ids: list[str]) -> None:
    """Remove the benchmark's items and fingerprints, so that each stage starts empty."""
    with connect(dsn) as conn:
        conn.execute("DELETE FROM items WHERE id = ANY(%s)", [ids])
        conn.execute("DELETE FROM dinamis.harvested WHERE item_id = ANY(%s)", [ids])


def main() -> None:
    logging.getLogger("pypgstac").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--home", type=Path, default=Path(".dinamis-bench"))
    args = parser.parse_args()
    if not SAMPLES.is_dir():
        sys.exit(f"the real samples are needed as templates: {SAMPLES} is missing")

    dsn = database(args.home)
    migrate(dsn)
    products = args.home / f"ingest-{args.products}"
    started = time.perf_counter()
    write_products(products, args.products, args.seed)
    print(
        f"{args.products} products in {products} ({time.perf_counter() - started:.0f} s to write)"
    )

    spec, options = (
        SourceSpec(str(products)),
        HarvestOptions(href_prefix="bench/", workers=args.workers),
    )
    dry = args.home / f"ingest-{args.products}.ndjson"
    with dry.open("wb") as out:  # untimed: the items, for the load-stage comparison
        items_report = harvest(
            spec,
            None,
            HarvestOptions(href_prefix="bench/", workers=args.workers, dry_run=True),
            output=out,
        )
    ids = [orjson.loads(line)["id"] for line in dry.read_bytes().splitlines()]
    assert items_report.failed == 0, items_report.failures[:3]

    forget(dsn, ids)
    postmaster = postmaster_pid(dsn)
    before = Cpu.now(postmaster)
    first = harvest(spec, dsn, options)
    cpu = Cpu.now(postmaster).per_product_ms(before, args.products)
    again = harvest(spec, dsn, options)
    assert first.loaded == args.products, first.failures[:3]
    assert again.skipped == args.products

    forget(dsn, ids)
    parsed = [
        Parsed(Candidate(f"k{i}", "f"), line)
        for i, line in enumerate(dry.read_bytes().splitlines())
    ]
    for p in parsed:
        p.item  # decoded before timing, as the harvest receives them  # noqa: B018
    loader = ChunkLoader(dsn, "bench-load/")
    started = time.perf_counter()
    for i in range(0, len(parsed), 5000):
        loader.load(parsed[i : i + 5000], first, new=True)
    ours = time.perf_counter() - started
    loader.close()

    forget(dsn, ids)
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pypgstac.pypgstac",
            "load",
            "items",
            str(dry),
            "--dsn",
            dsn,
            "--method",
            "insert",
        ],
        check=True,
        capture_output=True,
    )
    plain = time.perf_counter() - started

    summary = {
        "products": args.products,
        "workers": args.workers,
        "end_to_end_items_per_s": round(first.loaded / first.seconds),
        "end_to_end_s": first.seconds,
        "reharvest_s": again.seconds,
        "reharvest_speedup": round(first.seconds / again.seconds, 1),
        "end_to_end_cpu_ms_per_product": cpu,
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "load_stage_items_per_s": round(len(parsed) / ours),
        "pypgstac_load_items_per_s": round(len(parsed) / plain),
        "load_stage_ratio": round(plain / ours, 3),
    }
    print(json.dumps(summary, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"ingest-{args.products}.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
