"""The `dinamis` command: clear messages and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stac_api.cli import app

runner = CliRunner()


def said(result: object) -> str:
    """The command's output with rich's line wrapping undone."""
    return " ".join(str(getattr(result, "output", "")).split())


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "collections", "demo", "serve"):
        assert command in result.output
    db_help = runner.invoke(app, ["db", "--help"]).output
    for command in ("start", "stop", "status", "migrate"):
        assert command in db_help


def test_bad_collections_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("collections:\n  - collection: {type: Catalog, id: x}\n")
    result = runner.invoke(app, ["collections", "load", str(bad)])
    assert result.exit_code == 1
    assert "not a STAC Collection" in said(result)
    bad.write_text("collections: [\n")
    result = runner.invoke(app, ["collections", "load", str(bad)])
    assert result.exit_code == 1
    assert "cannot be read" in said(result)


def test_external_database_status(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/x")
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 0
    assert "External database" in said(result)


def test_serve_without_a_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "PGHOST", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DINAMIS_HOME", str(tmp_path))
    result = runner.invoke(app, ["serve", "--port", "18999"])
    assert result.exit_code == 1
    assert "dinamis db start" in said(result)


def test_demo_rejects_a_zero_size() -> None:
    result = runner.invoke(app, ["demo", "--items", "0"])
    assert result.exit_code == 2


def test_serve_keeps_idle_connections_longer_than_a_proxy(
    monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    """A proxy reuses its idle connections to the API for up to a minute (nginx's default):
    the server must not close them first, or the proxy's next request on one fails (a 502)."""
    served: dict[str, object] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.update(options))
    monkeypatch.setenv("DATABASE_URL", database)
    result = runner.invoke(app, ["serve", "--port", "18998"])
    assert result.exit_code == 0, result.output
    assert isinstance(served["timeout_keep_alive"], int) and served["timeout_keep_alive"] > 60
