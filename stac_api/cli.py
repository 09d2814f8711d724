"""`dinamis`: database, collections, demo archive and server commands."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pgstac.cluster import ClusterError, EmbeddedCluster
from pgstac.collections import COLLECTIONS_FILE, CollectionDefinitionError, read_collections
from pgstac.settings import ClusterSettings, DatabaseNotConfigured, DatabaseSettings

app = typer.Typer(
    help="DINAMIS STAC: catalogue server for SPOT and Pléiades imagery.", no_args_is_help=True
)
db_app = typer.Typer(help="The database: embedded cluster and migrations.", no_args_is_help=True)
collections_app = typer.Typer(help="The product's collections.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(collections_app, name="collections")

console = Console()
err = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def database_dsn() -> str:
    try:
        return DatabaseSettings().dsn()
    except DatabaseNotConfigured as exc:
        raise fail(str(exc)) from exc


# -- db --------------------------------------------------------------------------------------


@db_app.command("start")
def db_start() -> None:
    """Create (first time) and start the embedded PostgreSQL cluster."""
    if DatabaseSettings().external:
        console.print("External database configured (DATABASE_URL / PG*): nothing to start.")
        return
    try:
        status = EmbeddedCluster().start()
    except ClusterError as exc:
        raise fail(str(exc)) from exc
    console.print(
        f"PostgreSQL running on 127.0.0.1:{status.port} (pid {status.pid}), "
        f"data in {status.data_dir}"
    )


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster."""
    try:
        stopped = EmbeddedCluster().stop()
    except ClusterError as exc:
        raise fail(str(exc)) from exc
    console.print("PostgreSQL stopped." if stopped else "PostgreSQL was not running.")


@db_app.command("status")
def db_status() -> None:
    """Report where the database is and whether it runs."""
    database = DatabaseSettings()
    if database.external:
        console.print("External database (DATABASE_URL / PG*).")
        return
    status = EmbeddedCluster().status()
    table = Table(show_header=False, box=None)
    table.add_row("state", "[green]running[/]" if status.running else "[yellow]stopped[/]")
    table.add_row("server", status.server_version)
    table.add_row("data", str(status.data_dir))
    table.add_row("port", str(status.port or "-"))
    table.add_row("pid", str(status.pid or "-"))
    console.print(table)
    if not status.running:
        raise typer.Exit(code=3)


@db_app.command("migrate")
def db_migrate() -> None:
    """Install/upgrade pgstac and our schemas; apply settings, queryables and collections."""
    from pgstac.migrate import migrate

    report = migrate(database_dsn())
    console.print(f"pgstac {report.pgstac_version}")
    for schema, revision in report.schemas.items():
        console.print(f"schema {schema}: revision {revision}")
    console.print(f"{report.queryables} queryables, collections: {', '.join(report.collections)}")


# -- collections -----------------------------------------------------------------------------


@collections_app.command("load")
def collections_load(
    path: Annotated[Path, typer.Argument(help="YAML/JSON file or folder")] = COLLECTIONS_FILE,
) -> None:
    """Upsert collections (the product's own by default) and set their partitioning."""
    from pgstac.collections import load_collections
    from pgstac.db import connect

    try:
        definitions = read_collections(path)
    except CollectionDefinitionError as exc:
        raise fail(str(exc)) from exc
    with connect(database_dsn()) as conn:
        loaded = load_collections(conn, definitions)
    console.print(f"Loaded {len(loaded)} collections: {', '.join(loaded)}")


# -- demo ------------------------------------------------------------------------------------


@app.command("demo")
def demo(
    items: Annotated[int, typer.Option(min=1, help="Number of items of the demo archive")] = 50_000,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same archive")
    ] = 2026,
) -> None:
    """Load the synthetic demo archive, once: re-running with the same size does nothing."""
    from extensions.assets import StorageSettings
    from ingest.demo import load_demo_archive

    result = load_demo_archive(database_dsn(), StorageSettings().local_root, items=items, seed=seed)
    if result.skipped:
        console.print(f"Demo archive already loaded ({result.total} items): nothing to do.")
    else:
        console.print(
            f"Demo archive: {result.loaded} items generated and loaded in "
            f"{result.seconds:.1f} s ({result.total} in total)."
        )


# -- serve -----------------------------------------------------------------------------------


def admin_token(home: Path) -> str:
    """The development admin token, created once and kept in `<home>/admin-token` (0600)."""
    path = home / "admin-token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    from stac_api.settings import ApiSettings

    api_settings = ApiSettings()
    database_dsn()  # fail early and clearly when there is no database
    if api_settings.mode == "development" and api_settings.admin_token is None:
        home = ClusterSettings().home
        os.environ["DINAMIS_API_ADMIN_TOKEN"] = admin_token(home)
        console.print(f"Transactions: admin token in {home / 'admin-token'} (development mode).")
    console.print(f"DINAMIS STAC on http://{host}:{port}/")
    uvicorn.run(
        "stac_api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


def main() -> None:
    # stac-fastapi builds a default Settings() at import and warns about its placeholder title.
    logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)
    app()
