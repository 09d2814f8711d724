"""`dinamis`: database, collections, demo archive and server commands."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Annotated, Any

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
    from extensions.plugins import migrate_all

    report, changes = migrate_all(database_dsn())
    console.print(f"pgstac {report.pgstac_version}")
    for schema, revision in report.schemas.items():
        console.print(f"schema {schema}: revision {revision}")
    console.print(f"{report.queryables} queryables, collections: {', '.join(report.collections)}")
    for line in changes:
        console.print(line)


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
    """Load the synthetic demo archive and the plugins' demo data, once: re-running with the
    same size does nothing."""
    from extensions.assets import StorageSettings
    from extensions.plugins import load_plugins
    from ingest.demo import load_demo_archive

    dsn = database_dsn()
    storage = StorageSettings()
    result = load_demo_archive(dsn, storage.local_root, items=items, seed=seed)
    # What the Airbus archive simulator shares with the local archive (`dinamis serve`).
    (storage.home / "demo.json").write_text(json.dumps({"seed": seed, "items": result.total}))
    if result.skipped:
        console.print(f"Demo archive already loaded ({result.total} items): nothing to do.")
    else:
        console.print(
            f"Demo archive: {result.loaded} items generated and loaded in "
            f"{result.seconds:.1f} s ({result.total} in total)."
        )
    for plugin in load_plugins():
        for line in plugin.load_demo(dsn):
            console.print(line, soft_wrap=True)


# -- ingest ----------------------------------------------------------------------------------


def default_href_prefix(source: str) -> str:
    """Asset hrefs are relative to the storage root: a folder inside it keeps its place."""
    from extensions.assets import StorageSettings

    if source.startswith("s3://") or not Path(source).is_dir():
        return ""
    root, folder = StorageSettings().local_root.resolve(), Path(source).resolve()
    if folder.is_relative_to(root) and folder != root:
        return folder.relative_to(root).as_posix() + "/"
    return ""


def provider_named(name: str) -> dict[str, Any]:
    """A provider of the product collections by name (GEOSUD, CNES…), or a new host."""
    for definition in read_collections():
        for provider in definition.stac.get("providers", []):
            if provider["name"].casefold() == name.casefold():
                return dict(provider)
    return {"name": name, "roles": ["host"]}


@app.command("ingest")
def ingest(
    source: Annotated[str, typer.Argument(help="Folder, zip of products, or s3://bucket/prefix")],
    collection: Annotated[str | None, typer.Option(help="Force this collection")] = None,
    provider: Annotated[
        str | None, typer.Option(help="Provider of these products (e.g. GEOSUD)")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Parsing processes")] = os.cpu_count() or 1,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Touch no database")] = False,
    output: Annotated[Path | None, typer.Option(help="Also write the items as NDJSON")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the harvest report (JSON)")] = None,
    href_prefix: Annotated[str | None, typer.Option(help="Storage path of SOURCE's root")] = None,
) -> None:
    """Harvest DIMAP products (SPOT 1-7, Pléiades, Pléiades Neo) into the catalogue."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from extensions.assets import S3Settings
    from ingest.harvest import HarvestOptions, harvest, write_report
    from ingest.sources import SourceError, SourceSpec

    prefix = default_href_prefix(source) if href_prefix is None else href_prefix
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    options = HarvestOptions(
        collection=collection,
        providers=[provider_named(provider)] if provider else None,
        href_prefix=prefix,
        workers=workers,
        dry_run=dry_run,
    )
    dsn = None if dry_run else database_dsn()
    spec = SourceSpec(source, S3Settings().client_options())
    started = time.perf_counter()
    with (
        Progress(
            TextColumn("[bold]harvest"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=err,
        ) as bar,
        output.open("wb") if output else contextlib.nullcontext() as out,
    ):
        task = bar.add_task("harvest", total=None, rate="")

        def progress(done: int, total: int) -> None:
            if done % 200 == 0 or done == total:
                rate = done / max(time.perf_counter() - started, 1e-9)
                bar.update(task, completed=done, total=total, rate=f"{rate:,.0f} products/s")

        try:
            result = harvest(spec, dsn, options, output=out, progress=progress)
        except SourceError as exc:
            raise fail(str(exc)) from exc
    if report:
        write_report(result, report)
    summary = Table(title=f"Harvest of {source}" + (" (dry run)" if dry_run else ""), box=None)
    for column in ("found", "loaded", "updated", "skipped", "failed"):
        summary.add_column(column, justify="right")
    summary.add_row(
        *(f"{getattr(result, c):,}" for c in ("found", "loaded", "updated", "skipped", "failed"))
    )
    console.print(summary)
    rate = (result.loaded + result.updated) / result.seconds if result.seconds else 0
    console.print(f"{result.seconds:.1f} s, {rate:,.0f} products/s")
    if result.gone:
        console.print(f"{result.gone} products harvested before are no longer in the source.")
    if result.missing_files:
        console.print(
            f"[yellow]{result.missing_files} files named by the metadata are not in the source[/], "
            f"e.g. {result.warnings[0]}"
        )
    for failure in result.failures[:50]:
        err.print(f"[red]failed[/] {failure.key}: {failure.reason}: {failure.message}")
    if len(result.failures) > 50:
        err.print(f"… and {len(result.failures) - 50} more (see --report)")
    if result.failed:
        raise typer.Exit(code=1)


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
    # Links in e-mails point where the site is served unless DINAMIS_PUBLIC_URL says otherwise.
    os.environ.setdefault("DINAMIS_PUBLIC_URL", f"http://{host}:{port}")
    if api_settings.mode == "development" and not os.environ.get("DINAMIS_ONEATLAS_API_KEY"):
        simulate_airbus(f"http://{host}:{port}")
    console.print(f"DINAMIS STAC on http://{host}:{port}/ — portal: http://{host}:{port}/portail")
    uvicorn.run(
        "stac_api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


def simulate_airbus(url: str) -> None:
    """Point the Airbus archive at the simulator mounted in this server (no key here)."""
    from extensions.federation.simulator import SIMULATOR_PATH
    from pgstac.settings import default_home

    base = url + SIMULATOR_PATH
    os.environ.update(
        DINAMIS_ONEATLAS_API_KEY="simulator",
        DINAMIS_ONEATLAS_SIMULATED="true",
        DINAMIS_ONEATLAS_AUTH_URL=base,
        DINAMIS_ONEATLAS_SEARCH_URL=base,
        DINAMIS_ONEATLAS_ACCESS_URL=base,
        DINAMIS_ONEATLAS_DATA_URL=base,
        DINAMIS_ONEATLAS_TASKING_URL=base,
    )
    record = Path(os.environ.get("DINAMIS_HOME") or default_home()) / "demo.json"
    if record.exists():
        demo = json.loads(record.read_text())
        os.environ.setdefault("DINAMIS_SIMULATOR_HELD_ITEMS", str(demo["items"]))
        os.environ.setdefault("DINAMIS_SIMULATOR_HELD_SEED", str(demo["seed"]))
    console.print(
        f"Airbus archive: simulated at {base} (set DINAMIS_ONEATLAS_API_KEY for the real one)."
    )


@app.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once")] = 4,
) -> None:
    """Run background jobs (mail delivery, Airbus polling, deliveries) in this process."""
    import asyncio

    from extensions.database import make_engine, sessionmaker
    from extensions.federation.client import OneAtlasClient
    from extensions.jobs import JobEnvironment, make_jobs, use_environment
    from extensions.web import make_templates
    from stac_api.settings import Settings

    dsn = database_dsn()
    settings = Settings()

    async def run() -> None:
        engine = make_engine(dsn)
        templates = make_templates(
            [folder for p in settings.plugins if (folder := p.templates())], settings.web
        )
        airbus = OneAtlasClient(settings.oneatlas)
        use_environment(
            JobEnvironment(engine, sessionmaker(engine), settings, templates.env, airbus)
        )
        queue = make_jobs(dsn, {p.name: bp for p in settings.plugins if (bp := p.jobs())})
        try:
            async with queue.open_async():
                await queue.run_worker_async(concurrency=concurrency)
        finally:
            await airbus.close()
            await engine.dispose()

    console.print(f"Worker running {concurrency} jobs at a time (Ctrl-C to stop).")
    asyncio.run(run())


def main() -> None:
    # stac-fastapi builds a default Settings() at import and warns about its placeholder title.
    logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)
    app()
