"""`dinamis db migrate`: pgstac at its pinned version, our schemas, settings, queryables and
collections.

Every step is idempotent: running it on an up-to-date database changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml
from alembic import command
from alembic.config import Config
from psycopg.types.json import Jsonb
from pypgstac.db import PgstacDB
from pypgstac.migrate import Migrate

from pgstac import PGSTAC_VERSION
from pgstac.collections import CollectionDefinition, load_collections, read_collections
from pgstac.db import close_pgstac_db, connect

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
SETTINGS_FILE = HERE / "pgstac_settings.yaml"
QUERYABLES_FILE = HERE / "queryables.yaml"


@dataclass(frozen=True)
class MigrationSource:
    """A component with its own schema and Alembic history (the core, each plugin)."""

    name: str
    schema: str
    script_location: Path


CORE_MIGRATIONS = MigrationSource("core", "dinamis", HERE / "migrations")


@dataclass
class MigrationReport:
    pgstac_version: str
    schemas: dict[str, str | None] = field(default_factory=dict)
    collections: list[str] = field(default_factory=list)
    queryables: int = 0
    facets_by_statement: bool = False


def migrate(
    dsn: str,
    sources: Sequence[MigrationSource] = (CORE_MIGRATIONS,),
    collections: list[CollectionDefinition] | None = None,
) -> MigrationReport:
    """Bring the database fully up to date for this version of the product."""
    report = MigrationReport(pgstac_version=migrate_pgstac(dsn))
    with connect(dsn, autocommit=True) as conn:
        apply_pgstac_settings(conn)
        report.queryables = upsert_queryables(conn)
    for source in sources:
        report.schemas[source.schema] = upgrade_schema(dsn, source)
    with connect(dsn) as conn:
        report.collections = load_collections(conn, collections or read_collections())
        # Builds the queryables' indexes on partitions that predate them; a no-op otherwise.
        conn.execute("SELECT pgstac.maintain_partitions()")
        report.facets_by_statement = follow_by_statement(conn)
        conn.commit()
    return report


def follow_by_statement(conn: psycopg.Connection) -> bool:
    """Keep the facets by statement (migration 0010) when this role may; warn otherwise."""
    row = conn.execute("SELECT facets.follow_by_statement()").fetchone()
    if row and row[0]:
        return True
    logger.warning(
        "The facets are kept row by row, which makes loads slower: run `dinamis db migrate` "
        "once as a PostgreSQL superuser (it creates the event trigger facets_new_partitions)."
    )
    return False


def migrate_pgstac(dsn: str) -> str:
    db = PgstacDB(dsn=dsn)
    try:
        return str(Migrate(db).run_migration(toversion=PGSTAC_VERSION))
    finally:
        close_pgstac_db(db)


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def apply_pgstac_settings(conn: psycopg.Connection) -> None:
    """Write pgstac_settings.yaml into pgstac.pgstac_settings (the reasons are in the file)."""
    for name, value in read_yaml(SETTINGS_FILE).items():
        conn.execute(
            "INSERT INTO pgstac.pgstac_settings (name, value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            [name, str(value)],
        )


def upsert_queryables(conn: psycopg.Connection) -> int:
    """Declare the shared queryables for every collection and index the common filters."""
    document = read_yaml(QUERYABLES_FILE)
    row = conn.execute(
        "SELECT pgstac.upsert_queryables(%s, NULL, %s)",
        [Jsonb({"properties": document["properties"]}), document["indexed"]],
    ).fetchone()
    return int(row[0]) if row else 0


def alembic_config(dsn: str, source: MigrationSource) -> Config:
    config = Config()
    config.set_main_option("script_location", str(source.script_location))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(dsn).replace("%", "%%"))
    config.set_main_option("dinamis_schema", source.schema)
    return config


def upgrade_schema(dsn: str, source: MigrationSource) -> str | None:
    """Upgrade one component's schema to its latest revision; returns that revision."""
    command.upgrade(alembic_config(dsn, source), "head")
    with connect(dsn) as conn:
        row = conn.execute(
            f'SELECT version_num FROM "{source.schema}".alembic_version'  # noqa: S608 - schema comes from code
        ).fetchone()
    return row[0] if row else None


def sqlalchemy_url(dsn: str) -> str:
    scheme, _, rest = dsn.partition("://")
    return f"postgresql+psycopg://{rest}" if scheme.startswith("postgres") else dsn
