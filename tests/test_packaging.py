"""The product as an operator installs it: a wheel that carries its data and runs outside the
checkout, the configuration reference current with the settings, and the deployment files
(Dockerfile, compose, Kubernetes) valid: no image can be built or pulled here, so they are
linted (hadolint, the Compose specification's schema, Kubernetes' schemas)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from stac_api.settings_doc import reference

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEPLOY = ROOT / "deploy"
# What the wheel is built from: the working tree less what is not the product's.
NOT_BUILT = (".git", ".venv", "node_modules", ".dinamis*", "build", "dist", "*.egg-info",
             "__pycache__", ".*_cache", "tests", "bench", "client", "docs", "deploy")  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The product's wheel, built from a copy of the tree (the build leaves nothing here)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_BUILT))
    subprocess.run(
        [
            BIN / "python",
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            work / "dist",
            source,
        ],
        check=True,
        capture_output=True,
    )
    (built,) = (work / "dist").glob("dinamis_stac-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path) -> Path:
    """A fresh virtualenv holding the wheel alone (`--no-deps`); its dependencies are the dev
    virtualenv's, on its path without the checkout's editable install."""
    venv = wheel.parent / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site = Path(
        subprocess.run(
            [
                venv / "bin" / "python",
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            BIN / "python",
            "-m",
            "pip",
            "--python",
            venv / "bin" / "python",
            "install",
            "--quiet",
            "--no-deps",
            wheel,
        ],
        check=True,
        capture_output=True,
    )
    return venv


def test_the_wheel_carries_its_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in (
        "extensions/places/data/boundaries.txt.gz",
        "extensions/places/data/npm/decoupage-administratif/data/communes.json",
        "extensions/places/data/npm/world-atlas/countries-10m.json",
        "extensions/web/swagger-ui/swagger-ui-bundle.js",
        "extensions/web/static/dinamis.css",
        "extensions/viewer/static/viewer.js",
        "extensions/web/templates/base.html",
        "pgstac/collections.yaml",
        "pgstac/migrations/script.py.mako",
        "registry_plugin/templates/registry/portail.html",
    ):
        assert data in names, data
    assert any(n.startswith("registry_plugin/migrations/versions/0001") for n in names)
    assert not any(n.startswith(("tests/", "node_modules/", "bench/")) for n in names)


def test_the_installed_wheel_runs_and_migrates_from_elsewhere(
    installed: Path, database: str, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DINAMIS_", "PG"))},
        "DATABASE_URL": database,
        "DINAMIS_HOME": str(tmp_path),
        "DINAMIS_LOG_FORMAT": "text",
    }
    dinamis = installed / "bin" / "dinamis"

    def run(*args: str | Path) -> str:
        done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert run(dinamis, "--version").strip().startswith("dinamis-stac ")
    where = run(
        installed / "bin" / "python",
        "-c",
        "import stac_api, extensions; print(stac_api.__file__, extensions.__file__)",
    )
    assert str(ROOT) not in where and str(installed) in where
    migrated = run(dinamis, "db", "migrate")
    assert "schema registry: revision" in migrated and "schema ordering: revision" in migrated
    assert "not loaded" not in migrated  # the gazetteer's sources were found in the package


def test_the_configuration_reference_is_current() -> None:
    written = (ROOT / "docs" / "configuration.md").read_text()
    assert written == reference(), (
        "docs/configuration.md is not current: run `dinamis settings doc --output docs/configuration.md`"
    )
    assert "`DINAMIS_METRICS_TOKEN`" in written and "`DINAMIS_DB_READER_URL`" in written


# -- deployment files -------------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint() -> None:
    done = subprocess.run(
        [BIN / "hadolint", "--failure-threshold", "warning", ROOT / "Dockerfile"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2  # multi-stage
    assert "\nUSER " in text and "USER root" not in text


def test_the_compose_file_follows_the_specification() -> None:
    compose = DEPLOY / "compose.yaml"
    done = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", compose],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    services = yaml.safe_load(compose.read_text())["services"]
    assert {"database", "storage", "migrate", "api", "worker", "proxy"} <= set(services)
    assert services["api"]["environment"]["DINAMIS_JOBS_WORKER"] == "none"
    assert services["worker"]["command"][0] == "worker"


def test_the_kubernetes_manifests_follow_their_schemas() -> None:
    manifests = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
    documents = [d for m in manifests for d in yaml.safe_load_all(m.read_text()) if d]
    kinds = {d["kind"] for d in documents}
    assert {"Deployment", "Service", "Ingress", "Job", "Cluster"} <= kinds
    # CloudNativePG's resources are checked by its operator; Kubernetes' own by their schemas.
    core = [m for m in manifests if "postgresql.cnpg.io" not in m.read_text()]
    done = subprocess.run(
        [BIN / "kubernetes-validate", "--strict", "--kubernetes-version", "1.30.0", *core],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (cluster,) = (d for d in documents if d["kind"] == "Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["instances"] >= 2 and "postgis" in cluster["spec"]["imageName"]
    api = next(
        d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "dinamis-api"
    )
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    reader = next(e for e in container["env"] if e["name"] == "DINAMIS_DB_READER_URL")
    assert "dinamis-db-ro" in reader["value"]
