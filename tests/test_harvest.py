"""Harvests from a folder, a zip and S3: bulk loading, skipping what did not change, reporting
bad products while the rest goes on, and resuming after an interruption."""

from __future__ import annotations

import gc
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import psycopg
import pytest
from typer.testing import CliRunner

from ingest.harvest import ChunkLoader, HarvestOptions, HarvestReport, Parsed, harvest
from ingest.loader import BulkLoader
from ingest.sources import Candidate, SourceSpec
from pgstac.db import connect
from simulators.archive import generate_items
from stac_api.cli import app
from tests.conftest import S3_REGION

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "dimap"
FIXTURES = Path(__file__).parent / "data" / "dimap"
V2 = sorted(SAMPLES.glob("v2/DIM_*.XML"))
pytestmark = pytest.mark.skipif(
    not V2, reason=f"the real DIMAP samples ({SAMPLES}) are not on this machine"
)
IDS = {p.name[4:-4] for p in V2} | {"SPOT5_20060714T103221_048-262_HRG2_J_2A"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small archive: the four real V2 products and a V1 scene, each in its own folder."""
    root = tmp_path / "archive"
    for path in V2:
        folder = root / path.name[4:-4]
        folder.mkdir(parents=True)
        shutil.copy(path, folder)
        (folder / path.name.replace("DIM_", "IMG_").replace(".XML", "_R1C1.JP2")).write_bytes(
            b"jp2"
        )
    shutil.copytree(FIXTURES / "SPOT5_SCENE", root / "swh" / "SPOT5_SCENE")
    return root


@pytest.fixture
def catalogue(database: str) -> Iterator[str]:
    """The test database, cleaned of what the harvests of a test loaded."""
    yield database
    with connect(database) as conn:
        conn.execute("DELETE FROM items WHERE id LIKE ANY(%s)", [[f"{i}%" for i in IDS]])
        conn.execute("DELETE FROM dinamis.harvested WHERE key LIKE 'test-harvest/%'")


OPTIONS = HarvestOptions(href_prefix="test-harvest/", workers=2)


def loaded_ids(dsn: str) -> list[str]:
    with connect(dsn) as conn:
        rows = conn.execute("SELECT id FROM items WHERE id LIKE ANY(%s)", [[f"{i}%" for i in IDS]])
        return sorted(r[0] for r in rows)


def run(spec: SourceSpec, dsn: str | None, **options: Any) -> HarvestReport:
    return harvest(spec, dsn, HarvestOptions(**{**OPTIONS.__dict__, **options}))


def test_harvest_then_skip_then_update(tree: Path, catalogue: str) -> None:
    first = run(SourceSpec(str(tree)), catalogue)
    assert (first.found, first.loaded, first.failed, first.skipped) == (5, 5, 0, 0)
    assert loaded_ids(catalogue) == sorted(IDS)
    with connect(catalogue) as conn:
        href = conn.execute(
            "SELECT content->'assets'->'data'->>'href' FROM items WHERE id = %s",
            ["SPOT6_PMS_202012141415240_ORT_5588528101"],
        ).fetchone()
    assert href == ("test-harvest/SPOT6_PMS_202012141415240_ORT_5588528101/IMG_SPOT6_PMS_202012141415240_ORT_5588528101_R1C1.JP2",)  # fmt: skip

    again = run(SourceSpec(str(tree)), catalogue)
    assert (again.loaded, again.updated, again.skipped) == (0, 0, 5)

    spot6 = next(tree.glob("SPOT6*/DIM_*.XML"))
    spot6.write_text(spot6.read_text(encoding="latin-1").replace(">0.00</CLOUD", ">12.50</CLOUD"), encoding="latin-1")  # fmt: skip
    changed = run(SourceSpec(str(tree)), catalogue)
    assert (changed.loaded, changed.updated, changed.skipped) == (0, 1, 4)
    with connect(catalogue) as conn:
        cloud = conn.execute(
            "SELECT content->'properties'->>'eo:cloud_cover' FROM items WHERE id = %s",
            ["SPOT6_PMS_202012141415240_ORT_5588528101"],
        ).fetchone()
    assert cloud == ("12.5",)
    assert loaded_ids(catalogue) == sorted(IDS)  # nothing doubled


def test_bad_products_are_reported_and_the_rest_goes_on(tree: Path, catalogue: str) -> None:
    good = (SAMPLES / "v2/DIM_SPOT6_PMS_202012141415240_ORT_5588528101.XML").read_bytes()
    bad = tree / "bad"
    bad.mkdir()
    (bad / "DIM_MALFORMED.XML").write_bytes(good.replace(b"</NROWS>", b"</NROW>", 1))
    (bad / "DIM_TRUNCATED.XML").write_bytes(good[:5000])
    (bad / "DIM_NOT_DIMAP.XML").write_bytes(b"<?xml version='1.0'?><gpx/>")
    (bad / "DIM_LANDSAT.XML").write_bytes(good.replace(b"<MISSION>SPOT</MISSION>", b"<MISSION>LANDSAT</MISSION>"))  # fmt: skip
    shutil.copy(SAMPLES / "v1/METADATA_SPOT4_stripped.DIM", bad / "METADATA.DIM")
    report = run(SourceSpec(str(tree)), catalogue)
    assert (report.loaded, report.failed) == (5, 5)
    reasons = {Path(f.key).name: f.reason for f in report.failures}
    assert reasons == {
        "DIM_MALFORMED.XML": "malformed-xml",
        "DIM_TRUNCATED.XML": "truncated",
        "DIM_NOT_DIMAP.XML": "not-dimap",
        "DIM_LANDSAT.XML": "unknown-mission",
        "METADATA.DIM": "missing-footprint",
    }
    assert loaded_ids(catalogue) == sorted(IDS)
    assert report.missing_files > 0  # previews and icons are not in this archive


def test_unknown_collection_and_duplicates(tree: Path, catalogue: str) -> None:
    copy = tree / "copy-of-spot6"
    shutil.copytree(next(tree.glob("SPOT6*")), copy)
    report = run(SourceSpec(str(tree)), catalogue)
    assert [f.reason for f in report.failures] == ["duplicate-id"]
    spot6 = next(tree.glob("SPOT6*"))
    forced = run(SourceSpec(str(spot6)), catalogue, collection="no-such-collection", href_prefix="test-harvest/x/")  # fmt: skip
    assert [f.reason for f in forced.failures] == ["unknown-collection"]


def test_dry_run_touches_no_database(tree: Path, catalogue: str, tmp_path: Path) -> None:
    output = tmp_path / "items.ndjson"
    with output.open("wb") as out:
        report = harvest(SourceSpec(str(tree)), None, HarvestOptions(dry_run=True), output=out)
    items = [json.loads(line) for line in output.read_text().splitlines()]
    assert report.loaded == len(items) == 5
    assert {i["id"] for i in items} == IDS
    assert loaded_ids(catalogue) == []


def test_zip_of_products(tree: Path, catalogue: str, tmp_path: Path) -> None:
    archive = tmp_path / "products.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in tree.rglob("*"):
            if path.is_file():
                zf.write(path, path.relative_to(tree).as_posix())
    report = run(SourceSpec(str(archive)), catalogue)
    assert (report.loaded, report.failed) == (5, 0)
    assert run(SourceSpec(str(archive)), catalogue).skipped == 5


@pytest.fixture(scope="module")
def s3(s3_endpoint: str) -> dict[str, Any]:
    """How to reach the module's S3-protocol server (`s3_endpoint`)."""
    return {
        "endpoint_url": s3_endpoint,
        "region_name": S3_REGION,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }


def test_s3_prefix_listed_page_by_page(tree: Path, catalogue: str, s3: dict[str, Any]) -> None:
    client = boto3.client("s3", **s3)
    client.create_bucket(Bucket="dinamis", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})  # fmt: skip
    for path in tree.rglob("*"):
        if path.is_file():
            client.put_object(Bucket="dinamis", Key=f"spot/{path.relative_to(tree).as_posix()}", Body=path.read_bytes())  # fmt: skip
    for i in range(1001):  # more than one page of 1 000 keys
        client.put_object(Bucket="dinamis", Key=f"spot/zz-filler/{i:04d}.txt", Body=b"x")
    spec = SourceSpec("s3://dinamis/spot", s3)
    report = run(spec, catalogue)
    assert (report.found, report.loaded, report.failed) == (5, 5, 0)
    assert loaded_ids(catalogue) == sorted(IDS)
    assert run(spec, catalogue).skipped == 5


