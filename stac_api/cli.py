"""`dinamis`: database, collections, demo archive and server commands."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from extensions.observability import LogLevel, ObservabilitySettings, configure_logging
from pgstac.cluster import ClusterError, EmbeddedCluster
from pgstac.collections import COLLECTIONS_FILE, CollectionDefinitionError, read_collections
from pgstac.settings import ClusterSettings, DatabaseNotConfigured, DatabaseSettings, kept_secret

if TYPE_CHECKING:
    from fastapi import FastAPI

    from extensions.settings import Settings

app = typer.Typer(
    help="DINAMIS STAC: catalogue server for SPOT and Pléiades imagery.", no_args_is_help=True
)
db_app = typer.Typer(help="The database: embedded cluster and migrations.", no_args_is_help=True)
collections_app = typer.Typer(help="The product's collections.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(collections_app, name="collections")
settings_app = typer.Typer(help="The settings (environment variables).", no_args_is_help=True)
app.add_typer(settings_app, name="settings")

console = Console()
err = Console(stderr=True)


def show_version(shown: bool) -> None:
    if shown:
        console.print(f"dinamis-stac {package_version('dinamis-stac')}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(case_sensitive=False, help="Least severe log level (DINAMIS_LOG_LEVEL)."),
    ] = None,
) -> None:
    """Logs go to standard error, as JSON lines unless DINAMIS_LOG_FORMAT=text."""
    observability = ObservabilitySettings()
    configure_logging(log_level or observability.log_level, observability.log_format)


ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def database_dsn(settings: DatabaseSettings | None = None) -> str:
    try:
        return (settings or DatabaseSettings()).dsn()
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
    from extensions.plugins import load_plugins, migrate_all

    report, changes = migrate_all(database_dsn(), load_plugins(read_settings().plugins))
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


# -- settings --------------------------------------------------------------------------------


@settings_app.command("doc")
def settings_doc(
    output: Annotated[
        Path | None, typer.Option(help="Write it there instead of printing it")
    ] = None,
) -> None:
    """The configuration reference, from the settings models (docs/configuration.md)."""
    from stac_api.settings_doc import reference

    text = reference()
    if output is None:
        print(text, end="")  # no rich markup: the Markdown as it is
    else:
        output.write_text(text)
        console.print(f"Configuration reference written to {output}.")


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
    from simulators import load_plugin_demos
    from simulators.archive import load_demo_archive

    settings = read_settings()
    dsn = database_dsn(settings.database)
    storage = settings.storage
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
    for line in load_plugin_demos(dsn, settings.plugins):
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
    from pgstac.db import DatabaseUnavailable

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
        except DatabaseUnavailable as exc:
            raise fail(f"{exc}. What was loaded is kept: run again to load the rest.") from exc
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


def read_settings() -> Settings:
    """The settings from the environment, or a clear error saying which one is wrong."""
    from pydantic import ValidationError

    from extensions.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        raise fail(str(exc)) from exc


def for_development(settings: Settings, url: str) -> Settings:
    """What `dinamis serve` adds in development: an admin token kept in the home folder,
    links that point where it listens, and the Airbus simulator when there is no key."""
    updates: dict[str, Any] = {}
    if settings.api.admin_token is None:
        token = SecretStr(kept_secret(ADMIN_TOKEN_FILE))
        updates["api"] = settings.api.model_copy(update={"admin_token": token})
        home = ClusterSettings().home
        console.print(f"Transactions: admin token in {home / ADMIN_TOKEN_FILE} (development mode).")
    if "public_url" not in settings.web.model_fields_set:
        updates["web"] = settings.web.model_copy(update={"public_url": url})
    if not settings.oneatlas.enabled:
        from simulators.oneatlas import SIMULATOR_PATH

        base = url + SIMULATOR_PATH
        updates["oneatlas"] = settings.oneatlas.model_copy(
            update={
                "api_key": SecretStr("simulator"),
                "simulated": True,
                **{f"{name}_url": base for name in ("auth", "search", "access", "data", "tasking")},
            }
        )
        console.print(
            f"Airbus archive: simulated at {base} (set DINAMIS_ONEATLAS_API_KEY for the real one)."
        )
    return settings.model_copy(update=updates)


def mount_simulator(app: FastAPI, settings: Settings) -> None:
    """The Airbus simulator inside the development server, sharing one in five of the demo
    archive's datastrips (`dinamis demo` records which archive it loaded)."""
    from simulators.oneatlas import SIMULATOR_PATH, SimulatorSettings, create_simulator

    simulated = SimulatorSettings()  # DINAMIS_SIMULATOR_* win over the demo's record
    record = settings.storage.home / "demo.json"
    if record.exists() and "held_items" not in simulated.model_fields_set:
        demo = json.loads(record.read_text())
        simulated = simulated.model_copy(
            update={"held_items": demo["items"], "held_seed": demo["seed"]}
        )
    app.mount(SIMULATOR_PATH, create_simulator(simulated, base_url=settings.oneatlas.access_url))