def test_interrupted_harvest_resumes_without_doubles(tree: Path, catalogue: str) -> None:
    seen = 0

    def interrupt(done: int, total: int) -> None:
        nonlocal seen
        seen += 1
        if seen == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        harvest(SourceSpec(str(tree)), catalogue, HarvestOptions(**{**OPTIONS.__dict__, "chunk_size": 2, "workers": 1}), progress=interrupt)  # fmt: skip
    assert len(loaded_ids(catalogue)) == 2  # the first chunk made it
    resumed = run(SourceSpec(str(tree)), catalogue)
    assert (resumed.skipped, resumed.loaded) == (2, 3)
    assert loaded_ids(catalogue) == sorted(IDS)


def test_the_cycle_collector_is_paused_while_items_pile_up(tree: Path, catalogue: str) -> None:
    """Items are trees: the collector would only rescan a chunk's hundreds of thousands of
    objects, in the main process that also feeds the database. It runs again afterwards, even
    when the harvest stops on an error."""
    collecting: list[bool] = []

    def stop(done: int, total: int) -> None:
        collecting.append(gc.isenabled())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        harvest(SourceSpec(str(tree)), catalogue, OPTIONS, progress=stop)
    assert collecting == [False]
    assert gc.isenabled()


def test_command_line(
    tree: Path, catalogue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", catalogue)
    (tree / "DIM_BROKEN.XML").write_text("<Dimap_Document>")
    output, report_path = tmp_path / "x.ndjson", tmp_path / "report.json"
    result = CliRunner().invoke(
        app,
        ["ingest", str(tree), "--dry-run", "--output", str(output), "--report", str(report_path), "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 1  # one product failed
    assert len(output.read_text().splitlines()) == 5
    report = json.loads(report_path.read_text())
    assert report["failed"] == 1
    assert report["failures"][0]["reason"] == "truncated"
    assert loaded_ids(catalogue) == []

    (tree / "DIM_BROKEN.XML").unlink()
    result = CliRunner().invoke(app, ["ingest", str(tree), "--href-prefix", "test-harvest/cli", "--provider", "GEOSUD"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert loaded_ids(catalogue) == sorted(IDS)
    with connect(catalogue) as conn:
        providers = conn.execute(
            "SELECT content->'properties'->'providers' FROM items WHERE id = %s",
            ["SPOT6_PMS_202012141415240_ORT_5588528101"],
        ).fetchone()
    assert providers is not None
    assert providers[0][0]["name"] == "GEOSUD"


def test_a_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope"), "--dry-run"])
    assert result.exit_code == 1
    assert "not a folder, a zip file or an s3:// URL" in " ".join(result.output.split())


def test_bulk_loads_leave_no_connection_open(database: str) -> None:
    """pypgstac's own close leaves the connection it handed out open for the life of the
    process (the ordering worker ingests every delivery): ours closes it."""

    def loader_connections() -> int:
        with psycopg.connect(database) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgstac'"
            ).fetchone()
        assert row is not None
        return int(row[0])

    items = list(generate_items(3, 424242))
    before = loader_connections()
    try:
        for _ in range(3):
            with BulkLoader(database) as loader:
                loader.load(items)
        assert loader_connections() == before
    finally:
        with psycopg.connect(database) as conn:
            conn.execute("DELETE FROM pgstac.items WHERE id = ANY(%s)", [[i["id"] for i in items]])


def test_a_product_the_database_refuses_is_reported_and_the_chunk_goes_on(
    database: str,
) -> None:
    """A product that breaks its chunk's load is found by loading the chunk's products one by
    one: it alone is reported, the others are loaded and recorded (the database is there: no
    waiting for it)."""
    items = list(generate_items(3, 515151))
    items[1]["collection"] = "no-such-collection"  # pgstac has no partition to give it
    chunk = [
        Parsed(Candidate(f"refused/{n}.XML", f"f{n}"), orjson.dumps(item))
        for n, item in enumerate(items)
    ]
    report = HarvestReport(source="refused", started_at="now")
    loader = ChunkLoader(database, "test-harvest/")
    try:
        loaded = loader.load(chunk, report, new=True)
        assert [p.candidate.key for p in loaded] == ["refused/0.XML", "refused/2.XML"]
        assert [(f.key, f.reason) for f in report.failures] == [
            ("refused/1.XML", "rejected-by-database")
        ]
        with connect(database) as conn:
            held = conn.execute(
                "SELECT id FROM items WHERE id = ANY(%s) ORDER BY id", [[i["id"] for i in items]]
            ).fetchall()
            recorded = conn.execute(
                "SELECT key FROM dinamis.harvested WHERE key LIKE 'test-harvest/refused/%' "
                "ORDER BY key"
            ).fetchall()
        assert [r[0] for r in held] == sorted([items[0]["id"], items[2]["id"]])
        assert [r[0] for r in recorded] == [
            "test-harvest/refused/0.XML",
            "test-harvest/refused/2.XML",
        ]
    finally:
        loader.close()
        with connect(database) as conn:
            conn.execute("DELETE FROM items WHERE id = ANY(%s)", [[i["id"] for i in items]])
            conn.execute("DELETE FROM dinamis.harvested WHERE key LIKE 'test-harvest/refused/%'")