KEEP_ALIVE_SECONDS = 75


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port")] = 8080,
) -> None:
    """Serve the API and the pages with uvicorn (one process: run several behind a load
    balancer to scale out)."""
    import uvicorn

    from stac_api.app import create_app

    settings = read_settings()
    database_dsn(settings.database)  # fail early and clearly when there is no database
    url = f"http://{host}:{port}"
    if not settings.production:
        settings = for_development(settings, url)
    app = create_app(settings)
    if settings.oneatlas.simulated:
        mount_simulator(app, settings)
    console.print(f"DINAMIS STAC on {url}/ — portal: {url}/portail")
    # Forwarding headers are read by the app, from DINAMIS_API_TRUSTED_PROXIES only.
    # Logs through the process's handler (JSON), one line a request with its id: no access log.
    # Under a sub-path (DINAMIS_API_ROOT_PATH) the server tells the app, which builds its links
    # with it; the proxy strips the prefix. Idle connections are kept longer than a proxy
    # keeps its own (nginx 60 s, HAProxy and load balancers about as long): a server closing
    # first races the proxy's next request on that connection (a 502; locust saw the same
    # with uvicorn's default 5 s).
    uvicorn.run(
        app,
        host=host,
        port=port,
        root_path=settings.api.root_path,
        proxy_headers=False,
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


@app.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once")] = 4,
) -> None:
    """Run background jobs (mail delivery, Airbus polling, deliveries) in this process."""
    import asyncio

    from stac_api.services import open_services

    settings = read_settings()
    database_dsn(settings.database)

    async def run() -> None:
        async with open_services(settings, "dinamis-worker") as services:
            await services.jobs.run_worker_async(
                concurrency=concurrency,
                shutdown_graceful_timeout=settings.jobs.shutdown_seconds,
                additional_context={"services": services},
            )

    console.print(f"Worker running {concurrency} jobs at a time (Ctrl-C to stop).")
    asyncio.run(run())


def add_plugin_commands() -> None:
    """The commands of the plugins allowed by DINAMIS_PLUGINS (`dinamis accounts …`)."""
    from extensions.plugins import DEFAULT_PLUGINS, load_plugins
    from extensions.settings import listed_names

    # Read as Settings reads it (the whole Settings would check production's secrets even
    # for `--help`); typer needs the commands before it reads the command line.
    listed = os.environ.get("DINAMIS_PLUGINS")
    names = listed_names(listed) if listed is not None else DEFAULT_PLUGINS
    for plugin in load_plugins(list(names)):
        if (commands := plugin.commands()) is not None:
            app.add_typer(commands)


add_plugin_commands()


def main() -> None:
    # stac-fastapi builds a default Settings() at import and warns about its placeholder title.
    logging.getLogger("stac_fastapi.types.config").setLevel(logging.ERROR)
    app()
